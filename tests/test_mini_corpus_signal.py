"""The default IEMOCAP-layout mini corpus carries emotion in both modalities, and fusion beats each.

Speaker-independent: leave-one-session-out over the 5 sessions (both speakers of the test session are
unseen), 4 classes (neu, hap + exc, ang, sad). Acoustic statistics are computed from the wav files with
numpy/librosa here, independently of serkit's feature extractors.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from serkit.corpora.mini import generate_mini_corpus, read_manifest
from serkit.corpora.mini.wavfile import read_wav

librosa = pytest.importorskip("librosa")
threadpool_limits = pytest.importorskip("threadpoolctl").threadpool_limits
sklearn_linear = pytest.importorskip("sklearn.linear_model")

FOUR_CLASS = {"neu": "neu", "hap": "hap", "exc": "hap", "ang": "ang", "sad": "sad"}
HOP = 160  # 10 ms at 16 kHz


def acoustic_features(path) -> tuple[np.ndarray, np.ndarray]:
    """(prosody, spectral) statistics of one utterance: F0, energy, timing; MFCC means and deviations."""
    pcm, rate = read_wav(path)
    y = pcm.astype(np.float32) / 32768.0
    f0 = librosa.yin(y, fmin=60, fmax=400, sr=rate, frame_length=1024, hop_length=HOP)
    rms = librosa.feature.rms(y=y, frame_length=400, hop_length=HOP)[0]
    db = 20 * np.log10(rms + 1e-8)
    n = min(len(f0), len(db))
    active = db[:n] > db.max() - 30
    semitones = 12 * np.log2(f0[:n][active] / 100.0)
    envelope = np.convolve(rms, np.ones(5) / 5, "same")
    peaks = (envelope[1:-1] > envelope[:-2]) & (envelope[1:-1] >= envelope[2:]) & (db[1:-1] > db.max() - 20)
    speech_s = active.sum() * HOP / rate
    prosody = [
        np.median(semitones),
        np.std(semitones),
        np.percentile(semitones, 90) - np.percentile(semitones, 10),
        db[:n][active].mean(),
        db[:n][active].std(),
        speech_s,
        peaks.sum() / max(speech_s, 0.1),
    ]
    mfcc = librosa.feature.mfcc(y=y, sr=rate, n_mfcc=13, hop_length=HOP)[:, :n][:, active]
    return np.array(prosody), np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)])


def test_both_modalities_carry_signal_and_fusion_helps(tmp_path):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    started = time.perf_counter()
    root = tmp_path / "iemocap"
    summary = generate_mini_corpus(root, layout="iemocap", size="default", seed=0, nj=2)
    assert 900 <= summary.n_labelled <= 1100
    records = [
        r for r in read_manifest(root / "manifest.jsonl") if r["labelled"] and r["label"] in FOUR_CLASS
    ]
    labels = np.array([FOUR_CLASS[r["label"]] for r in records])
    sessions = np.array([r["session"] for r in records])
    with threadpool_limits(limits=1):  # BLAS/OpenMP threads only oversubscribe 2 cores here
        features = [acoustic_features(root / r["files"]["wav"]) for r in records]
    prosody, spectral = np.array([f[0] for f in features]), np.array([f[1] for f in features])
    texts = [r["text"] for r in records]

    folds = GroupKFold(n_splits=5)

    def oof(model, features):
        return cross_val_predict(model, features, labels, groups=sessions, cv=folds, method="predict_proba")

    def logistic():
        return sklearn_linear.LogisticRegression(max_iter=3000)

    audio = oof(make_pipeline(StandardScaler(), logistic()), np.hstack([prosody, spectral]))
    text = oof(make_pipeline(CountVectorizer(binary=True), logistic()), np.array(texts, dtype=object))
    fused = np.log(audio + 1e-9) + np.log(text + 1e-9)
    classes = np.unique(labels)
    accuracy = {
        name: float(np.mean(classes[p.argmax(axis=1)] == labels))
        for name, p in (("audio", audio), ("text", text), ("fusion", fused))
    }
    elapsed = time.perf_counter() - started
    print(f"\nmini iemocap default, LOSO 4-class, n={len(labels)}: {accuracy} ({elapsed:.1f} s)")
    assert accuracy["audio"] > 0.50 and accuracy["text"] > 0.50
    assert accuracy["fusion"] > max(accuracy["audio"], accuracy["text"]) + 0.03
    modes = np.array([r["lex_mode"] for r in records])
    text_right = classes[text.argmax(axis=1)] == labels
    assert text_right[modes == "congruent"].mean() > 0.85 and text_right[modes == "incongruent"].mean() < 0.2
