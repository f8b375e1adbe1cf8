"""The sentence encoder on ONNX Runtime: exported once from the shipped weights, then cached.

Why: on these two cores ONNX Runtime runs the same MiniLM about twice as fast
as eager torch in fp32 (``load/bench_sentence.py``), with the same vectors
(max difference ~2e-7), so the committed heads, trained on torch fp32
embeddings, score the same. The int8 variant (``quantize_dynamic``) is faster
again but moves the vectors (up to ~0.03 per coordinate), so it has heads of its
own in the artifact, keyed by the int8 graph's sha256 (``graph_sha256``): the
export is deterministic (same torch/onnxruntime -> same bytes), and another
onnxruntime that quantizes differently gets the fp32 heads' encoder instead of
mismatched heads (``backends/sentence.py``).

Nothing is downloaded: on first use the graph (BertModel + mean pooling + L2
normalization, dynamic batch and sequence axes) is traced from the packaged
``model.safetensors`` with torch, written to a cache directory under a name
keyed by the weights' sha256, and quantized from there. Later processes only
need ``onnxruntime`` and ``tokenizers`` (no torch import, a faster start).
Files are written to a temporary name and renamed, so two processes exporting
at once never leave a half-written model behind.

The cache directory is ``onnx/`` under ``model_cache.cache_root()``
(``$SAFESTREAM_DATA_DIR/cache``, else ``~/.cache/safestream``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from safestream.moderation.encoder import DEFAULT_LAYERS, BaseEncoder, load_bert, pool
from safestream.moderation.model_cache import cache_root, replace_atomically

log = logging.getLogger(__name__)
RUNTIMES = ("auto", "onnx", "torch")
#: Bump when the exported graph changes, so stale cached files are not reused.
EXPORT_VERSION = 3
#: Bump when the int8 quantization changes (2: 7-bit weights, ``export_int8``).
QUANT_VERSION = 2
OPSET = 17


def onnxruntime_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def resolve_runtime(runtime: str) -> str:
    """``torch`` or ``onnx``: ``auto`` means ONNX Runtime when it is importable."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown encoder runtime {runtime!r}; expected one of {', '.join(RUNTIMES)}")
    if runtime == "torch":
        return "torch"
    if onnxruntime_installed():
        return "onnx"
    log.warning(
        "onnxruntime is not installed (pip install 'safestream[sentence]'): the sentence encoder runs on torch, "
        "about half as fast"
    )
    return "torch"


def cache_dir() -> Path:
    return cache_root() / "onnx"


def export_fp32(model_path: Path, target: Path, *, layers: int = DEFAULT_LAYERS) -> None:
    """Traces BertModel's first ``layers`` + pooling + normalization to ``target`` (opset 17, dynamic axes)."""
    import torch

    model = load_bert(model_path, eager=True, layers=layers)

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return pool(torch, hidden, attention_mask)

    sample = torch.ones((2, 8), dtype=torch.int64)
    axes = {"batch": 0, "sequence": 1}
    dynamic = {name: {i: a for a, i in axes.items()} for name in ("input_ids", "attention_mask")}

    def write(tmp: str) -> None:
        # The TorchScript exporter: quicker than the dynamo one here and needs no onnxscript;
        # tests check its graph against torch on real text at several batch shapes.
        with torch.inference_mode(), warnings.catch_warnings():
            # The tracer's warnings are about branches on shapes that are constant for this graph
            # (the mask always matches the input); they would only alarm a server's first start.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled().eval(),
                (sample, sample),
                tmp,
                input_names=["input_ids", "attention_mask"],
                output_names=["embeddings"],
                dynamic_axes={**dynamic, "embeddings": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )

    replace_atomically(target, write)


def export_int8(fp32: Path, target: Path) -> None:
    """Dynamic int8 quantization (weights int8, activations per tensor at run time) of the fp32 graph.

    Per-channel weight scales: on 206 chat lines the fp32 heads' scores moved by at most 0.20
    from torch fp32, against 0.56 per tensor; hence heads trained on these vectors. Two exports
    give the same bytes (checked: sha256 of two fresh exports), so the heads' ``graph_sha256``
    holds for every install with the same torch and onnxruntime.

    Weights are 7-bit (``reduce_range``, within +-64): on x86 CPUs without VNNI, ONNX Runtime's
    u8 x s8 kernel adds pairs of products in saturating 16-bit lanes (255 * 127 * 2 overflows
    them), so full-range weights gave other vectors there than on VNNI or AMX CPUs, and heads
    trained on one kind of CPU scored up to 0.23 differently on the other. With 7-bit weights
    every kernel computes the same integers (255 * 64 * 2 fits), and the heads' probe
    (``heads_probe``) checks at start-up that this CPU's vectors are the training CPU's.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def write(tmp: str) -> None:
        quantize_dynamic(str(fp32), tmp, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)

    # The quantizer logs ~40 lines per export on the root logger (``logging.info``), and a
    # warning to run its pre-processing, which changes nothing here: keep a first start readable.
    root = logging.getLogger()
    root.addFilter(_quiet_quantizer)
    try:
        replace_atomically(target, write)
    finally:
        root.removeFilter(_quiet_quantizer)


def _quiet_quantizer(record: logging.LogRecord) -> bool:
    return "onnxruntime" not in record.pathname or record.levelno >= logging.ERROR


def exported(
    model_path: Path, checksum: str, *, int8: bool, layers: int = DEFAULT_LAYERS, directory: Path | None = None
) -> Path:
    """The cached graph for these weights and depth, exported (and quantized) on first use."""
    directory = directory or cache_dir()
    stem = f"minilm-{checksum}-v{EXPORT_VERSION}-l{layers}"
    fp32 = directory / f"{stem}-fp32.onnx"
    if not fp32.is_file():
        log.info("exporting the sentence encoder to ONNX (once, into %s)", directory)
        export_fp32(model_path, fp32, layers=layers)
    if not int8:
        return fp32
    quantized = directory / f"{stem}-int8q{QUANT_VERSION}.onnx"
    if not quantized.is_file():
        export_int8(fp32, quantized)
    return quantized


class OnnxEncoder(BaseEncoder):
    """The encoder on an ONNX Runtime session (CPU), ``threads`` intra-op threads."""

    runtime = "onnx"

    def __init__(
        self,
        path: Path,
        *,
        int8: bool = False,
        threads: int = 1,
        layers: int = DEFAULT_LAYERS,
        directory: Path | None = None,
    ) -> None:
        super().__init__(path, int8=int8, layers=layers)
        self.model_file = exported(path, self.checksum, int8=int8, layers=layers, directory=directory)
        self._sessions: dict[int, Any] = {}
        self._graph_sha256: str | None = None
        if int8:
            self._graph_sha256 = hashlib.sha256(self.model_file.read_bytes()).hexdigest()
        self.set_threads(threads)

    @property
    def graph_sha256(self) -> str | None:
        return self._graph_sha256

    def set_threads(self, threads: int) -> None:
        """Runs on a session with ``threads`` intra-op threads (1..cpu count); sessions are kept per count."""
        import onnxruntime

        threads = max(1, min(threads, os.cpu_count() or 1))
        with self._lock:
            if threads not in self._sessions:
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
                # Idle pool threads must not spin on two cores shared with the event loop.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._sessions[threads] = onnxruntime.InferenceSession(
                    str(self.model_file), options, providers=["CPUExecutionProvider"]
                )
            self.threads = threads
            self._session = self._sessions[threads]

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        [vectors] = self._session.run(["embeddings"], {"input_ids": ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)


def open_onnx(path: Path, *, int8: bool, threads: int, layers: int = DEFAULT_LAYERS) -> OnnxEncoder | None:
    """An ONNX encoder, or None (logged) when it cannot be built here: the caller uses torch."""
    try:
        return OnnxEncoder(path, int8=int8, threads=threads, layers=layers)
    except Exception as exc:  # noqa: BLE001 - onnxruntime's errors are untyped; torch is the reference anyway
        log.warning("the ONNX sentence encoder is unavailable (%s): falling back to torch", exc)
        return None
