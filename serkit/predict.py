"""``serkit predict``: a trained model applied to new audio with exactly the pipeline it was trained with.

:func:`predict` takes a model (:func:`serkit.model_dir.open_model`: an exp dir or an exported model dir)
and inputs (audio files, folders of them, or a data dir) and, in a work dir:

1. writes the inputs as a data dir (a file's id is its name without extension, made unique); each
   input's audio is checked first: an unreadable, empty or missing file is reported on one line and
   left out, and the others are still predicted;
2. speakers, for ``normalize: speaker`` (per-speaker CMVN): the data dir's ``utt2spk``, ``--utt2spk``,
   or ``--speaker`` for all; otherwise each file is its own speaker, said in the report;
3. words, where a stream reads them: the data dir's ``text``, ``--transcripts`` (``id words...``;
   ids are file names without extension, or the ``<speaker>-<name>`` ids of a data dir), otherwise
   pocketsphinx ASR (:func:`serkit.text.asr.transcribe`); word times where a stream needs them: the data
   dir's ``words.ctm``, otherwise forced alignment of those words (:func:`serkit.text.align.align_data_dir`);
4. long inputs: an utterance-level model whose frames streams are cut (``max_frames``) reads at most
   :func:`serkit.model_dir.max_duration` seconds of an utterance (training and ``serkit score`` cut
   every longer one there); a longer input is cut into ``ceil(duration / that)`` equal windows, each
   predicted as an utterance (with the words inside it, by ``words.ctm``), and the input's result is
   the mean of its windows' probabilities (values); the row says how many windows. A frame-level
   model reads the whole recording, as ``serkit score`` does (memory grows with the recording);
5. features: each frames stream extracted with the training store's parameters
   (:meth:`~serkit.features.extractors.Extractor.options_from_params`); ``normalize: train`` uses the
   statistics saved with the weights; word instances embedded by the model's own embedder;
6. the model's outputs: class probabilities (softmax) and the arg-max label; multi-label probabilities
   (sigmoid) and the classes above 0.5; regression values, per frame at the label rate for frame models.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serkit import audio, datadir
from serkit.datadir import DataDir, WavEntry
from serkit.errors import SerkitError
from serkit.model_dir import ModelSource, open_model

log = logging.getLogger("serkit")

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au", ".sph")
WORD_STREAMS = ("words", "word_spans", "word_frames")


@dataclass
class Row:
    """One input's prediction."""

    utt: str
    source: str  # the file (or data dir entry) it came from
    duration: float
    windows: int = 1
    label: str | None = None  # classification: arg-max class; multilabel: present classes joined by +
    scores: dict[str, float] = field(default_factory=dict)  # class → probability, or dim → mean value
    words: str | None = None  # the words the model read, when it reads words
    frames: np.ndarray | None = None  # frame models: frames × dims values at the label rate
    frame_shift: float | None = None


@dataclass
class Prediction:
    """The rows, what failed, and how the inputs were read."""

    model: str
    task: dict
    rows: list[Row]
    failed: dict[str, str]  # input → why it was left out
    notes: list[str]


# --------------------------------------------------------------------------- inputs


def _safe_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name).strip(".") or "utt"


def audio_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders searched recursively for audio files (sorted)."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
            if not found:
                raise SerkitError(
                    "no audio files in the folder",
                    path=path,
                    hint=f"give files ({', '.join(AUDIO_SUFFIXES)})",
                )
            files += found
        else:
            files.append(path)
    return files


def _keyed(records: dict[str, str], tails: dict[str, list[str]], utt: str, spk: str | None) -> str | None:
    """``records`` value of ``utt``, keyed by the id itself, by ``<speaker>-<id>`` (a data dir's id), or
    by the one key ``<anything>-<id>`` (a data dir's id when the speakers given are others)."""
    if utt in records:
        return records[utt]
    if spk is not None and f"{spk}-{utt}" in records:
        return records[f"{spk}-{utt}"]
    found = tails.get(utt, [])
    return records[found[0]] if len(found) == 1 else None


def _suffixes(records: dict[str, str]) -> dict[str, list[str]]:
    """The keys of ``records`` by each of their ``-``-separated tails (``a-b-c``: ``b-c`` and ``c``)."""
    out: dict[str, list[str]] = {}
    for key in records:
        parts = key.split("-")
        for i in range(1, len(parts)):
            out.setdefault("-".join(parts[i:]), []).append(key)
    return out


def _speaker_of(utt2spk: dict[str, str], utt: str) -> str | None:
    if utt in utt2spk:
        return utt2spk[utt]
    for key, spk in utt2spk.items():
        if key == f"{spk}-{utt}":
            return spk
    return None


def inputs_data_dir(
    inputs: list[str | Path],
    *,
    speaker: str | None = None,
    utt2spk_file: Path | None = None,
    transcripts: Path | None = None,
) -> tuple[DataDir, dict[str, str], list[str]]:
    """The inputs as a data dir (not yet written), the inputs left out with why, and notes."""
    notes: list[str] = []
    if len(inputs) == 1 and Path(inputs[0]).is_dir() and (Path(inputs[0]) / "wav.scp").is_file():
        data = datadir.load(inputs[0])
        data.meta = {"source_dir": str(inputs[0])}
        sources = {u: data.wav_scp[u].to_field() for u in data.utts}
    else:
        data = DataDir()
        sources = {}
        for path in audio_inputs(inputs):
            utt = base = _safe_id(path.stem)
            n = 1
            while utt in data.wav_scp:
                n += 1
                utt = f"{base}-{n}"
            data.wav_scp[utt] = WavEntry(str(path.resolve()))
            sources[utt] = str(path)
    if utt2spk_file is not None:
        given = datadir.read_map(utt2spk_file)
        for utt in data.wav_scp:
            spk = _speaker_of(given, utt)
            if spk is None:
                raise SerkitError(
                    f"no speaker for input {sources[utt]!r} (id {utt!r})",
                    path=utt2spk_file,
                    hint="add a line 'ID SPEAKER' (ID: the file name without extension)",
                )
            data.utt2spk[utt] = spk
    elif speaker is not None:
        data.utt2spk = dict.fromkeys(data.wav_scp, speaker)
    elif not data.utt2spk:
        data.utt2spk = {u: u for u in data.wav_scp}
        notes.append("speakers: each input is its own speaker (give --speaker or --utt2spk to group them)")
    if transcripts is not None:
        given = datadir.read_text(transcripts)
        tails = _suffixes(given)
        data.text = {}
        for utt in data.wav_scp:
            line = _keyed(given, tails, utt, data.utt2spk.get(utt))
            if line is not None:
                data.text[utt] = line
        data.words_ctm = {}
    failed: dict[str, str] = {}
    for utt in list(data.wav_scp):
        problem, data.utt2dur[utt] = _audio_problem(data.wav_scp[utt])
        if problem:
            failed[sources[utt]] = problem
            log.error("%s: left out: %s", sources[utt], problem)
            for table in (data.wav_scp, data.utt2spk, data.text, data.words_ctm, data.utt2dur):
                table.pop(utt, None)
    data.meta = {**data.meta, "sources": {u: sources[u] for u in data.wav_scp}}
    return data, failed, notes


def _audio_problem(entry: WavEntry) -> tuple[str | None, float]:
    """Why the audio cannot be predicted (missing, unreadable, empty) or None, and its duration."""
    if not entry.is_pipe and not Path(entry.path).is_file():
        return "file not found", 0.0
    try:
        _, duration = audio.audio_info(entry)
    except SerkitError as err:
        return err.message, 0.0
    except Exception as exc:  # soundfile raises several types for a damaged file
        return f"unreadable audio ({type(exc).__name__})", 0.0
    return ("no audio (0 samples)" if duration <= 0 else None), duration


# --------------------------------------------------------------------------- words and windows


def _needs(config: dict) -> tuple[bool, bool]:
    """Whether the model reads words, and word times."""
    streams = config["data"]["streams"]
    text = any(s["type"] in WORD_STREAMS for s in streams)
    times = any(s["type"] in ("word_spans", "word_frames") for s in streams)
    return text, times


def _add_words(data: DataDir, work: Path, need_times: bool, nj: int, notes: list[str]) -> None:
    """Transcripts (given, else ASR) and word times (given, else forced alignment), written to ``work``."""
    from serkit.text import align, asr

    missing = [u for u in data.utts if u not in data.text]
    if missing:
        datadir.save(_subset(data, missing), work)
        report = asr.transcribe(work, nj=nj)
        hyps = datadir.load(work).text_asr
        data.text.update({u: hyps.get(u, "") for u in missing})
        notes.append(
            f"words: pocketsphinx ASR for {len(missing)} of {len(data.utts)} inputs ({report.source})"
        )
    else:
        notes.append("words: the given transcripts")
    data.text_asr = dict(data.text)
    if need_times and any(u not in data.words_ctm for u in data.utts):
        datadir.save(data, work)
        report = align.align_data_dir(work, nj=nj)
        data.words_ctm = datadir.load(work).words_ctm
        notes.append(
            f"word times: forced alignment ({report.aligned} of {len(data.utts)} inputs aligned; "
            "an input without times gets no word vectors on its frames)"
        )


def _subset(data: DataDir, utts: list[str]) -> DataDir:
    keep = set(utts)
    return DataDir(
        wav_scp={u: e for u, e in data.wav_scp.items() if u in keep},
        utt2spk={u: s for u, s in data.utt2spk.items() if u in keep},
    )


def _windows(data: DataDir, max_duration: float | None) -> dict[str, list[str]]:
    """Cut inputs longer than ``max_duration`` into equal windows (in place); input → its window ids."""
    groups: dict[str, list[str]] = {}
    for utt in list(data.utts):
        entry, duration = data.wav_scp[utt], data.utt2dur[utt]
        n = math.ceil(duration / max_duration - 1e-9) if max_duration else 1
        if n <= 1:
            groups[utt] = [utt]
            continue
        start0 = entry.start or 0.0
        size = duration / n
        ids = [f"{utt}-w{i + 1:03d}" for i in range(n)]
        for i, wid in enumerate(ids):
            start, end = start0 + i * size, start0 + (i + 1) * size
            data.wav_scp[wid] = WavEntry(
                entry.path, round(start, 3), round(end, 3), entry.is_pipe, entry.recording or utt
            )
            data.utt2spk[wid] = data.utt2spk.get(utt, utt)
            data.utt2dur[wid] = end - start
            if utt in data.words_ctm:
                inside = [
                    w for w in data.words_ctm[utt] if start - start0 <= (w.start + w.end) / 2 < end - start0
                ]
                data.words_ctm[wid] = [
                    datadir.CtmWord(round(w.start - (start - start0), 3), w.dur, w.word, w.channel)
                    for w in inside
                ]
                data.text[wid] = " ".join(w.word for w in inside)
            elif utt in data.text:  # not aligned: the words cannot be placed in a window
                data.text[wid] = ""
                data.meta.setdefault("unplaced_words", []).append(utt)
        for table in (data.wav_scp, data.utt2spk, data.text, data.text_asr, data.words_ctm, data.utt2dur):
            table.pop(utt, None)
        data.text_asr = dict(data.text)
        groups[utt] = ids
    return groups


# --------------------------------------------------------------------------- features


def _extract(source: ModelSource, data_dir: Path, work: Path) -> tuple[list[dict], set[str]]:
    """Each stream's spec for the work dir's features; the utterances some extraction failed on."""
    from serkit.features.extract import extract_part
    from serkit.features.extractors import EXTRACTORS

    data = datadir.load(data_dir)
    failed: set[str] = set()
    specs = []
    for spec in source.config["data"]["streams"]:
        spec = dict(spec)
        if spec["type"] == "frames":
            header = source.features[spec["name"]]
            kind = EXTRACTORS.get(header["feature_type"])
            if kind is None:
                raise SerkitError(
                    f"stream {spec['name']}: features of type {header['feature_type']!r} cannot be extracted "
                    "from audio here",
                    path=source.root,
                    hint=f"serkit extracts {', '.join(sorted(EXTRACTORS))}",
                )
            extractor = kind(kind.options_from_params(header["params"]))
            store = work / f"{spec['name']}.h5"
            failed |= set(extract_part(data, store, extractor, show_progress=False))
            spec["store"] = str(store)
        if spec["type"] == "word_frames" and spec.get("instances"):
            spec["instances"] = str(_embed_words(source, spec["name"], data, data_dir, work, failed))
        specs.append(spec)
    return specs, failed


def _embed_words(
    source: ModelSource, name: str, data: DataDir, data_dir: Path, work: Path, failed: set[str]
) -> Path:
    """Word-instance vectors of every input from its audio, by the model's own embedder."""
    from serkit.embeddings import pseudo_words
    from serkit.features.extract import extract_part
    from serkit.features.extractors import make_extractor

    mfcc = work / f"{name}_word-mfcc.h5"
    if not mfcc.is_file():
        failed |= set(extract_part(data, mfcc, make_extractor("word-mfcc", {}), show_progress=False))
    out = work / f"{name}_instances.h5"
    model_dir = source.embedders[name]
    if pseudo_words.is_model_dir(model_dir):
        pseudo_words.embed_words(model_dir, data_dir, mfcc, out)
    else:
        from serkit.embeddings import speech2vec  # torch: only for a Speech2Vec model

        speech2vec.embed_words(model_dir, data_dir, mfcc, out, "cpu")
    return out


# --------------------------------------------------------------------------- predict


def predict(
    model: str | Path,
    inputs: list[str | Path],
    *,
    speaker: str | None = None,
    utt2spk: Path | None = None,
    transcripts: Path | None = None,
    device: str = "auto",
    batch_size: int | None = None,
    nj: int = 1,
    work_dir: Path | None = None,
) -> Prediction:
    """Apply ``model`` to ``inputs`` (module docstring); no labels are read."""
    from serkit.experiment import build_model, choose_device
    from serkit.training.dataset import EmotionDataset
    from serkit.training.evaluate import predict as run_model

    source = open_model(model)
    config = source.config
    target = choose_device(device)
    checkpoint = source.load_weights()
    task, input_dims = checkpoint["task"], checkpoint["input_dims"]
    net = build_model(config, task, input_dims)
    net.load_state_dict(checkpoint["model"])
    net.to(target).eval()
    fitted = {
        k: (v["mean"].numpy(), v["std"].numpy()) for k, v in (checkpoint.get("normalization") or {}).items()
    }

    data, failed, notes = inputs_data_dir(
        inputs, speaker=speaker, utt2spk_file=utt2spk, transcripts=transcripts
    )
    sources = data.meta["sources"]
    if not data.wav_scp:
        return Prediction(source.name, task, [], failed, notes)
    own = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="serkit-predict-")) if own else Path(work_dir)
    try:
        try:
            work.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SerkitError(f"cannot create the work dir ({exc.strerror})", path=work) from None
        need_text, need_times = _needs(config)
        longest = source.max_duration if task["level"] == "utterance" else None
        windowed = longest is not None and max(data.utt2dur.values()) > longest + 1e-9
        if need_text:  # a windowed input's words are split by their times
            _add_words(data, work / "words", need_times or windowed, nj, notes)
        groups = _windows(data, longest)
        if any(len(ids) > 1 for ids in groups.values()):
            notes.append(
                f"long inputs: cut into windows of at most {source.max_duration:.2f} s (what the model reads "
                "of an utterance); their probabilities (values) are averaged"
            )
        unplaced = sorted(set(data.meta.pop("unplaced_words", [])))
        if unplaced and need_text:
            notes.append(
                f"{len(unplaced)} long inputs could not be aligned (e.g. {sources[unplaced[0]]}): "
                "their windows were predicted without words"
            )
        data_dir = work / "data"
        datadir.save(data, data_dir)
        given = Path(data.meta.get("source_dir") or "-")
        for name in ("turns", "labels.h5"):  # a data dir's turns (turn_split) and label grid (waveform
            if (given / name).is_file():  # frames: as many as label rows, as training extracted them)
                shutil.copyfile(given / name, data_dir / name)
        specs, bad = _extract(source, data_dir, work)
        for spec in specs:
            if spec["type"] == "frames" and spec.get("normalize") == "train":
                spec["fitted"] = fitted[spec["name"]]
        utts = [u for u in data.utts if u not in bad]  # data: what data_dir holds
        for utt, ids in list(groups.items()):
            if any(i in bad for i in ids):
                failed[sources[utt]] = "feature extraction failed (reported above)"
                del groups[utt]
        if not groups:
            return Prediction(source.name, task, [], failed, notes)
        dataset = EmotionDataset(data_dir, specs, task, labelled=False, utts=utts)
        if dataset.input_dims != input_dims:
            raise SerkitError(
                f"inputs {dataset.input_dims} differ from the trained model's {input_dims}", path=source.root
            )
        outputs = {
            p.utt: p.output
            for p in run_model(net, dataset, batch_size or config["train"]["batch_size"], target)
        }
        shift = source.features.get(task.get("frame_stream") or config["data"]["streams"][0]["name"], {}).get(
            "frame_shift"
        )
        rows = [
            _row(utt, sources[utt], ids, outputs, task, data, shift)
            for utt, ids in sorted(groups.items(), key=lambda kv: kv[0].encode())
        ]
        return Prediction(source.name, task, rows, failed, notes)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _row(utt: str, src: str, ids: list[str], outputs: dict, task: dict, data: DataDir, shift) -> Row:
    duration = sum(data.utt2dur[i] for i in ids)
    words = " ".join(data.text.get(i, "") for i in ids).strip() if data.text else None
    row = Row(utt, src, round(duration, 3), len(ids), words=words)
    if task["type"] == "classification":
        probs = np.mean([_softmax(outputs[i].astype(np.float64)) for i in ids], axis=0)
        row.scores = {c: float(p) for c, p in zip(task["classes"], probs, strict=True)}
        row.label = task["classes"][int(np.argmax(probs))]
    elif task["type"] == "multilabel":
        probs = np.mean([1 / (1 + np.exp(-outputs[i].astype(np.float64))) for i in ids], axis=0)
        row.scores = {c: float(p) for c, p in zip(task["classes"], probs, strict=True)}
        row.label = "+".join(c for c, p in zip(task["classes"], probs, strict=True) if p > 0.5) or "none"
    elif task["level"] == "frame":
        row.frames = np.concatenate([np.atleast_2d(outputs[i]) for i in ids])
        row.frame_shift = shift
        row.scores = {d: float(v) for d, v in zip(task["dims"], row.frames.mean(0), strict=True)}
    else:
        values = np.mean([outputs[i] for i in ids], axis=0)
        row.scores = {d: float(v) for d, v in zip(task["dims"], values, strict=True)}
    return row


# --------------------------------------------------------------------------- output


def summary(result: Prediction) -> list[dict]:
    """One flat record per input: id, source, duration, windows, label, a column per class (dim), words."""
    records = []
    for row in result.rows:
        record = {"utt": row.utt, "source": row.source, "duration": row.duration, "windows": row.windows}
        if row.label is not None:
            record["label"] = row.label
        prefix = "" if result.task["type"] == "regression" else "p_"
        record |= {f"{prefix}{k}": round(v, 6) for k, v in row.scores.items()}
        if row.words is not None:
            record["words"] = row.words
        records.append(record)
    return records


def write(result: Prediction, out: Path) -> list[Path]:
    """``out`` as CSV (a row per input; frame models also ``<stem>.frames.csv``) or JSON (everything)."""
    import csv
    import json

    records = summary(result)
    written = [out]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".json":
            doc = {
                "model": result.model,
                "task": {
                    k: result.task.get(k) for k in ("type", "level", "classes", "dims") if result.task.get(k)
                },
                "notes": result.notes,
                "failed": result.failed,
                "predictions": records,
            }
            for record, row in zip(doc["predictions"], result.rows, strict=True):
                if row.frames is not None:
                    record["frame_shift"] = row.frame_shift
                    record["frames"] = np.round(row.frames, 6).tolist()
            out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            return written
        if out.suffix.lower() != ".csv":
            raise SerkitError("--out must end in .csv or .json", path=out)
        columns = list(dict.fromkeys(k for r in records for k in r))
        with open(out, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(records)
        framed = [r for r in result.rows if r.frames is not None]
        if framed:
            frames_out = out.with_suffix(".frames.csv")
            with open(frames_out, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(["utt", "time", *result.task["dims"]])
                for row in framed:
                    for i, values in enumerate(row.frames):
                        writer.writerow(
                            [row.utt, f"{i * row.frame_shift:.3f}", *(f"{v:.6f}" for v in values)]
                        )
            written.append(frames_out)
    except OSError as exc:
        raise SerkitError(
            f"cannot write the predictions ({exc.strerror})", path=out, hint="give a writable --out"
        ) from None
    return written


def plot(result: Prediction, out_dir: Path) -> list[Path]:
    """A PNG of the predicted trace of every input of a frame model: ``out_dir/<id>.png``."""
    from serkit import plots

    return [
        plots.predicted_trace(
            row.frames,
            row.frame_shift,
            result.task["dims"],
            out_dir / f"{row.utt}.png",
            f"{result.model}: {row.source}",
        )  # fmt: skip
        for row in result.rows
        if row.frames is not None
    ]
