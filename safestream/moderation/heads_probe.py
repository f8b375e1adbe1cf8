"""A few fixed sentences whose scores the artifact keeps per variant, checked at start-up.

Why: heads are only right for the vectors they were trained on, and the last
bits of a vector depend on the CPU's kernels. For fp32 that is ~1e-7 and harmless;
int8 was worse: before its weights became 7-bit (``encoder_onnx.export_int8``),
heads trained on a VNNI CPU scored up to 0.23 differently on a CPU without it,
with nothing to say so. ``safestream train-moderation`` stores each variant's
scores of these sentences (``meta["probe"]``); at start-up the sentence stage
scores them again, and a variant that has moved more than ``TOLERANCE`` is
reported, and for int8 replaced by fp32 (``backends/sentence.py``).

The sentences cover the labels (insult, threat, identity attack, profanity) and
clean chat, so a shift in any head shows. They are ours, written for this.
"""

from __future__ import annotations

import math

import numpy as np

from safestream.moderation.encoder import BaseEncoder
from safestream.moderation.heads import Heads

PROBE_TEXTS = (
    "gg wp that clutch was insane",
    "what time does the stream start tomorrow",
    "you are a worthless idiot and everyone hates you",
    "i will find where you live and hurt you",
    "those people are animals and should not be allowed to vote",
    "holy shit that was a fucking great play",
    "women are too emotional to lead anything",
    "thanks for the raid, welcome everyone",
    "shut up you clown nobody asked",
    "saying that immigrants are vermin is hateful and wrong",
)
#: The largest per-label score difference taken as "the same vectors": a verdict
#: moves only when a score crosses a threshold, and CPU noise in fp32 is ~1e-6.
TOLERANCE = 0.02


def probe_scores(heads: Heads, encoder: BaseEncoder) -> list[list[float]]:
    """The heads' probabilities of ``PROBE_TEXTS`` on this encoder, as the artifact stores them."""
    probs = heads.probabilities(encoder.embed(list(PROBE_TEXTS), max_tokens=heads.max_tokens))
    return [[round(float(p), 6) for p in row] for row in probs]


def drift(heads: Heads, encoder: BaseEncoder) -> float | None:
    """Largest |score now - score at training| over the probe, or None for heads without one."""
    stored = heads.meta.get("probe")
    if stored is None:
        return None
    reference = np.asarray(stored, dtype=np.float64)
    now = np.asarray(probe_scores(heads, encoder), dtype=np.float64)
    if reference.shape != now.shape:
        return math.inf
    return float(np.abs(now - reference).max())
