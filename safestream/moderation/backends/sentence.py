"""``sentence``: a contextual encoder plus trained heads, fully offline.

The encoder (``safestream.moderation.encoder``) turns each normalized message
into a sentence embedding; the committed heads (``heads.py``,
``models/sentence_heads.json``, trained by ``safestream train-moderation``)
turn it into calibrated per-category probabilities. Unlike word lists and the
TF-IDF model, it reads the sentence: "women are too emotional to lead" is an
identity attack with no bad word in it, and "that play was sick" is praise.

``sentence:/path/heads.json`` loads other heads (e.g. freshly trained ones).

Speed choices (measured with ``load/bench_sentence.py``, see load/README.md):
``runtime`` ``auto`` runs the encoder on ONNX Runtime when it is installed
(``encoder_onnx``: about twice as fast as torch here, same vectors) and on torch
otherwise; either runs with ``threads`` intra-op threads (1 by default: on two
cores shared with the event loop, two torch threads spin against it and were
about half as fast); the tokenizer stops at ``max_tokens`` and never past the
length the heads were trained on (64 tokens: longer input would be read in a
way the heads never saw, and costs more); batches are padded per length-sorted
chunk (``BaseEncoder.embed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from safestream.moderation.contract import ExecutorScorer, Scores
from safestream.moderation.encoder import BaseEncoder, shared_encoder
from safestream.moderation.heads import DEFAULT_ARTIFACT, Heads


class SentenceScorer(ExecutorScorer):
    name = "sentence"
    labels = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")

    def __init__(
        self,
        artifact: str = "",
        *,
        quantize: bool = False,
        max_tokens: int = 128,
        threads: int = 1,
        runtime: str = "auto",
    ) -> None:
        super().__init__()
        self._artifact = Path(artifact) if artifact else DEFAULT_ARTIFACT
        self._quantize = quantize
        self._max_tokens = max_tokens
        self._threads = threads
        self._runtime = runtime
        self._encoder: BaseEncoder | None = None
        self._heads: Heads | None = None

    @property
    def runtime(self) -> str:
        """``torch`` or ``onnx`` once loaded (``auto`` resolved), else the runtime asked for."""
        return self._encoder.runtime if self._encoder is not None else self._runtime

    def load_sync(self) -> None:
        encoder = shared_encoder(int8=self._quantize, runtime=self._runtime, threads=max(self._threads, 1))
        if encoder.runtime == "torch" and self._threads > 0:
            import torch

            torch.set_num_threads(self._threads)  # process-wide, like the other torch backends
        self._heads = Heads.load(self._artifact, encoder_sha256=encoder.checksum)
        self._max_tokens = min(self._max_tokens, self._heads.max_tokens)
        self._encoder = encoder

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        if self._encoder is None or self._heads is None:
            raise RuntimeError("the sentence stage is not loaded")
        return self._heads.scores(self._encoder.embed(texts, max_tokens=self._max_tokens))
