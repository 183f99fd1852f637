"""Feature extractors: pure NumPy functions from a signal to a frames × dims array.

- :mod:`serkit.features.pyaa34` — the 34 short-term features of pyAudioAnalysis 0.3.14.
- :mod:`serkit.features.spectrogram` — the 200 × 400 log spectrogram of the CMU-MOSEI paper (003).
- :mod:`serkit.features.waveform` — raw 100 ms waveform frames on the label grid (SEWA paper 001).
- :mod:`serkit.features.word_mfcc` — 13-d MFCC cut per word (Speech2Vec input, ``methods.md`` §C).

Every module has a ``params(...) -> dict`` recording all its parameters for the feature store.
"""
