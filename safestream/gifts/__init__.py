"""Simulated gifts: the producer task and the gift API."""
