"""serkit.features.pyaa34 against pyAudioAnalysis 0.3.14 itself (``methods.md`` §G).

pyAudioAnalysis is a test dependency (``pip install -e .[test]``); it is imported, not skipped.
"""

from __future__ import annotations

import functools
import sys

import numpy as np
import pytest
import scipy.io.wavfile
import soundfile
from pyAudioAnalysis import ShortTermFeatures

from serkit.errors import SerkitError
from serkit.features import pyaa34
from serkit.features.testsignal import speech_like

SECONDS = 4.0
RATES = (16000, 22050)
WINDOWS = ((0.02, 0.01), (0.1, 0.1))  # papers 004 and 002


@functools.cache
def _signal(sampling_rate: int, digital_silence: bool) -> np.ndarray:
    return speech_like(SECONDS, sampling_rate, seed=7, digital_silence=digital_silence)


def _samples(sampling_rate: int, window_s: float, step_s: float) -> tuple[int, int]:
    return (
        pyaa34.seconds_to_samples(window_s, sampling_rate),
        pyaa34.seconds_to_samples(step_s, sampling_rate),
    )


def _reference(signal: np.ndarray, sampling_rate: int, window: int, step: int, deltas: bool):
    features, names = ShortTermFeatures.feature_extraction(signal, sampling_rate, window, step, deltas=deltas)
    return features.T, names


def _assert_close(ours: np.ndarray, reference: np.ndarray, names: list[str], bound: float) -> None:
    assert ours.shape == reference.shape
    diff = np.abs(ours - reference).max(axis=0)
    worst = int(np.argmax(diff))
    assert diff[worst] <= bound, f"{names[worst]} differs by {diff[worst]:.3g} (bound {bound:g})"


@pytest.mark.parametrize("deltas", [False, True], ids=["34", "68"])
@pytest.mark.parametrize("window_s,step_s", WINDOWS, ids=["20-10ms", "100-100ms"])
@pytest.mark.parametrize("sampling_rate", RATES)
def test_matches_pyaudioanalysis_on_speech(sampling_rate, window_s, step_s, deltas):
    signal = _signal(sampling_rate, digital_silence=False)
    window, step = _samples(sampling_rate, window_s, step_s)
    reference, names = _reference(signal, sampling_rate, window, step, deltas)
    ours = pyaa34.short_term_features(signal, sampling_rate, window, step, deltas=deltas)
    assert names == pyaa34.feature_names(deltas)
    assert ours.shape == (len(reference), 68 if deltas else 34)
    assert ours.flags.c_contiguous and ours.dtype == np.float64
    _assert_close(ours, reference, names, 1e-9)


@pytest.mark.parametrize("deltas", [False, True], ids=["34", "68"])
@pytest.mark.parametrize("window_s,step_s", WINDOWS, ids=["20-10ms", "100-100ms"])
@pytest.mark.parametrize("sampling_rate", RATES)
def test_matches_pyaudioanalysis_with_digital_silence(sampling_rate, window_s, step_s, deltas):
    signal = _signal(sampling_rate, digital_silence=True)
    window, step = _samples(sampling_rate, window_s, step_s)
    assert np.count_nonzero(signal[: int(0.25 * sampling_rate)]) == 0  # whole frames of exact zeros
    reference, names = _reference(signal, sampling_rate, window, step, deltas)
    ours = pyaa34.short_term_features(signal, sampling_rate, window, step, deltas=deltas)
    _assert_close(ours, reference, names, 1e-6)


@pytest.mark.parametrize(
    "window,step", [(320, 160), (441, 220), (331, 97), (500, 250), (999, 1000), (2000, 333), (210, 7)]
)
def test_other_windows_across_chunk_boundaries(monkeypatch, window, step):
    """Sub-blocks, summation cells and tail samples other than the papers'; tiny chunks of frames put
    a chunk boundary every few frames (the 60 s benchmark has about 15)."""
    monkeypatch.setattr(pyaa34, "_CHUNK_SAMPLES", 3000)
    signal = speech_like(1.5, 16000, seed=3)
    reference, names = _reference(signal, 16000, window, step, True)
    _assert_close(
        pyaa34.short_term_features(signal, 16000, window, step, deltas=True), reference, names, 1e-9
    )


@pytest.mark.parametrize("freq,window", [(440.0, 1600), (1000.0, 320), (500.0, 441)])
def test_tone_periodic_in_the_frame(freq, window):
    """Most bins are exactly 0 in exact arithmetic, so log10(X·F + eps) sees the FFT's rounding noise."""
    sampling_rate = 16000
    t = np.arange(sampling_rate) / sampling_rate
    signal = np.round(10000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    reference, names = _reference(signal, sampling_rate, window, window // 2, False)
    ours = pyaa34.short_term_features(signal, sampling_rate, window, window // 2)
    _assert_close(ours, reference, names, 1e-9)


@pytest.mark.parametrize("n_samples", [320, 479, 480, 1600])
def test_one_and_two_frames(n_samples):
    signal = _signal(16000, digital_silence=False)[8000 : 8000 + n_samples]
    reference, names = _reference(signal, 16000, 320, 160, True)
    ours = pyaa34.short_term_features(signal, 16000, 320, 160, deltas=True)
    assert len(ours) == (n_samples - 320) // 160 + 1
    _assert_close(ours, reference, names, 1e-9)


def test_all_zero_signal_and_exact_zero_samples():
    sampling_rate, window, step = 16000, 320, 160
    zeros = np.zeros(4000, dtype=np.int16)
    reference, names = _reference(zeros, sampling_rate, window, step, False)
    _assert_close(pyaa34.short_term_features(zeros, sampling_rate, window, step), reference, names, 1e-9)
    # samples equal to the (integer) mean become exact zeros: zcr then counts half crossings
    steps = np.tile(np.array([3, 0, -3, 0], dtype=np.int16), 1000)
    reference, names = _reference(steps, sampling_rate, window, step, False)
    ours = pyaa34.short_term_features(steps, sampling_rate, window, step)
    _assert_close(ours, reference, names, 1e-9)
    assert ours[0, 0] == pytest.approx(0.5)  # + → 0 → − → 0: every difference is a half crossing


def test_float_input_gives_the_same_features():
    """Float input on the int16 scale takes the general path; it must agree with the int16 fast path."""
    signal = _signal(16000, digital_silence=True)
    fast = pyaa34.short_term_features(signal, 16000, 320, 160)
    general = pyaa34.short_term_features(signal.astype(np.float64), 16000, 320, 160)
    np.testing.assert_allclose(general, fast, rtol=0, atol=1e-12)


def test_read_audio_file_scale(tmp_path):
    """soundfile floats → to_read_audio_file_scale equals what scipy's wavfile (read_audio_file) returns."""
    signal = _signal(16000, digital_silence=False)[:16000]
    path = tmp_path / "a.wav"
    soundfile.write(path, signal, 16000, subtype="PCM_16")
    _, as_pyaa_reads = scipy.io.wavfile.read(path)
    floats, _ = soundfile.read(path, dtype="float64")
    converted = pyaa34.to_read_audio_file_scale(floats, soundfile.info(path).subtype)
    assert converted.dtype == np.int16
    np.testing.assert_array_equal(converted, as_pyaa_reads)
    reference, names = _reference(as_pyaa_reads, 16000, 320, 160, False)
    _assert_close(pyaa34.short_term_features(converted, 16000, 320, 160), reference, names, 1e-9)
    # a float signal in [-1, 1] is not equivalent: pyAudioAnalysis's 1e-10 then weighs 2**15 times more
    off_scale = pyaa34.short_term_features(floats, 16000, 320, 160)
    assert np.abs(off_scale - reference).max() > 1e-9


def test_reference_backend_returns_the_same_layout():
    signal = _signal(16000, digital_silence=False)[:8000]
    via_pyaa = pyaa34.short_term_features_reference(signal, 16000, 320, 160, deltas=True)
    ours = pyaa34.short_term_features(signal, 16000, 320, 160, deltas=True)
    assert via_pyaa.shape == ours.shape and via_pyaa.flags.c_contiguous
    np.testing.assert_allclose(ours, via_pyaa, rtol=0, atol=1e-9)


def test_reference_backend_without_pyaudioanalysis(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyAudioAnalysis", None)  # import fails as if not installed
    with pytest.raises(SerkitError, match="needs pyAudioAnalysis 0.3.14") as error:
        pyaa34.short_term_features_reference(np.zeros(4000, dtype=np.int16), 16000, 320, 160)
    assert "pip install" in str(error.value)


@pytest.mark.parametrize("sampling_rate,least", [(16000, 198), (22050, 210), (8000, 174)])
def test_windows_pyaudioanalysis_crashes_on_raise_serkit_error(sampling_rate, least):
    signal = _signal(16000, digital_silence=False)[:4000]
    assert pyaa34.minimum_window(sampling_rate) == least
    # the condition is pyAudioAnalysis's own: it crashes one sample below and runs at the minimum
    with pytest.raises((IndexError, ValueError)):
        ShortTermFeatures.feature_extraction(signal, sampling_rate, least - 1, least - 1, deltas=False)
    ShortTermFeatures.feature_extraction(signal, sampling_rate, least, least, deltas=False)
    with pytest.raises(SerkitError, match=f"at least {least} samples") as error:
        pyaa34.short_term_features(signal, sampling_rate, least - 1, 80)
    assert f"{least - 1} samples" in str(error.value)
    with pytest.raises(SerkitError):
        pyaa34.short_term_features_reference(signal, sampling_rate, least - 1, 80)
    assert pyaa34.short_term_features(signal, sampling_rate, least, 80).shape[1] == 34


def test_low_sampling_rate_and_short_signal_raise_serkit_error():
    signal = _signal(16000, digital_silence=False)[:8000]
    with pytest.raises(IndexError):  # pyAudioAnalysis's MFCC bank indexes past the spectrum
        ShortTermFeatures.feature_extraction(signal, 6000, 600, 600, deltas=False)
    with pytest.raises(SerkitError, match="sampling rate 6000 Hz is too low"):
        pyaa34.short_term_features(signal, 6000, 600, 600)
    with pytest.raises(SerkitError, match="shorter than one pyaa34 window"):
        pyaa34.short_term_features(signal[:300], 16000, 320, 160)
    with pytest.raises(SerkitError, match="step"):
        pyaa34.short_term_features(signal, 16000, 320, 0)
    with pytest.raises(SerkitError, match="flavor"):
        pyaa34.short_term_features(signal, 16000, 320, 160, flavor="fixed")
    with pytest.raises(SerkitError, match="mono"):
        pyaa34.short_term_features(np.stack([signal, signal], axis=1), 16000, 320, 160)
    column = pyaa34.short_term_features(signal[:, None], 16000, 320, 160)  # one channel, 2-D
    np.testing.assert_array_equal(column, pyaa34.short_term_features(signal, 16000, 320, 160))


def test_corrected_flavor_differs_in_exactly_the_documented_rows():
    signal = _signal(16000, digital_silence=False)
    faithful = pyaa34.short_term_features(signal, 16000, 320, 160)
    corrected = pyaa34.short_term_features(signal, 16000, 320, 160, flavor="corrected")
    np.testing.assert_array_equal(corrected[:, :3], faithful[:, :3])  # zcr, energy, energy entropy
    changed = np.abs(corrected - faithful).max(axis=0)
    assert (changed[3:] > 1e-3).all(), [pyaa34.FEATURE_NAMES[i] for i in np.nonzero(changed <= 1e-3)[0]]


def test_corrected_chroma_sums_each_class():
    sampling_rate = 16000
    t = np.arange(sampling_rate) / sampling_rate
    tone = np.round(10000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    faithful = pyaa34.short_term_features(tone, sampling_rate, 1600, 1600)
    corrected = pyaa34.short_term_features(tone, sampling_rate, 1600, 1600, flavor="corrected")
    a = pyaa34.FEATURE_NAMES.index("chroma_1")
    assert faithful[:, a] == pytest.approx(1 / 3, abs=1e-3)  # the bin count divides, as in pyAudioAnalysis
    assert (corrected[:, a] > 0.85).all()  # the A class holds most of a 440 Hz tone's power
    assert corrected[:, a : a + 12].sum(axis=1) == pytest.approx(1.0)  # every bin counted once


def test_corrected_mfcc_bank_sits_on_the_true_frequencies():
    sampling_rate, window = 16000, 1600
    bin_hz = sampling_rate / window
    nominal_centre = 133.33 + 10 * 200 / 3  # filter 10 (0-based): 800 Hz
    faithful = pyaa34.mfcc_filterbank(sampling_rate, window, "pyaa")
    corrected = pyaa34.mfcc_filterbank(sampling_rate, window, "corrected")
    assert faithful.shape == corrected.shape == (40, window // 2)
    assert faithful[9].argmax() * bin_hz == pytest.approx(nominal_centre / 2, abs=bin_hz)
    assert corrected[9].argmax() * bin_hz == pytest.approx(nominal_centre, abs=bin_hz)


def test_names_params_and_window_rounding():
    assert pyaa34.feature_names()[:3] == ["zcr", "energy", "energy_entropy"]
    assert pyaa34.feature_names(True)[34] == "delta zcr" and len(pyaa34.feature_names(True)) == 68
    assert pyaa34.seconds_to_samples(0.01, 22050) == 220  # round() as pyAudioAnalysis's callers do
    assert pyaa34.seconds_to_samples(0.1, 22050) == 2205
    record = pyaa34.params(16000, 320, 160, deltas=True)
    assert record["frame_shift_s"] == 0.01 and record["frame_length_s"] == 0.02 and record["dims"] == 68
    assert record["flavor"] == "pyaa" and record["pyaudioanalysis_version"] == "0.3.14"
