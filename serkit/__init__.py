"""serkit: Kaldi-style recipes for multimodal speech emotion recognition."""

__version__ = "0.1.0"
