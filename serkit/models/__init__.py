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
import inspect
import pkgutil

from torch import nn

from serkit import kinds
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


POSITIVE = ("hidden", "dim", "heads", "channels", "kernel", "cell", "layers", "size", "projection")
"""Integer hyper-parameters named so (or ending ``_<one of these>``) are counts or sizes: >= 1."""

_ANNOTATION_KINDS = {"int": kinds.integer, "float": kinds.number, "bool": kinds.boolean, "str": kinds.string}


def hparam_kinds(name: str) -> dict[str, kinds.Kind]:
    """The type and range of each hyper-parameter of the registered model ``name`` whose annotation
    is a plain ``int``, ``float``, ``bool`` or ``str`` (``| None``: null too); {} for an unknown model."""
    if name not in REGISTRY:
        _import_all()
    if name not in REGISTRY:
        return {}
    out: dict[str, kinds.Kind] = {}
    for param in inspect.signature(REGISTRY[name].__init__).parameters.values():
        if param.kind is not param.KEYWORD_ONLY or not isinstance(param.annotation, str):
            continue
        base, _, rest = param.annotation.partition(" | ")
        if base not in _ANNOTATION_KINDS or rest not in ("", "None"):
            continue
        null = rest == "None"
        if "dropout" in param.name and base == "float":
            out[param.name] = kinds.number(0, 1, high_open=True, null=null)
        elif base == "int" and param.name.rsplit("_", 1)[-1] in POSITIVE:
            out[param.name] = kinds.integer(1, null=null)
        else:
            out[param.name] = _ANNOTATION_KINDS[base](null=null)
    return out


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
