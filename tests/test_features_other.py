"""Spectrogram (paper 003), waveform frames (paper 001) and word-segment MFCC (Speech2Vec input)."""

from __future__ import annotations

import numpy as np
import pytest

from serkit.features import spectrogram, waveform, word_mfcc


def _tone(freq: float, seconds: float, sampling_rate: int, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(int(seconds * sampling_rate)) / sampling_rate)


# --- spectrogram -----------------------------------------------------------------------------------


def test_spectrogram_fixed_shape_crop_and_pad():
    long = _tone(1000.0, 12.0, 8000)  # 12 s > 10.05 s: cropped
    image = spectrogram.log_spectrogram(long, 8000)
    assert image.shape == (200, 400) and image.dtype == np.float32
    full = spectrogram.log_spectrogram(long, 8000, frames=None)
    assert full.shape == (1 + (len(long) - 800) // 400, 400)
    np.testing.assert_array_equal(image, full[:200])  # the first frames are kept

    short = _tone(1000.0, 1.0, 8000)  # 19 frames, then floor-valued padding
    padded = spectrogram.log_spectrogram(short, 8000)
    assert padded.shape == (200, 400)
    assert (padded[19:] == -100.0).all() and (padded[:19].max(axis=1) > -20).all()
    tiny = spectrogram.log_spectrogram(short[:100], 8000)  # shorter than one window
    assert tiny.shape == (200, 400) and (tiny[1:] == -100.0).all()


@pytest.mark.parametrize("sampling_rate", [8000, 16000, 44100])
def test_spectrogram_frequency_axis_and_level(sampling_rate):
    image = spectrogram.log_spectrogram(_tone(1000.0, 2.0, sampling_rate, amplitude=1.0), sampling_rate)
    assert (image[:30].argmax(axis=1) == 100).all()  # 1000 Hz / 10 Hz bins, resampled to 8 kHz
    # a full-scale sine through a Hamming window: |X| = 0.54 · 800 / 2 at its bin
    assert image[5, 100] == pytest.approx(20 * np.log10(0.54 * 400), abs=0.1)
    assert spectrogram.feature_names()[100] == "1000Hz"
    assert spectrogram.params()["hop_length"] == 400 and spectrogram.params()["dims"] == 400


# --- waveform --------------------------------------------------------------------------------------


def test_waveform_frames_sit_on_the_label_grid():
    rate = waveform.SAMPLING_RATE
    signal = np.zeros(int(2.53 * rate))  # 25 full frames and a partial one
    signal[3 * 2205 + 5] = 1.0  # in [0.3, 0.4) s
    signal[-1] = -1.0  # the last sample, in the zero-padded partial frame
    frames = waveform.waveform_frames(signal, rate)
    assert frames.shape == (26, 2205) and frames.dtype == np.float32
    assert frames[3, 5] == 1.0 and np.count_nonzero(frames[3]) == 1
    last = len(signal) - 25 * 2205 - 1
    assert frames[25, last] == -1.0 and not frames[25, last + 1 :].any()
    np.testing.assert_array_equal(frames.reshape(-1)[: len(signal)], signal.astype(np.float32))


def test_waveform_frame_count_follows_the_labels():
    rate = waveform.SAMPLING_RATE
    signal = np.ones(10 * 2205)
    assert waveform.waveform_frames(signal, rate).shape == (10, 2205)  # no extra all-zero frame
    more = waveform.waveform_frames(signal, rate, n_frames=12)
    assert more.shape == (12, 2205) and more[:10].all() and not more[10:].any()
    assert waveform.waveform_frames(signal, rate, n_frames=4).shape == (4, 2205)
    assert waveform.frame_count(2205) == 1 and waveform.frame_count(2206) == 2


def test_waveform_resamples_to_22050():
    signal = _tone(440.0, 1.0, 44100)
    frames = waveform.waveform_frames(signal, 44100)
    assert frames.shape == (10, 2205)
    spectrum = np.abs(np.fft.rfft(frames[5]))
    assert spectrum.argmax() == pytest.approx(44, abs=1)  # 440 Hz in 10 Hz bins of 100 ms
    assert waveform.params()["frame_length"] == 2205


# --- word-segment MFCC -----------------------------------------------------------------------------


def test_utterance_mfcc_shape_and_rate():
    rng = np.random.default_rng(0)
    mfcc = word_mfcc.utterance_mfcc(0.1 * rng.standard_normal(32000), 16000)
    assert mfcc.shape == (1 + 32000 // 160, 13) and mfcc.dtype == np.float32
    resampled = word_mfcc.utterance_mfcc(0.1 * rng.standard_normal(44100), 44100)
    assert resampled.shape == (1 + 16000 // 160, 13)
    assert word_mfcc.feature_names()[0] == "mfcc_0" and word_mfcc.params()["hop_length"] == 160
    # shorter than the FFT: same frames as the signal followed by silence
    short = 0.1 * rng.standard_normal(300)
    padded = np.concatenate([short, np.zeros(700)])
    np.testing.assert_array_equal(
        word_mfcc.utterance_mfcc(short, 16000), word_mfcc.utterance_mfcc(padded, 16000)[:2]
    )


def test_word_boundaries_in_frames():
    words = [("the", 0.07, 0.12), ("cat", 1.23, 1.5), ("sat", 1.5, 1.503), ("mat", 2.98, 3.4)]
    spans = word_mfcc.word_frame_spans(words, n_frames=301)
    # frames whose centres t·10 ms lie in [start, end); 0.07 s is frame 7 although 0.07*100 = 7.000…01
    assert spans.tolist() == [[7, 12], [123, 150], [150, 151], [298, 301]]
    with pytest.raises(ValueError):
        word_mfcc.word_frame_spans([("x", 1.0, 0.5)], 100)


def test_word_cuts_follow_the_audio():
    """A tone burst inside one word: only that word's frames see it."""
    rate = 16000
    signal = 1e-3 * np.random.default_rng(1).standard_normal(2 * rate)
    signal[int(0.8 * rate) : int(1.2 * rate)] += _tone(1000.0, 0.4, rate)
    mfcc = word_mfcc.utterance_mfcc(signal, rate)
    words = [("quiet", 0.2, 0.6), ("loud", 0.85, 1.15), ("quiet", 1.4, 1.8)]
    cuts = word_mfcc.cut_words(mfcc, words)
    assert [len(c) for c in cuts] == [40, 30, 40]
    np.testing.assert_array_equal(cuts[1], mfcc[85:115])
    assert cuts[1][:, 0].min() > cuts[0][:, 0].max() + 20  # c0 (log energy) of the tone


def test_running_stats_match_numpy_and_merge():
    rng = np.random.default_rng(2)
    batches = [1e4 + rng.standard_normal((n, 13)) * np.arange(1, 14) for n in (1, 57, 300, 0, 1000)]
    everything = np.concatenate(batches)
    stats = word_mfcc.RunningStats()
    for batch in batches:
        stats.update(batch)
    assert stats.count == len(everything)
    np.testing.assert_allclose(stats.mean, everything.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(stats.variance, everything.var(axis=0), rtol=1e-10)

    first, second = word_mfcc.RunningStats(), word_mfcc.RunningStats()
    for batch in batches[:2]:
        first.update(batch)
    for batch in batches[2:]:
        second.update(batch)
    first.merge(second)
    np.testing.assert_allclose(first.variance, stats.variance, rtol=1e-12)
    again = word_mfcc.RunningStats.from_dict(first.to_dict())
    np.testing.assert_allclose(again.std, stats.std, rtol=1e-12)
    normalised = again.normalise(everything)
    np.testing.assert_allclose(normalised.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(normalised.std(axis=0), 1.0, atol=1e-3)
