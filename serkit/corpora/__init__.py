"""Corpus readers (IEMOCAP, CMU-MOSEI, SEWA) and the synthetic mini corpus generator."""
