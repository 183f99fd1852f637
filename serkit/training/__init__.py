"""Training: datasets and collation from the store (``data``), losses, configs, the trainer, DDP helpers."""
