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
otherwise; ``quantize`` None (the default) means int8 on ONNX Runtime (about
twice as fast again) scored by heads trained on int8 embeddings. Heads always
match the embeddings they read: an encoder variant the artifact has no heads for
(another onnxruntime's int8 graph, torch int8) falls back to fp32, with a
warning; either runs with ``threads`` intra-op threads (1 by default: on two
cores shared with the event loop, two torch threads spin against it and were
about half as fast); the tokenizer stops at ``max_tokens`` and never past the
length the heads were trained on (64 tokens: longer input would be read in a
way the heads never saw, and costs more); batches are padded per length-sorted
chunk (``BaseEncoder.embed``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from safestream.moderation import encoder_onnx, heads_probe
from safestream.moderation.contract import ExecutorScorer, ModelLoadError, Scores
from safestream.moderation.encoder import BaseEncoder, shared_encoder
from safestream.moderation.heads import DEFAULT_ARTIFACT, Heads, load_artifact

log = logging.getLogger(__name__)


class SentenceScorer(ExecutorScorer):
    name = "sentence"
    labels = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")

    def __init__(
        self,
        artifact: str = "",
        *,
        quantize: bool | None = None,
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
        #: The last probe check's largest score difference (None: heads without a probe).
        self.probe_drift: float | None = None

    @property
    def runtime(self) -> str:
        """``torch`` or ``onnx`` once loaded (``auto`` resolved), else the runtime asked for."""
        return self._encoder.runtime if self._encoder is not None else self._runtime

    def load_sync(self) -> None:
        runtime = encoder_onnx.resolve_runtime(self._runtime)
        # quantize None ("auto"): int8 on ONNX Runtime, where it has heads of its own; torch's
        # int8 has none (and is slower than ONNX fp32), so auto keeps torch on fp32.
        int8 = runtime == "onnx" if self._quantize is None else self._quantize
        threads = max(self._threads, 1)
        stored = load_artifact(self._artifact)
        # The encoder runs as deep as the heads were trained (every variant in a file shares it).
        layers = next(iter(stored.values())).layers
        encoder = None
        if int8 and f"{runtime}-int8" not in stored:
            self._fall_back(f"{runtime}-int8", "none trained on them at all")
        elif int8:
            encoder = shared_encoder(int8=True, runtime=runtime, threads=threads, layers=layers)
        heads = self._heads_for(encoder) if encoder is not None else None
        if encoder is not None and heads is None:
            self._fall_back(
                encoder.variant, f"none trained on the int8 graph {(encoder.graph_sha256 or '?')[:12]} here"
            )
        elif encoder is not None and heads is not None and not self._probe_holds(heads, encoder):
            self._fall_back(encoder.variant, "this CPU's int8 vectors are not the ones they were trained on")
            heads = None
        if heads is None or encoder is None:
            encoder = shared_encoder(int8=False, runtime=runtime, threads=threads, layers=layers)
            heads = Heads.load(self._artifact, encoder_sha256=encoder.checksum)
            self._probe_holds(heads, encoder)  # nothing to fall back to: the warning says it
        found = (heads.variant, heads.graph_sha256, heads.layers)
        if found != (encoder.variant, encoder.graph_sha256, encoder.layers):
            raise ModelLoadError(
                f"heads for {heads.variant} embeddings of {heads.layers} layers cannot score "
                f"{encoder.variant} ones of {encoder.layers}"
            )
        if encoder.runtime == "torch" and self._threads > 0:
            import torch

            torch.set_num_threads(self._threads)  # process-wide, like the other torch backends
        self._heads = heads
        self._max_tokens = min(self._max_tokens, heads.max_tokens)
        self._encoder = encoder
        log.info(
            "sentence stage: %s encoder (%d layers) on %s, %s heads, %d thread(s), %d tokens",
            "int8" if encoder.int8 else "fp32",
            encoder.layers,
            encoder.runtime,
            heads.variant,
            threads,
            self._max_tokens,
        )

    def _probe_holds(self, heads: Heads, encoder: BaseEncoder) -> bool:
        """Whether this CPU scores the probe sentences as the training CPU did (``heads_probe``)."""
        moved = heads_probe.drift(heads, encoder)
        self.probe_drift = moved
        if moved is None or moved <= heads_probe.TOLERANCE:
            return True
        log.warning(
            "%s: the %s heads score the probe sentences up to %.3f from what they scored when trained "
            "(tolerance %.2f): this CPU's vectors differ; retrain here with `safestream train-moderation`",
            self._artifact,
            heads.variant,
            moved,
            heads_probe.TOLERANCE,
        )
        return False

    def _fall_back(self, variant: str, why: str) -> None:
        log.warning(
            "%s: no heads fit for %s embeddings (%s): the sentence stage scores fp32 embeddings instead, "
            "about half as fast (`safestream train-moderation` trains both)",
            self._artifact,
            variant,
            why,
        )

    def _heads_for(self, encoder: BaseEncoder) -> Heads | None:
        """Heads fit on exactly this encoder's embeddings (variant and graph), or None; other weights raise."""
        heads = load_artifact(self._artifact, encoder_sha256=encoder.checksum).get(encoder.variant)
        return heads if heads is not None and heads.graph_sha256 == encoder.graph_sha256 else None

    @property
    def batch_hint(self) -> int:
        # int8 rows run alone (``BaseEncoder.rows_alone``), and fp32 gained nothing past 8 here.
        if self._encoder is None or self._encoder.rows_alone:
            return 1
        return 8

    @property
    def variant(self) -> str:
        """The embeddings scored once loaded (``fp32``, ``onnx-int8``): the heads always match them."""
        if self._heads is None:
            raise RuntimeError("the sentence stage is not loaded")
        return self._heads.variant

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        if self._encoder is None or self._heads is None:
            raise RuntimeError("the sentence stage is not loaded")
        return self._heads.scores(self._encoder.embed(texts, max_tokens=self._max_tokens))
