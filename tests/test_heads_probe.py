"""Heads score this CPU's vectors as they scored the training CPU's, or the stage says so (issue 10).

Before, int8 weights used the full 8-bit range: ONNX Runtime's kernel for CPUs
without VNNI saturates 16-bit pair sums, so the committed int8 heads, trained on
such a CPU, scored up to 0.23 differently on this one, silently.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from safestream.moderation import encoder_onnx, heads_probe
from safestream.moderation.backends.sentence import SentenceScorer
from safestream.moderation.encoder import model_dir, shared_encoder
from safestream.moderation.heads import DEFAULT_ARTIFACT, load_artifact
from safestream.moderation.train import train

pytest.importorskip("onnxruntime")


@pytest.fixture
def data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One ONNX export for the whole module (``encoder_onnx.cache_dir`` follows the data dir)."""
    path = Path(str(tmp_path_factory.getbasetemp())) / "probe-data"
    monkeypatch.setenv("SAFESTREAM_DATA_DIR", str(path))
    return path


def test_int8_weights_are_seven_bit_so_every_cpu_computes_the_same_sums(data_dir: Path) -> None:
    import onnx
    from onnx import numpy_helper

    int8 = encoder_onnx.exported(model_dir(), shared_encoder(runtime="torch").checksum, int8=True)
    graph = onnx.load(str(int8)).graph
    weights = [numpy_helper.to_array(t) for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len(weights) >= 36  # six layers of six matrices each
    # 255 * 64 * 2 = 32,640 fits a signed 16-bit lane; 255 * 127 * 2 does not.
    assert max(int(abs(w.astype(int)).max()) for w in weights) <= 64


@pytest.mark.parametrize(("runtime", "int8", "variant"), [("torch", False, "fp32"), ("onnx", True, "onnx-int8")])
def test_the_committed_heads_score_their_probe_here_as_where_they_were_trained(
    data_dir: Path, runtime: str, int8: bool, variant: str
) -> None:
    scorer = SentenceScorer(runtime=runtime, quantize=int8)
    scorer.load_sync()
    assert scorer.variant == variant  # no fall-back
    assert scorer.probe_drift is not None and scorer.probe_drift <= heads_probe.TOLERANCE


def _artifact_with(tmp_path: Path, change: str) -> Path:
    data = json.loads(DEFAULT_ARTIFACT.read_text())
    meta = data["variants"]["onnx-int8"]["meta"]
    if change == "moved":
        meta["probe"][2][0] = max(0.0, meta["probe"][2][0] - 0.1)  # "you are a worthless idiot", toxicity
    else:
        del meta["probe"]
    path = tmp_path / "heads.json"
    path.write_text(json.dumps(data))
    return path


def test_int8_heads_whose_probe_moved_give_way_to_fp32_with_a_warning(
    data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        scorer = SentenceScorer(str(_artifact_with(tmp_path, "moved")), runtime="onnx", quantize=True)
        scorer.load_sync()
    assert scorer.variant == "fp32"
    assert "onnx-int8 heads score the probe sentences up to 0.1" in caplog.text
    assert "scores fp32 embeddings instead" in caplog.text
    assert scorer.probe_drift is not None and scorer.probe_drift <= heads_probe.TOLERANCE  # the fp32 heads hold


def test_heads_without_a_probe_still_load_unchecked(data_dir: Path, tmp_path: Path) -> None:
    scorer = SentenceScorer(str(_artifact_with(tmp_path, "none")), runtime="onnx", quantize=True)
    scorer.load_sync()
    assert scorer.variant == "onnx-int8" and scorer.probe_drift is None


@pytest.mark.slow
def test_training_stores_each_variants_probe_as_its_own_heads_score_it(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "heads.json"
    train(out=out, limit=120, davidson_per_class=40, seed=5)
    for variant, heads in load_artifact(out).items():
        encoder = shared_encoder(int8=variant != "fp32", runtime="torch" if variant == "fp32" else "onnx", threads=1)
        assert len(heads.meta["probe"]) == len(heads_probe.PROBE_TEXTS)
        assert heads_probe.drift(heads, encoder) == 0.0
