"""Examples of one data dir: every configured input stream and the target of an utterance (or chunk).

An example is one utterance (or, for frame-level training with ``chunk_frames``, one
chunk of a recording) with one array per declared input stream (:mod:`serkit.training.streams`)
and its target: a class index (``utt2emo``), values from ``labels.h5``, or (multilabel) a float32
0/1 vector with one value per class from ``task.targets`` (``utt2presence``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from serkit import datadir
from serkit.errors import SerkitError
from serkit.training.streams import Stream, open_streams


class EmotionDataset(Dataset):
    """Examples of one data dir: inputs per stream and the utterance- or frame-level target.

    ``task`` is the resolved ``task`` section plus ``classes`` (classification, multilabel) or
    ``dims`` (regression) filled in; see :func:`task_for`. ``labelled=False`` (``serkit predict``)
    reads no labels: every target is zero, of the shape a label would have. ``utts`` restricts the
    examples to those utterances of the data dir.
    """

    def __init__(
        self,
        data_dir: str | Path,
        stream_specs: list[dict],
        task: dict,
        chunk_frames: int | None = None,
        *,
        labelled: bool = True,
        utts: list[str] | None = None,
    ) -> None:
        self.data = datadir.load(data_dir)
        self.utts = self.data.utts if utts is None else [u for u in self.data.utts if u in set(utts)]
        if not self.utts:
            raise SerkitError("the data dir is empty", path=data_dir)
        self.streams = open_streams(stream_specs, self.data, self.utts)
        self.task = task
        self.frame_level = task["level"] == "frame"
        self.frame_stream = task.get("frame_stream") or self.streams[0].name
        self.targets = self._load_targets() if labelled else self._no_targets()
        self.index: list[tuple[str, int, int | None]] = [(u, 0, None) for u in self.utts]
        if chunk_frames and self.frame_level:
            self.index = [
                (u, start, start + chunk_frames)
                for u in self.utts
                for start in range(0, self._frame_count(u), chunk_frames)
            ]

    @property
    def input_dims(self) -> dict[str, int]:
        return {s.name: s.dim for s in self.streams}

    def _stream(self, name: str) -> Stream:
        for stream in self.streams:
            if stream.name == name:
                return stream
        raise SerkitError(f"task.frame_stream {name!r} is not a declared stream")

    def _frame_count(self, utt: str) -> int:
        return min(self._stream(self.frame_stream).length(utt), len(self.targets[utt]))

    def _load_targets(self) -> dict[str, np.ndarray | int]:
        if self.task["type"] == "multilabel":
            return self._multilabel_targets()
        if self.task["type"] == "classification":
            index = {c: i for i, c in enumerate(self.task["classes"])}
            missing = [u for u in self.utts if u not in self.data.utt2emo]
            if missing:
                raise SerkitError(
                    f"{len(missing)} utterances have no label (e.g. {missing[0]!r})",
                    path=self.data.path / "utt2emo",
                    hint="label every utterance or subset the data dir",
                )
            bad = sorted({self.data.utt2emo[u] for u in self.utts} - set(index))
            if bad:
                raise SerkitError(
                    f"labels {bad} are outside the class map {self.task['classes']}",
                    path=self.data.path / "utt2emo",
                    hint="map or drop them in data preparation, or set task.classes",
                )
            return {u: index[self.data.utt2emo[u]] for u in self.utts}
        labels_file = self.data.labels_h5()
        if labels_file is None:
            raise SerkitError("regression needs labels.h5 in the data dir", path=self.data.path)
        labels, _, names = datadir.read_labels(labels_file, self.utts)
        missing = [u for u in self.utts if u not in labels]
        if missing:
            raise SerkitError(
                f"{len(missing)} utterances have no labels (e.g. {missing[0]!r})", path=labels_file
            )
        columns = [names.index(d) for d in self.task["dims"]]
        picked = {u: labels[u][:, columns].astype(np.float32) for u in self.utts}
        if self.frame_level:
            return picked
        return {u: v.mean(0) for u, v in picked.items()}

    def _no_targets(self) -> dict[str, np.ndarray | int]:
        """Zero targets shaped as labels would be (prediction without labels)."""
        if self.task["type"] == "classification":
            return dict.fromkeys(self.utts, 0)
        if self.task["type"] == "multilabel":
            return {u: np.zeros(len(self.task["classes"]), dtype=np.float32) for u in self.utts}
        width = len(self.task["dims"])
        if self.frame_level:
            frames = self._stream(self.frame_stream)
            return {u: np.zeros((frames.length(u), width), dtype=np.float32) for u in self.utts}
        return {u: np.zeros(width, dtype=np.float32) for u in self.utts}

    def _multilabel_targets(self) -> dict[str, np.ndarray]:
        """A 0/1 float32 vector per utterance, one value per class, from the ``task.targets`` file."""
        name = self.task["targets"]
        path = self.data.path / name
        if not path.is_file():
            raise SerkitError(
                f"multilabel targets file {name} not found",
                path=path,
                hint="run serkit prepare-data mosei (it writes utt2presence), or set task.targets",
            )
        rows = datadir.read_binary_rows(path, list(self.task["classes"]))
        missing = [u for u in self.utts if u not in rows]
        if missing:
            raise SerkitError(
                f"{len(missing)} utterances of the data dir have no row (e.g. {missing[0]!r})",
                path=path,
                hint=f"write a row for every utterance of wav.scp, or subset the data dir to those of {name}",
            )
        return {u: rows[u] for u in self.utts}

    def length(self, i: int) -> int:
        utt, start, stop = self.index[i]
        if stop is not None:
            return min(stop, self._frame_count(utt)) - start
        return self.streams[0].length(utt)

    def __len__(self) -> int:
        return len(self.index)

    def _on_frame_grid(self, stream) -> bool:
        """The frame stream itself, or a stream that follows its frames (``word_frames``)."""
        if stream.name == self.frame_stream:
            return True
        follows = getattr(stream, "frames", None)
        return getattr(follows, "name", None) == self.frame_stream

    def __getitem__(self, i: int) -> dict:
        utt, start, stop = self.index[i]
        inputs = {}
        on_grid = [s.name for s in self.streams if self.frame_level and self._on_frame_grid(s)]
        for stream in self.streams:
            if stream.name in on_grid:
                inputs[stream.name] = stream.read(utt, start, stop)
            else:
                inputs[stream.name] = stream.read(utt)
        target = self.targets[utt]
        if self.frame_level:
            n = min(len(inputs[self.frame_stream]), len(target) - start)
            for name in on_grid:  # the label frames, and every stream on their grid, cut alike
                inputs[name] = inputs[name][:n]
            target = target[start : start + n]
        return {"utt": utt, "start": start, "inputs": inputs, "target": target}


def task_for(config: dict, train_dir: str | Path) -> dict:
    """The ``task`` section with ``classes`` (from train meta.json) or ``dims`` (from labels.h5) filled.

    Multilabel: ``classes`` defaults to meta.json's ``emotion_names`` (``targets`` is filled by
    :func:`serkit.training.config.resolve`).
    """
    task = dict(config["task"])
    data = datadir.load(train_dir)
    if task["type"] == "multilabel":
        task["classes"] = list(task["classes"] or data.meta.get("emotion_names") or [])
        if not task["classes"]:
            raise SerkitError(
                "multilabel needs class names: the train dir's meta.json has no emotion_names",
                path=Path(train_dir) / "meta.json",
                hint="set task.classes (one name per column of the targets file)",
            )
    elif task["type"] == "classification":
        task["classes"] = list(task["classes"] or data.meta.get("classes") or [])
        if not task["classes"]:
            task["classes"] = sorted(set(data.utt2emo.values()))
        if len(task["classes"]) < 2:
            raise SerkitError("fewer than 2 classes", path=train_dir, hint="set task.classes")
    else:
        labels_file = data.labels_h5()
        if labels_file is None:
            raise SerkitError("regression needs labels.h5 in the data dir", path=train_dir)
        _, _, names = datadir.read_labels(labels_file, [])
        task["dims"] = list(task["dims"] or names)
        unknown = sorted(set(task["dims"]) - set(names))
        if unknown:
            raise SerkitError(f"task.dims {unknown} not in labels.h5 {names}", path=labels_file)
    if task["level"] == "frame" and task["type"] != "regression":
        raise SerkitError("frame-level targets need task.type regression", hint="set task.level utterance")
    return task
