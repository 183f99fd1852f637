"""Text: transcript normalisation, pocketsphinx ASR and forced alignment, word error rate."""
