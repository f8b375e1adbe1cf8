"""Scoring backends. Each is imported lazily by ``moderation.registry``."""
