"""Speech2Vec (Chung & Glass 2018): word instances from a word-MFCC store, the model, training with
resume, word vectors, embed-words, and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import make_data_dir, run_serkit

from serkit import audio, datadir
from serkit.embeddings import speech2vec as s2v
from serkit.embeddings.word_instances import load_word_instances
from serkit.errors import SerkitError
from serkit.features import word_mfcc
from serkit.store import FeatureStore, StoreWriter
from serkit.text.embeddings_io import load_vectors


def write_word_mfcc_store(data_dir: Path, out: Path) -> Path:
    """A word-mfcc store in the layout ``extract-features --type word-mfcc`` writes (see word_instances)."""
    data = datadir.load(data_dir)
    stats = word_mfcc.RunningStats()
    with StoreWriter(
        out,
        "word_mfcc",
        word_mfcc.params(),
        frame_shift=0.01,
        frame_length=0.025,
        sample_rate=16000,
        feature_names=word_mfcc.feature_names(),
    ) as writer:
        for utt in data.utts:
            samples, rate = audio.load(data.wav_scp[utt])
            mfcc = word_mfcc.utterance_mfcc(samples, rate)
            words = [(c.word, c.start, c.end) for c in data.words_ctm.get(utt, [])]
            spans = word_mfcc.word_frame_spans(words, len(mfcc)) if words else np.zeros((0, 2), np.int64)
            stats.update(mfcc)
            writer.put(
                utt,
                mfcc,
                {
                    "words": [w[0] for w in words],
                    "word_start_frame": spans[:, 0],
                    "word_end_frame": spans[:, 1],
                },
            )
        writer.set_attr("mean", stats.mean)
        writer.set_attr("var", stats.variance)
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("s2v")
    data = make_data_dir(root, n=8)
    return data, write_word_mfcc_store(data, root / "wmfcc.h5")


def test_word_instances_and_neighbours(corpus) -> None:
    data_dir, store = corpus
    inst = load_word_instances(data_dir, store)
    assert len(inst) == 24 and inst.words[:3] == ["hello", "there", "world"]
    assert inst.vocabulary() == ["hello", "there", "world"] and len(inst.utt_ids) == 8
    with FeatureStore(store) as fs:
        utt = fs.keys()[0]
        a = fs.utt_attrs(utt)
        raw = fs[utt][a["word_start_frame"][1] : a["word_end_frame"][1]]
        mean, var = np.asarray(fs.attrs["mean"]), np.asarray(fs.attrs["var"])
    assert np.allclose(inst.instance(1), (raw - mean) / np.sqrt(var), atol=1e-5)  # corpus z-norm
    nb = inst.neighbours(window=3)
    assert nb[0].tolist() == [-1, -1, -1, 1, 2, -1] and nb[4].tolist() == [3, -1, -1, 5, -1, -1]
    assert nb[2].tolist() == [1, 0, -1, -1, -1, -1]  # never across utterances
    keep = np.array([w != "there" for w in inst.words])
    assert inst.neighbours(1, keep)[0].tolist() == [-1, 2]  # rare words removed before windowing
    frames, lengths = inst.batch(np.array([0, 2]))
    assert frames.shape == (2, lengths.max(), 13) and np.all(frames[np.argmin(lengths), lengths.min() :] == 0)
    short = load_word_instances(data_dir, store, max_frames=5)
    assert short.lengths.max() == 5


def test_stale_or_wrong_store_is_a_user_error(corpus, tmp_path: Path) -> None:
    data_dir, store = corpus
    data = datadir.load(data_dir)
    first = data.utts[0]
    data.words_ctm[first] = [datadir.CtmWord(0.1, 0.2, "goodbye")] + data.words_ctm[first][1:]
    changed = datadir.save(data, tmp_path / "changed")
    with pytest.raises(SerkitError, match="stale"):
        load_word_instances(changed, store)
    renamed = datadir.DataDir()
    for utt in data.utts:
        renamed.wav_scp["x" + utt] = data.wav_scp[utt]
        renamed.utt2spk["x" + utt] = data.utt2spk[utt]
        renamed.words_ctm["x" + utt] = data.words_ctm[utt] if utt != first else []
    with pytest.raises(SerkitError, match="7 utterances .* are not in the store"):
        load_word_instances(datadir.save(renamed, tmp_path / "renamed"), store)


def test_loss_ignores_padding_and_model_shapes() -> None:
    torch.manual_seed(0)
    model = s2v.Speech2Vec(13, 10)
    frames = torch.randn(3, 7, 13)
    lengths = torch.tensor([7, 4, 2])
    z = model.encode(frames, lengths)
    assert z.shape == (3, 10)
    padded = frames.clone()
    padded[1, 4:] = 99.0
    assert torch.allclose(model.encode(padded, lengths), z)  # packing: padding never read
    pred = model.decode(z, int(lengths.max()))
    assert pred.shape == (3, 7, 13)
    loss = s2v.masked_squared_error(pred, frames, lengths)
    assert torch.allclose(loss, s2v.masked_squared_error(pred, padded, lengths))
    expected = sum(((pred[i, :n] - frames[i, :n]) ** 2).sum() for i, n in enumerate(lengths.tolist())) / 3
    assert torch.allclose(loss, expected)


def _synthetic_instances(n: int = 300, seed: int = 0):
    from serkit.embeddings.word_instances import WordInstances

    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 40, n)
    frames = rng.standard_normal((int(lengths.sum()), 13)).astype(np.float32)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    utt_of = np.arange(n) // 7  # utterances of 7 words: some centres have fewer than 6 neighbours
    words = [f"w{i}" for i in rng.integers(0, 40, n)]
    utts = [f"u{i}" for i in range(utt_of[-1] + 1)]
    return WordInstances(words, utts, utt_of, frames, offsets, lengths, np.zeros(13), np.ones(13))


@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_batch_loss_and_gradients_equal_the_per_pair_definition(mode: str) -> None:
    data = _synthetic_instances()
    neighbours = data.neighbours(3)
    centres = np.random.default_rng(1).permutation(len(data))[:64]
    torch.manual_seed(0)
    model = s2v.Speech2Vec(13, 50)
    loss, segments = s2v.batch_loss(model, data, centres, neighbours, mode, torch.device("cpu"))
    reference = s2v.batch_loss_reference(model, data, centres, neighbours, mode)
    pairs = int((neighbours[centres] >= 0).sum())
    assert segments == (pairs if mode == "skipgram" else len(centres))
    assert abs(float(loss.detach()) - float(reference.detach())) <= 1e-5 * float(reference.detach())
    params = list(model.parameters())
    for got, want in zip(
        torch.autograd.grad(loss, params), torch.autograd.grad(reference, params), strict=True
    ):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-5 * float(want.abs().max()))


@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
@pytest.mark.parametrize("workers", [2, 3])
def test_batch_gradients_of_parts_on_threads_are_the_batch_gradients(mode: str, workers: int) -> None:
    """The batch cut into parts computed on threads: the batch's loss and gradients to float
    rounding, and bit for bit the same on a second call."""
    data = _synthetic_instances()
    neighbours = data.neighbours(3)
    centres = np.random.default_rng(2).permutation(len(data))[:64]
    torch.manual_seed(0)
    model = s2v.Speech2Vec(13, 50)
    params = list(model.parameters())
    cpu = torch.device("cpu")
    loss, segments = s2v.batch_gradients(model, data, centres, neighbours, mode, cpu)
    whole = [p.grad for p in params]
    runs = []
    for _ in range(2):
        got_loss, got_segments = s2v.batch_gradients(model, data, centres, neighbours, mode, cpu, workers)
        assert got_segments == segments and abs(got_loss - loss) <= 1e-5 * loss
        runs.append([p.grad for p in params])
    for got, want, again in zip(runs[0], whole, runs[1], strict=True):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-5 * float(want.abs().max()))
        assert torch.equal(got, again)


def test_threads_zero_is_one_thread_per_core_while_parts_keep_16_centres() -> None:
    assert s2v.cpu_workers(s2v.Speech2VecConfig(threads=3), 64) == 3  # as given
    assert s2v.cpu_workers(s2v.Speech2VecConfig(threads=0), 2) == 2
    assert s2v.cpu_workers(s2v.Speech2VecConfig(threads=0, batch_size=64), 64) == 4
    assert s2v.cpu_workers(s2v.Speech2VecConfig(threads=0, batch_size=8), 64) == 1


def test_batch_pads_and_marks_missing_instances() -> None:
    data = _synthetic_instances(20)
    ids = np.array([[3, -1], [0, 5]])
    frames, lengths = data.batch(ids)
    assert lengths.tolist() == [[data.lengths[3], 0], [data.lengths[0], data.lengths[5]]]
    assert frames.shape == (2, 2, lengths.max(), 13)
    assert np.array_equal(frames[1, 1, : data.lengths[5]], data.instance(5))
    assert not frames[0, 1].any() and not frames[1, 0, data.lengths[0] :].any()


def test_training_resumes_to_the_same_model(corpus, tmp_path: Path) -> None:
    data_dir, store = corpus
    config = dict(dim=8, epochs=3, batch_size=4, seed=1, device="cpu")
    straight = s2v.train_speech2vec(data_dir, store, tmp_path / "a", s2v.Speech2VecConfig(**config))
    assert [row["epoch"] for row in straight.curve] == [1, 2, 3]
    assert straight.curve[-1]["loss"] < straight.curve[0]["loss"]
    s2v.train_speech2vec(data_dir, store, tmp_path / "b", s2v.Speech2VecConfig(**{**config, "epochs": 1}))
    resumed = s2v.train_speech2vec(data_dir, store, tmp_path / "b", s2v.Speech2VecConfig(**config))
    assert resumed.resumed_from == 1
    a = torch.load(tmp_path / "a" / "s2v.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "s2v.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    for name in ("s2v.bin", "curve.tsv", "curve.png", "checkpoint.pt", "config.yaml", "cmd.txt", "env.txt"):
        assert (tmp_path / "a" / name).is_file(), name
    with pytest.raises(SerkitError, match="other settings"):
        s2v.train_speech2vec(data_dir, store, tmp_path / "b", s2v.Speech2VecConfig(**{**config, "dim": 10}))


def test_word_vectors_are_instance_means_and_embed_words(corpus, tmp_path: Path) -> None:
    data_dir, store = corpus
    s2v.train_speech2vec(data_dir, store, tmp_path / "m", s2v.Speech2VecConfig(dim=8, epochs=1, mode="cbow"))
    kv = load_vectors(tmp_path / "m" / "s2v.bin")
    assert kv.index_to_key == ["hello", "there", "world"] and kv.vector_size == 8
    count = s2v.embed_words(tmp_path / "m", data_dir, store, tmp_path / "emb.h5")
    assert count == 24
    with FeatureStore(tmp_path / "emb.h5") as emb:
        assert len(emb) == 8 and emb.feature_type == "speech2vec"
        rows = [emb[u] for u in emb.keys()]
        assert all(r.shape == (3, 8) for r in rows)
        assert emb.utt_attrs(emb.keys()[0])["words"] == ["hello", "there", "world"]
    hello = np.mean([r[0] for r in rows], axis=0)
    assert np.allclose(kv["hello"], hello, atol=1e-5)


def test_cli_train_and_embed(corpus, tmp_path: Path) -> None:
    data_dir, store = corpus
    out = tmp_path / "exp"
    conf = tmp_path / "s2v.yaml"
    conf.write_text("epochs: 1\ndim: 16\nskipgram: false\n")
    result = run_serkit(
        "train-speech2vec", str(data_dir), str(store), str(out), "--config", str(conf), "--dim", "8"
    )
    assert result.returncode == 0, result.stderr
    recorded = yaml.safe_load((out / "config.yaml").read_text())
    assert (recorded["epochs"], recorded["dim"], recorded["skipgram"]) == (1, 8, False)
    assert "serkit train-speech2vec" in (out / "cmd.txt").read_text()
    assert "word instances/s" in result.stderr and (out / "s2v.bin").is_file()
    result = run_serkit("embed-words", str(out), str(data_dir), str(store), str(tmp_path / "e.h5"))
    assert result.returncode == 0, result.stderr
    result = run_serkit("train-speech2vec", str(data_dir), str(store), str(out), "--dim", "7")
    assert result.returncode == 2 and "must be even" in result.stderr
    result = run_serkit(
        "embed-words", str(tmp_path / "none"), str(data_dir), str(store), str(tmp_path / "x.h5")
    )
    assert result.returncode == 2 and "train-speech2vec first" in result.stderr
