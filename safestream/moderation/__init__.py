"""Moderation: plug-in scorers, the batched engine and per-stream policy."""
