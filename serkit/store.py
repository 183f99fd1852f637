"""The HDF5 feature store (DESIGN §3).

One file per data set and feature type. ``/<utt>`` is a float32 array
(frames × dims); the root attributes hold the feature type, every extractor
parameter, frame shift/length in seconds, sample rate, feature names and the
serkit version. A store is written under a temporary name and renamed when
complete, so a file at the final name is always whole. Parallel jobs write
shards into ``<store>.work/`` that :func:`merge_shards` joins.

Readers (:class:`FeatureStore`) open the file lazily, once per process, so a
store object can be handed to DataLoader workers.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np

from serkit import __version__
from serkit.errors import SerkitError
from serkit.tmpfiles import remove_stale, tmp_name

RESERVED_ATTRS = (
    "feature_type",
    "params",
    "frame_shift",
    "frame_length",
    "sample_rate",
    "feature_names",
    "serkit_version",
    "num_utterances",
)


def work_dir(path: str | Path) -> Path:
    """Where the parallel jobs of ``path`` keep their splits, shards and logs."""
    path = Path(path)
    return path.with_name(path.name + ".work")


def _attr_value(value):
    """h5py-storable form of a parameter (None and containers go as JSON strings)."""
    if value is None or isinstance(value, dict | list | tuple) and not _is_str_list(value):
        return json.dumps(value)
    if isinstance(value, Path):
        return str(value)
    return value


def _is_str_list(value) -> bool:
    return isinstance(value, list | tuple) and len(value) > 0 and all(isinstance(v, str) for v in value)


def _decode(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
        return [v.decode("utf-8") if isinstance(v, bytes) else v for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def str_list(value) -> list[str]:
    """A list-of-strings attribute as written by :class:`StoreWriter` (an empty list is kept as the
    JSON string ``[]``, since HDF5 has no empty string array)."""
    if isinstance(value, str):
        return json.loads(value) if value.startswith("[") else [value]
    return [str(v) for v in value]


def check_utt_id(utt: str) -> None:
    if not utt or "/" in utt or utt in (".", ".."):
        raise SerkitError(f"utterance id {utt!r} cannot name an HDF5 dataset", hint="ids may not contain '/'")


class StoreWriter:
    """Write a store: ``with StoreWriter(...) as w: w.put(utt, frames)``.

    On a clean exit the file is finalised and renamed to ``path``; on an
    exception the temporary file is removed and ``path`` is left untouched.
    """

    def __init__(
        self,
        path: str | Path,
        feature_type: str,
        params: dict,
        *,
        frame_shift: float | None,
        frame_length: float | None,
        sample_rate: int | None,
        feature_names: list[str] | None = None,
        finalize: Callable[[h5py.File], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.finalize = finalize
        self.tmp = tmp_name(self.path)
        self.root_attrs = {
            "feature_type": feature_type,
            "params": json.dumps(params, sort_keys=True),
            "frame_shift": frame_shift,
            "frame_length": frame_length,
            "sample_rate": sample_rate,
            "feature_names": list(feature_names or []),
            "serkit_version": __version__,
        }
        self.params = dict(params)
        self.extra_attrs: dict = {}
        self._file: h5py.File | None = None
        self._written: set[str] = set()

    def __enter__(self) -> StoreWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(self.path)
        self._file = _bounded_metadata_cache(h5py.File(self.tmp, "w", track_order=False))
        return self

    def put(self, utt: str, frames: np.ndarray, attrs: dict | None = None) -> None:
        check_utt_id(utt)
        array = np.ascontiguousarray(frames, dtype=np.float32)
        if array.ndim != 2:
            raise ValueError(f"{utt}: features must be frames × dims, got shape {array.shape}")
        if utt in self._written:
            raise SerkitError(f"utterance {utt!r} written twice", path=self.path, hint="ids must be unique")
        ds = _create_dataset(self._file, utt, array)
        if attrs:
            manager = h5py.Dataset(ds).attrs
            for key, value in attrs.items():
                manager[key] = _attr_value(value)
        del ds
        self._written.add(utt)
        if len(self._written) % REOPEN_EVERY == 0:
            self._file = _reopened(self._file)

    def set_attr(self, key: str, value) -> None:
        """An extra root attribute (e.g. corpus statistics), written at close."""
        if key in RESERVED_ATTRS:
            raise ValueError(f"{key} is reserved")
        self.extra_attrs[key] = value

    def __exit__(self, exc_type, exc, tb) -> None:
        f, self._file = self._file, None
        if exc_type is not None:
            f.close()
            self.tmp.unlink(missing_ok=True)
            return
        for key, value in self.params.items():
            if key not in RESERVED_ATTRS:
                f.attrs[key] = _attr_value(value)
        for key, value in {**self.root_attrs, **self.extra_attrs}.items():
            f.attrs[key] = _attr_value(value)
        f.attrs["num_utterances"] = len(self._written)
        if self.finalize is not None:
            self.finalize(f)
        f.close()
        os.replace(self.tmp, self.path)


#: How every utterance's dataset is created: contiguous (read whole, opened lazily), no times.
_DATASET_CREATE = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
_DATASET_CREATE.set_layout(h5py.h5d.CONTIGUOUS)
_DATASET_CREATE.set_obj_track_times(False)


#: The most metadata HDF5 caches while a store is written. Its default grows with the number of
#: datasets (some 25 MB of memory at 13,000 utterances); 1 MB writes as fast.
METADATA_CACHE_BYTES = 1 << 20


#: A file being written is closed and opened again after this many new datasets: HDF5 holds some
#: kilobytes per dataset created until the file is closed (memory would grow with the corpus).
REOPEN_EVERY = 1000


def _reopened(f: h5py.File) -> h5py.File:
    name = f.filename
    f.close()
    return _bounded_metadata_cache(h5py.File(name, "r+"))


def _bounded_metadata_cache(f: h5py.File) -> h5py.File:
    config = f.id.get_mdc_config()
    config.set_initial_size = True
    config.initial_size = config.max_size = METADATA_CACHE_BYTES
    config.min_size = min(config.min_size, METADATA_CACHE_BYTES)
    f.id.set_mdc_config(config)
    return f


def _create_dataset(f: h5py.File, name: str, array: np.ndarray) -> h5py.h5d.DatasetID:
    """``/<name>`` holding the float32 ``array``, written through h5py's low-level API: the
    high-level ``create_dataset`` costs several times more per call, and a store has one dataset
    per utterance (the file is the same)."""
    ds = h5py.h5d.create(
        f.id, name.encode(), h5py.h5t.IEEE_F32LE, h5py.h5s.create_simple(array.shape), dcpl=_DATASET_CREATE
    )
    if array.size:
        ds.write(h5py.h5s.ALL, h5py.h5s.ALL, array)
    return ds


class FeatureStore:
    """Read a store lazily: ``store[utt]`` → float32 frames × dims."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            message, where = _missing_store_message(self.path)
            raise SerkitError(message, **where)
        self._file: h5py.File | None = None
        self._pid: int | None = None
        self._keys: list[str] | None = None
        try:
            with h5py.File(self.path, "r") as f:
                self._attrs = {k: _decode(v) for k, v in f.attrs.items()}
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise SerkitError(
                f"not a readable HDF5 store ({exc})", path=self.path, hint="re-extract it"
            ) from None
        if "feature_type" not in self._attrs:
            raise SerkitError(
                "not a serkit feature store (no feature_type)", path=self.path, hint="re-extract it"
            )

    @property
    def file(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            with self._reading():
                self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """HDF5 errors while reading (a truncated or overwritten file) → one line naming the store."""
        try:
            yield
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise SerkitError(
                f"damaged HDF5 store ({exc})", path=self.path, hint="re-extract it (or copy it again)"
            ) from None

    @property
    def attrs(self) -> dict:
        return dict(self._attrs)

    @property
    def params(self) -> dict:
        return json.loads(self._attrs["params"])

    @property
    def feature_type(self) -> str:
        return self._attrs["feature_type"]

    def keys(self) -> list[str]:
        if self._keys is None:
            with self._reading():
                self._keys = sorted(self.file.keys(), key=lambda k: k.encode())
        return list(self._keys)

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, utt: str) -> bool:
        with self._reading():
            return utt in self.file

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __getitem__(self, utt: str) -> np.ndarray:
        if utt not in self:
            raise SerkitError(
                f"utterance {utt!r} is not in the store",
                path=self.path,
                hint="re-extract features for this data dir",
            )
        with self._reading():
            return self.file[utt][()]

    def utt_attrs(self, utt: str) -> dict:
        with self._reading():
            return {k: _decode(v) for k, v in self.file[utt].attrs.items()}

    def shape(self, utt: str) -> tuple[int, ...]:
        with self._reading():
            return self.file[utt].shape

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_file"] = None
        state["_pid"] = None
        return state

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _missing_store_message(path: Path) -> tuple[str, dict]:
    work = work_dir(path)
    if work.is_dir():
        return (
            "store is incomplete: its parallel jobs have not all finished",
            {"path": path, "hint": f"rerun the same extract command to finish it (job logs: {work / 'log'})"},
        )
    tmp = list(path.parent.glob(f".{path.name}.tmp.*")) if path.parent.is_dir() else []
    if tmp:
        return (
            "store is incomplete: a write was interrupted",
            {"path": path, "hint": "rerun the command that writes it"},
        )
    return ("feature store not found", {"path": path, "hint": "run the feature extraction stage first"})


def _settings(attrs: dict) -> str:
    """The attributes that say how a store was extracted, as one comparable string."""
    return json.dumps({k: str(attrs.get(k)) for k in RESERVED_ATTRS if k != "num_utterances"}, sort_keys=True)


def merge_shards(
    shards: Iterable[str | Path],
    out: str | Path,
    finalize: Callable[[h5py.File], None] | None = None,
    *,
    take_first: bool = False,
) -> Path:
    """Join shard stores into ``out`` (written to a temporary name, then renamed).

    Every shard must have been written with the same extractor settings;
    utterance ids must not repeat. Root attributes come from the first shard;
    ``finalize`` may add more (e.g. corpus statistics) before the rename.

    The first shard becomes the store whole (copied by the operating system, or with
    ``take_first`` moved: then it is gone afterwards, also when the merge fails); the datasets of
    the others are copied into it one by one by HDF5 itself (``H5Ocopy``), with their attributes.
    """
    shards = [Path(s) for s in shards]
    expected = _settings(FeatureStore(shards[0]).attrs)
    out = Path(out)
    remove_stale(out)
    tmp = tmp_name(out)
    try:
        if take_first:
            os.replace(shards[0], tmp)
        else:
            shutil.copyfile(shards[0], tmp)
        dst = _bounded_metadata_cache(h5py.File(tmp, "r+"))
        try:
            names = set(dst.keys())
            copied = 0
            for shard in shards[1:]:
                with _bounded_metadata_cache(h5py.File(shard, "r")) as src:
                    if _settings({k: _decode(v) for k, v in src.attrs.items()}) != expected:
                        raise SerkitError(
                            "shard was written with different extractor settings",
                            path=shard,
                            hint="delete the store's .work dir and extract again",
                        )
                    for utt in src.keys():
                        if utt in names:
                            raise SerkitError(f"utterance {utt!r} in two shards", path=shard, hint="re-split")
                        h5py.h5o.copy(src.id, utt.encode(), dst.id, utt.encode())
                        names.add(utt)
                        copied += 1
                        if copied % REOPEN_EVERY == 0:
                            dst = _reopened(dst)
            dst.attrs["num_utterances"] = len(names)
            if finalize is not None:
                finalize(dst)
        finally:
            dst.close()
        os.replace(tmp, out)
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise SerkitError(
            f"cannot merge the shards ({exc})",
            path=out,
            hint=f"delete {work_dir(out)} and extract again",
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


#: Attribute names that repeat another one (alias → the name shown), and attributes that repeat
#: a count ``describe`` gives (attribute → its key there).
ATTR_ALIASES = {
    "frame_length_s": "frame_length",
    "frame_shift_s": "frame_shift",
    "sampling_rate": "sample_rate",
}
ATTR_COUNTS = {"dims": "dims", "num_utterances": "utterances"}


def _same(a: object, b: object) -> bool:
    try:
        return float(a) == float(b)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return a == b


def distinct_attrs(info: dict) -> dict:
    """The attributes of :func:`describe`'s ``info`` less those saying again what another one says."""
    attrs = info["attrs"]
    out = {}
    for key in sorted(attrs):
        value = attrs[key]
        alias_of = ATTR_ALIASES.get(key)
        if alias_of in attrs and _same(attrs[alias_of], value):
            continue
        counted = info.get(ATTR_COUNTS.get(key, ""))
        if counted is not None and (_same(counted, value) or counted == [value] or counted == value):
            continue
        out[key] = value
    return out


def describe(path: str | Path) -> dict:
    """Summary for ``store-info``: counts, frames, dims, attributes."""
    store = FeatureStore(path)
    frames = 0
    dims: set[int] = set()
    lengths = []
    with store._reading(), _bounded_metadata_cache(h5py.File(store.path, "r")) as f:
        # Each dataset's header alone, through the low-level API (the high-level one costs several
        # times more per dataset, and a store has one per utterance).
        for utt in store.keys():
            shape = h5py.h5d.open(f.id, utt.encode()).shape
            frames += shape[0]
            lengths.append(shape[0])
            dims.add(shape[1] if len(shape) > 1 else 1)
    store.close()
    return {
        "path": str(path),
        "utterances": len(lengths),
        "frames": frames,
        "dims": sorted(dims),
        "min_frames": min(lengths, default=0),
        "max_frames": max(lengths, default=0),
        "attrs": store.attrs,
    }
