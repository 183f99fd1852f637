"""Model registry: a config's ``model.name`` → a ``torch.nn.Module`` class.

Every model module in this package registers its classes with :func:`register`;
:func:`build` imports the package's modules on first use, so adding a model is
adding a module. The contract every registered model follows::

    Model(input_dims: dict[str, int], num_outputs: int, *, frame_stream: str | None = None, **hparams)
    model(inputs: dict[str, Tensor B×T×D], masks: dict[str, BoolTensor B×T]) -> Tensor

``num_outputs`` is the class count (logits) or the number of continuous dimensions.
With ``frame_stream`` set the output is B×T×num_outputs over that stream's frames
(frame-level regression), otherwise B×num_outputs. ``masks`` are True on real frames.
"""

from __future__ import annotations

import importlib
import pkgutil

from torch import nn

from serkit.errors import SerkitError

REGISTRY: dict[str, type[nn.Module]] = {}


def register(name: str):
    """Class decorator: make a model buildable as ``model.name: <name>``."""

    def add(cls: type[nn.Module]) -> type[nn.Module]:
        if name in REGISTRY and REGISTRY[name] is not cls:
            raise ValueError(f"model name {name!r} is registered twice")
        REGISTRY[name] = cls
        return cls

    return add


def _import_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name != "blocks":
            importlib.import_module(f"{__name__}.{module.name}")


def names() -> list[str]:
    _import_all()
    return sorted(REGISTRY)


def build(name: str, input_dims: dict[str, int], num_outputs: int, **hparams) -> nn.Module:
    """Instantiate the registered model ``name``; a wrong hyper-parameter is a user error."""
    if name not in REGISTRY:
        _import_all()
    if name not in REGISTRY:
        raise SerkitError(f"unknown model {name!r}", hint=f"registered: {', '.join(sorted(REGISTRY))}")
    try:
        return REGISTRY[name](input_dims, num_outputs, **hparams)
    except TypeError as exc:
        raise SerkitError(f"model {name}: {exc}", hint="check the model section of the config") from None
