"""Detoxify transformer backend: the accurate, expensive second stage.

Weights are loaded through the real ``detoxify.Detoxify`` class so that both
of its routes keep working: a model name (downloaded by ``torch.hub`` plus the
base model's config and tokenizer from the Hugging Face hub, or found in
seeded ``TORCH_HOME`` / ``HF_HOME`` caches) and a local checkpoint file.

Detoxify fails *silently* in two ways, so ``load_sync`` checks both before the
scorer serves: checkpoint keys that do not match the model (transformers then
keeps random weights and every score sits near 0.5), and a tokenizer whose
vocabulary is missing (every word becomes ``[UNK]``). Either is a
``ModelLoadError``: serving such a model would approve everything.

torch, transformers and detoxify are imported inside ``load_sync`` so that a
server without the ``detoxify`` extra can still import this module.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from safestream.moderation.contract import (
    LABELS,
    BackendUnavailable,
    ExecutorScorer,
    ModelLoadError,
    Scores,
)

if TYPE_CHECKING:
    import torch

#: Detoxify's class names (both the Jigsaw 2018 and the 2019/2020 spellings) -> ours.
#: Detoxify already renames the 2018 ones; we map again so a checkpoint that
#: bypasses its renaming still lands on the right label. Others are dropped.
CLASS_ALIASES: Mapping[str, str] = {
    **{label: label for label in LABELS},
    "toxic": "toxicity",
    "severe_toxic": "severe_toxicity",
    "identity_hate": "identity_attack",
}

#: Common words: any real vocabulary tokenizes these to mostly non-[UNK] pieces.
PROBE_SENTENCE = "hello my friend, thanks for the great stream and have a nice day"
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


class DetoxifyScorer(ExecutorScorer):
    """Scores with a Detoxify model, optionally int8-quantized, on one worker thread."""

    name: ClassVar[str] = "detoxify"

    def __init__(
        self, spec: str, *, quantize: bool = False, max_tokens: int = 128, device: str = "cpu", threads: int = 2
    ) -> None:
        if max_tokens < 8:
            raise ValueError(f"max_tokens must be at least 8, got {max_tokens}")
        if quantize and device != "cpu":
            # Dynamic int8 kernels exist only for CPU.
            raise ValueError("quantize=True requires device='cpu'")
        super().__init__()
        self.spec = spec
        self.quantize = quantize
        self.max_tokens = max_tokens
        self.device = device
        self.threads = threads
        self._model: Any = None
        self._tokenizer: Any = None
        self._columns: list[tuple[int, str]] = []  # (logit index, our label)

    # -- loading ---------------------------------------------------------------

    def load_sync(self) -> None:
        try:
            import torch
            from detoxify import Detoxify
            from detoxify.detoxify import MODEL_URLS
        except ImportError as exc:
            raise BackendUnavailable(
                f"the detoxify backend needs torch, transformers and detoxify ({exc}); install safestream[detoxify]"
            ) from exc
        if self.threads > 0:
            # Process-wide: bounds the cores one inference batch may take from the event loop.
            torch.set_num_threads(self.threads)

        if self.spec in MODEL_URLS:
            checkpoint = Path(torch.hub.get_dir()) / "checkpoints" / Path(MODEL_URLS[self.spec]).name
            if not checkpoint.is_file() and any(_truthy(os.environ.get(v)) for v in _OFFLINE_VARS):
                # Offline mode declared: don't wait for a download that cannot happen.
                raise BackendUnavailable(_download_help(self.spec, checkpoint, "offline mode is set"))
            # URLError, HTTPError and the hub's "not in cache" errors are all OSErrors.
            detox = _construct(
                lambda: Detoxify(model_type=self.spec, device=self.device),
                checkpoint,
                lambda exc: _download_help(self.spec, checkpoint, str(exc)),
            )
        else:
            checkpoint = Path(self.spec).expanduser()
            if not checkpoint.is_file():
                raise BackendUnavailable(
                    f"detoxify: {self.spec!r} is neither a model name ({', '.join(MODEL_URLS)}) "
                    "nor an existing checkpoint file"
                )
            detox = _construct(
                lambda: Detoxify(checkpoint=str(checkpoint), device=self.device),
                checkpoint,
                lambda exc: (
                    f"detoxify checkpoint {checkpoint}: its base model config/tokenizer could "
                    f"not be loaded ({exc}). Point config.arch.args.model_type at a local "
                    "directory holding config.json and the tokenizer files, or seed HF_HOME."
                ),
            )

        model, tokenizer = detox.model, detox.tokenizer
        _verify_weights(model, _read_state_dict(checkpoint), checkpoint)
        _verify_tokenizer(tokenizer, model.config.vocab_size, checkpoint)
        limit = getattr(tokenizer, "model_max_length", None) or self.max_tokens
        self.max_tokens = min(self.max_tokens, int(limit))
        # Also bound Detoxify's own predict(), which truncates only to model_max_length.
        tokenizer.model_max_length = self.max_tokens
        model.eval()
        if self.quantize:
            model = _quantize_dynamic(model)
        self._columns = [(i, CLASS_ALIASES[c]) for i, c in enumerate(detox.class_names) if c in CLASS_ALIASES]
        if not self._columns:
            raise ModelLoadError(f"detoxify model {self.spec!r} has no usable classes: {detox.class_names}")
        self._model, self._tokenizer = model, tokenizer

    # -- inference ---------------------------------------------------------------

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        if self._model is None:
            raise RuntimeError("DetoxifyScorer.predict called before load()")
        import torch

        with torch.inference_mode():
            # Truncation to max_tokens is what keeps a 5,000-character message as
            # cheap as a short one: attention cost grows with sequence length.
            enc = self._tokenizer(
                list(texts), return_tensors="pt", padding=True, truncation=True, max_length=self.max_tokens
            ).to(self.device)
            logits = self._model(**enc)[0]
            probs = torch.sigmoid(logits.float()).cpu().tolist()
        return [{label: float(row[i]) for i, label in self._columns} for row in probs]


# -- load-time guards -------------------------------------------------------------


def _construct(factory: Callable[[], Any], checkpoint: Path, unavailable: Callable[[Exception], str]) -> Any:
    """Run Detoxify's constructor, sorting its failures into our two error types."""
    try:
        return factory()
    except (OSError, ImportError) as exc:  # files, network or an optional package missing
        raise BackendUnavailable(unavailable(exc)) from exc
    except Exception as exc:  # deliberately broad, see below
        # Everything else means the files exist but are wrong, and it arrives in many
        # types: ValueError/KeyError from Detoxify, RuntimeError/UnpicklingError from
        # torch.load, and a plain Exception from the Rust tokenizers for a broken vocab.
        raise ModelLoadError(f"detoxify checkpoint {checkpoint} is malformed: {exc}") from exc


def _read_state_dict(checkpoint: Path) -> Mapping[str, Any]:
    """Re-open the checkpoint Detoxify just loaded, memory-mapped when possible.

    Detoxify discards its copy, so this is the only way to compare. mmap keeps a
    400 MB checkpoint from being read into memory a second time; files in the
    legacy (non-zip) format cannot be mapped and are read normally.
    """
    import torch

    # weights_only=False: Detoxify has already unpickled this very file the same way.
    try:
        loaded = torch.load(checkpoint, map_location="cpu", weights_only=False, mmap=True)
    except RuntimeError:
        loaded = torch.load(checkpoint, map_location="cpu", weights_only=False)
    state = loaded.get("state_dict") if isinstance(loaded, dict) else None
    if not isinstance(state, Mapping):
        raise ModelLoadError(f"{checkpoint}: no state_dict in checkpoint")
    return state


def _verify_weights(model: torch.nn.Module, state: Mapping[str, Any], checkpoint: Path) -> None:
    """Every model parameter must equal its checkpoint tensor, or the load was silent junk."""
    import torch

    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    missing: list[str] = []
    differing: list[str] = []
    for name, param in model.named_parameters():
        source = tensors.get(name)
        if source is None and "LayerNorm." in name:  # pre-2020 checkpoints say gamma/beta
            source = tensors.get(name.replace(".weight", ".gamma").replace(".bias", ".beta"))
        if source is None:
            missing.append(name)
        elif source.shape != param.shape or not torch.equal(source.to(param.dtype), param.detach().cpu()):
            differing.append(name)
    if not missing and not differing:
        return
    hint = ""
    if missing:
        prefixes = {k[: -len(missing[0])] for k in tensors if k.endswith("." + missing[0])}
        if prefixes:
            hint = f" The checkpoint keys carry an extra prefix {sorted(prefixes)[0]!r}: strip it."
    raise ModelLoadError(
        f"{checkpoint}: the weights did not load; the model would run with random weights "
        f"(scores near 0.5). {len(missing)} parameters missing from the checkpoint "
        f"(e.g. {missing[:3]}), {len(differing)} differ (e.g. {differing[:3]}).{hint}"
    )


def _verify_tokenizer(tokenizer: Any, vocab_size: int, checkpoint: Path) -> None:
    """Common words must not all become [UNK], nor produce ids past the embedding table."""
    try:
        ids: list[int] = tokenizer(PROBE_SENTENCE, add_special_tokens=False)["input_ids"]
    except Exception as exc:  # the Rust tokenizers raise a plain Exception
        raise ModelLoadError(f"{checkpoint}: the tokenizer cannot tokenize at all: {exc}") from exc
    unk = tokenizer.unk_token_id
    unk_share = ids.count(unk) / len(ids) if ids and unk is not None else 0.0
    if not ids or unk_share > 0.5 or len(set(ids)) < 3:
        raise ModelLoadError(
            f"{checkpoint}: the tokenizer's vocabulary is missing or degenerate "
            f"({unk_share:.0%} of a common-word probe became {tokenizer.unk_token!r}); "
            "check the vocab files in the model_type directory"
        )
    if max(ids) >= vocab_size:
        raise ModelLoadError(
            f"{checkpoint}: tokenizer ids reach {max(ids)} but the model has {vocab_size} embeddings; "
            "tokenizer and weights come from different models"
        )


def _quantize_dynamic(model: torch.nn.Module) -> torch.nn.Module:
    """int8 weights for every nn.Linear: ~3x faster on CPU for BERT-sized models."""
    import torch

    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError as exc:  # torch has announced this API's move to torchao
        raise BackendUnavailable(f"dynamic quantization is not available in this torch: {exc}") from exc
    with warnings.catch_warnings():
        # torch 2.13 deprecates torch.ao.quantization in favour of torchao but still ships it.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        quantize: Callable[..., torch.nn.Module] = quantize_dynamic  # untyped in torch
        return quantize(model, {torch.nn.Linear}, dtype=torch.qint8)


def _download_help(spec: str, checkpoint: Path, reason: str) -> str:
    hf_home = os.environ.get("HF_HOME") or str(Path("~/.cache/huggingface").expanduser())
    return (
        f"detoxify model {spec!r} is unavailable: its checkpoint or base-model files could not be "
        f"downloaded or found in the caches ({reason}). "
        "Either pass a local checkpoint path instead of the name (a Detoxify .ckpt whose "
        "config.arch.args.model_type names a local directory with config.json and the tokenizer "
        "files), or seed the caches from a machine with internet: run "
        f"`python -c \"from detoxify import Detoxify; Detoxify('{spec}')\"` there and copy "
        f"TORCH_HOME's hub/checkpoints/{checkpoint.name} to {checkpoint} and the Hugging Face "
        f"cache to {hf_home} (then set HF_HUB_OFFLINE=1)."
    )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}
