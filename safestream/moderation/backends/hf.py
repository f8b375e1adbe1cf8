"""Any local Hugging Face text-classification model as a scoring backend.

Operators bring their own fine-tuned classifier (a ``save_pretrained``
directory); this backend runs it through ``transformers.pipeline`` and maps its
label names onto our six. Hub models are not downloaded here: the model must
already be on disk, which also keeps server start-up independent of the network.

Label mapping, unless ``label_map`` gives it explicitly:
  * a label equal to one of ours, or a known alias of one, maps onto it;
  * in a two-label model with one "negative" label (non-toxic, neutral,
    LABEL_0, ...) the other label's probability is ``toxicity``;
  * in a softmax model with three or more labels, one of them negative,
    ``toxicity`` is 1 - P(negative): e.g. hate / offensive / neither.
Several model labels landing on one of ours combine by maximum.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from safestream.moderation.contract import (
    LABELS,
    BackendUnavailable,
    ExecutorScorer,
    ModelLoadError,
    Scores,
)

_ALIASES: Mapping[str, str] = {
    alias: label
    for label, aliases in {
        "toxicity": ("toxic", "offensive", "offensive_language", "abusive", "abuse", "harmful", "inappropriate"),
        "severe_toxicity": ("severe_toxic", "very_toxic", "severe"),
        "obscene": ("profanity", "profane", "vulgar", "obscenity"),
        "threat": ("threatening", "violence", "violent"),
        "insult": ("insulting", "harassment"),
        "identity_attack": ("identity_hate", "hate", "hate_speech", "hateful"),
    }.items()
    for alias in (label, *aliases)
}
#: The "nothing wrong" class of binary / multi-class moderation models.
_NEGATIVE = frozenset(
    {
        "non_toxic",
        "nontoxic",
        "not_toxic",
        "neutral",
        "normal",
        "clean",
        "safe",
        "label_0",
        "not_offensive",
        "non_offensive",
        "nothate",
        "not_hate",
        "non_hate",
        "neither",
        "none",
        "ok",
        "acceptable",
    }
)  # not "negative": in a sentiment model that would make "positive" toxic
PROBE_SENTENCE = "hello my friend, thanks for the great stream and have a nice day"


def _norm(label: str) -> str:
    return re.sub(r"[\s\-]+", "_", label.strip().lower())


def resolve_labels(
    model_labels: Sequence[str],
    *,
    softmax: bool,
    label_map: Mapping[str, str] | None = None,
) -> tuple[dict[str, tuple[str, ...]], str | None]:
    """Return ({model label: our labels}, negative label whose complement is toxicity)."""
    if label_map is not None:
        wanted = {_norm(k): v for k, v in label_map.items()}
        mapping: dict[str, tuple[str, ...]] = {m: (wanted[_norm(m)],) for m in model_labels if _norm(m) in wanted}
        unknown = set(wanted) - {_norm(m) for m in model_labels}
        if unknown:
            raise ModelLoadError(
                f"label_map names labels the model lacks: {sorted(unknown)}; the model has {list(model_labels)}"
            )
        return mapping, None
    mapping = {m: (_ALIASES[_norm(m)],) for m in model_labels if _norm(m) in _ALIASES}
    negatives = [m for m in model_labels if _norm(m) in _NEGATIVE]
    complement: str | None = None
    if len(negatives) == 1 and len(model_labels) == 2:
        positive = next(m for m in model_labels if m != negatives[0])
        # The positive class of a binary moderation model is "toxic" whatever it is
        # called (LABEL_1, offensive, hate): keep its specific alias as well.
        mapping[positive] = tuple(dict.fromkeys(("toxicity", *mapping.get(positive, ()))))
    elif len(negatives) == 1 and len(model_labels) > 2 and softmax:
        # Mutually exclusive classes split toxic mass across themselves; only
        # "not the negative class" measures toxicity as a whole.
        complement = negatives[0]
    return mapping, complement


class HFClassifierScorer(ExecutorScorer):
    """A local text-classification model run through ``transformers.pipeline``."""

    name: ClassVar[str] = "hf"

    def __init__(
        self,
        model_dir: str | Path,
        *,
        label_map: Mapping[str, str] | None = None,
        max_tokens: int = 128,
        device: str = "cpu",
        threads: int = 2,
        function_to_apply: str | None = None,
        batch_size: int = 32,
    ) -> None:
        if label_map is not None and (bad := sorted(set(label_map.values()) - set(LABELS))):
            raise ValueError(f"label_map targets {bad} are not among {LABELS}")
        if function_to_apply not in (None, "sigmoid", "softmax"):
            # Raw logits ("none") are not probabilities and would break every threshold.
            raise ValueError("function_to_apply must be None, 'sigmoid' or 'softmax'")
        super().__init__()
        self.model_dir = Path(model_dir).expanduser()
        self.label_map = dict(label_map) if label_map is not None else None
        self.max_tokens = max_tokens
        self.device = device
        self.threads = threads
        self.function_to_apply = function_to_apply
        self.batch_size = batch_size
        self.filled_labels: tuple[str, ...] = ()
        self._pipe: Any = None
        self._mapping: dict[str, tuple[str, ...]] = {}
        self._complement: str | None = None

    def load_sync(self) -> None:
        if not (self.model_dir / "config.json").is_file():
            raise BackendUnavailable(
                f"hf backend: {self.model_dir} is not a model directory (no config.json); "
                "save one with model.save_pretrained(dir) and tokenizer.save_pretrained(dir)"
            )
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise BackendUnavailable(f"the hf backend needs torch and transformers ({exc})") from exc
        if self.threads > 0:
            torch.set_num_threads(self.threads)  # process-wide; leaves cores for the event loop
        try:
            pipe = transformers.pipeline(
                "text-classification",
                model=str(self.model_dir),
                tokenizer=str(self.model_dir),
                top_k=None,
                truncation=True,
                max_length=self.max_tokens,
                device=self.device,
            )
        except OSError as exc:  # missing weights or tokenizer files
            raise BackendUnavailable(f"hf backend: cannot load {self.model_dir}: {exc}") from exc
        except (ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(f"hf backend: {self.model_dir} is not a usable classifier: {exc}") from exc
        _check_tokenizer(pipe.tokenizer, self.model_dir)

        config = pipe.model.config
        id2label: dict[Any, str] = dict(config.id2label or {})
        model_labels = [str(id2label[i]) for i in sorted(id2label, key=int)]
        softmax = self.function_to_apply == "softmax" or (
            self.function_to_apply is None
            and len(model_labels) > 1
            and config.problem_type not in ("multi_label_classification", "regression")
        )
        self._mapping, self._complement = resolve_labels(model_labels, softmax=softmax, label_map=self.label_map)
        filled = {label for labels in self._mapping.values() for label in labels}
        if self._complement is not None:
            filled.add("toxicity")
        if not filled:
            raise ModelLoadError(
                f"hf backend: none of the model's labels {model_labels} maps to ours {LABELS}; "
                "pass label_map={'<model label>': '<our label>', ...}"
            )
        self.filled_labels = tuple(label for label in LABELS if label in filled)
        self._pipe = pipe

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        if self._pipe is None:
            raise RuntimeError("HFClassifierScorer.predict called before load()")
        kwargs: dict[str, Any] = {"batch_size": min(self.batch_size, len(texts))}
        if self.function_to_apply is not None:
            kwargs["function_to_apply"] = self.function_to_apply
        results = self._pipe(list(texts), **kwargs)
        out: list[Scores] = []
        for row in results:
            probs = {item["label"]: float(item["score"]) for item in row}
            scores: Scores = {}
            for model_label, ours in self._mapping.items():
                for label in ours:
                    scores[label] = max(scores.get(label, 0.0), probs[model_label])
            if self._complement is not None:
                scores["toxicity"] = max(scores.get("toxicity", 0.0), 1.0 - probs[self._complement])
            out.append(scores)
        return out


def _check_tokenizer(tokenizer: Any, model_dir: Path) -> None:
    """Refuse a tokenizer that turns common words into [UNK]: the model would see nothing."""
    try:
        ids: list[int] = tokenizer(PROBE_SENTENCE, add_special_tokens=False)["input_ids"]
    except Exception as exc:  # the Rust tokenizers raise a plain Exception
        raise ModelLoadError(f"hf backend: {model_dir}: the tokenizer cannot tokenize: {exc}") from exc
    unk = tokenizer.unk_token_id
    if not ids or (unk is not None and ids.count(unk) > len(ids) // 2):
        raise ModelLoadError(
            f"hf backend: {model_dir}: the tokenizer's vocabulary is missing or "
            "degenerate (a common-word probe became mostly unknown tokens)"
        )
