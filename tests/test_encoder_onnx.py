"""The sentence encoder on ONNX Runtime (issue 10): same vectors as torch, same verdicts, torch as fallback."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from safestream.errors import ConfigError
from safestream.moderation import encoder_onnx
from safestream.moderation.backends.sentence import SentenceScorer
from safestream.moderation.contract import ModelLoadError
from safestream.moderation.encoder import model_dir, shared_encoder
from safestream.moderation.engine import ModerationEngine
from safestream.moderation.heads import DEFAULT_ARTIFACT, Heads
from safestream.settings import Settings

pytest.importorskip("onnxruntime")

TEXTS = [
    "women are too emotional to lead",
    "immigrants should not be allowed to vote",
    "i will find where you live and hurt you",
    "you are a stupid idiot",
    "thanks for the stream, see you tomorrow",
    "that was a sick play, gg",
    "ok",
    "what a clutch round nobody expected that lol see you all tomorrow thanks for the music and the vibes",
]


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where ``encoder_onnx.cache_dir`` puts exports for ``SAFESTREAM_DATA_DIR=<data>``."""
    return tmp_path_factory.mktemp("data") / "cache" / "onnx"


def test_the_exported_encoder_gives_torch_s_vectors_and_is_cached_by_checksum(onnx_dir: Path) -> None:
    reference = shared_encoder(runtime="torch")
    encoder = encoder_onnx.OnnxEncoder(model_dir(), directory=onnx_dir)
    assert encoder.model_file.parent == onnx_dir and reference.checksum in encoder.model_file.name
    expected = reference.embed(TEXTS, max_tokens=64)
    # Batched (padded to the longest of the chunk) and one text at a time: both match torch.
    np.testing.assert_allclose(encoder.embed(TEXTS, max_tokens=64), expected, atol=1e-5)
    np.testing.assert_allclose(encoder.embed(TEXTS, max_tokens=64, batch_size=1), expected, atol=1e-5)
    exported_at = encoder.model_file.stat().st_mtime_ns
    again = encoder_onnx.OnnxEncoder(model_dir(), directory=onnx_dir)
    assert again.model_file == encoder.model_file and again.model_file.stat().st_mtime_ns == exported_at
    assert not [p for p in onnx_dir.iterdir() if p.name.endswith(".tmp")]  # no half-written leftovers


async def test_the_sentence_stage_scores_through_the_engine_on_onnx(
    onnx_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFESTREAM_DATA_DIR", str(onnx_dir.parent.parent))  # reuses the first test's export
    scores = {}
    for runtime in ("onnx", "torch"):
        settings = Settings(
            env="test", moderation="sentence", transformer_runtime=runtime, transformer_int8=False
        ).validated()
        engine = ModerationEngine.from_settings(settings)
        await engine.load()
        try:
            [stage] = engine.stages
            assert isinstance(stage.scorer, SentenceScorer) and stage.scorer.runtime == runtime
            scores[runtime] = [a.scores for a in await engine.assess(TEXTS, escalate_all=True)]
        finally:
            await engine.close()
    for onnx_row, torch_row in zip(scores["onnx"], scores["torch"], strict=True):
        assert onnx_row.keys() == torch_row.keys()
        assert max(abs(onnx_row[k] - torch_row[k]) for k in onnx_row) < 1e-4
    threat = scores["onnx"][TEXTS.index("i will find where you live and hurt you")]
    assert threat["threat"] > scores["onnx"][TEXTS.index("thanks for the stream, see you tomorrow")]["threat"]


def test_without_onnxruntime_auto_runs_on_torch_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(encoder_onnx, "onnxruntime_installed", lambda: False)
    with caplog.at_level(logging.WARNING, logger=encoder_onnx.__name__):
        scorer = SentenceScorer(runtime="auto")
        scorer.load_sync()
    assert scorer.runtime == "torch"
    assert "onnxruntime is not installed" in caplog.text and "runs on torch" in caplog.text
    [scores] = scorer.predict(["you are a stupid idiot"])
    assert scores["insult"] > 0.5


def test_an_onnx_runtime_that_cannot_import_falls_back_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    with caplog.at_level(logging.WARNING, logger=encoder_onnx.__name__):
        assert encoder_onnx.open_onnx(model_dir(), int8=False, threads=1) is None
    assert "falling back to torch" in caplog.text and "onnxruntime" in caplog.text


def test_an_unknown_runtime_is_refused_by_the_settings() -> None:
    with pytest.raises(ConfigError, match="SAFESTREAM_TRANSFORMER_RUNTIME must be auto, onnx or torch"):
        Settings(env="test", transformer_runtime="tensorrt").validated()


@pytest.mark.slow
def test_the_int8_export_is_deterministic(onnx_dir: Path, tmp_path: Path) -> None:
    """The int8 heads are keyed by the graph's sha256: quantizing the same fp32 graph again gives the same bytes."""
    fp32 = encoder_onnx.exported(model_dir(), shared_encoder(runtime="torch").checksum, int8=False, directory=onnx_dir)
    first, second = tmp_path / "a.onnx", tmp_path / "b.onnx"
    encoder_onnx.export_int8(fp32, first)
    encoder_onnx.export_int8(fp32, second)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()


def test_an_int8_vector_depends_on_its_text_only(onnx_dir: Path) -> None:
    """Dynamic int8 takes one activation range per batch: int8 texts run alone, so batch-mates change nothing."""
    encoder = encoder_onnx.OnnxEncoder(model_dir(), int8=True, directory=onnx_dir)
    together = encoder.embed(TEXTS, max_tokens=64, batch_size=64)
    for i, text in enumerate(TEXTS):
        np.testing.assert_array_equal(encoder.embed([text], max_tokens=64), together[i : i + 1])


def test_by_default_onnx_runs_int8_with_its_own_heads(monkeypatch: pytest.MonkeyPatch, onnx_dir: Path) -> None:
    monkeypatch.setenv("SAFESTREAM_DATA_DIR", str(onnx_dir.parent.parent))
    scorer = SentenceScorer()
    scorer.load_sync()
    assert scorer.runtime == "onnx" and scorer.variant == "onnx-int8"
    encoder = shared_encoder(int8=True, runtime="onnx")
    heads = Heads.load(
        DEFAULT_ARTIFACT, encoder_sha256=encoder.checksum, variant="onnx-int8", graph_sha256=encoder.graph_sha256
    )
    [scores] = scorer.predict(["you are a stupid idiot"])
    assert scores == heads.scores(encoder.embed(["you are a stupid idiot"], max_tokens=64))[0]


@pytest.mark.parametrize("artifact", ["no int8 heads", "int8 heads for another graph"])
def test_int8_embeddings_are_never_scored_with_fp32_heads(
    artifact: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, onnx_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SAFESTREAM_DATA_DIR", str(onnx_dir.parent.parent))
    data = json.loads(DEFAULT_ARTIFACT.read_text())
    if artifact == "no int8 heads":
        del data["variants"]["onnx-int8"]
    else:
        data["variants"]["onnx-int8"]["graph_sha256"] = "0" * 64
    path = tmp_path / "heads.json"
    path.write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING):
        scorer = SentenceScorer(str(path), quantize=True, runtime="onnx")
        scorer.load_sync()
    # It falls back to the variant the file has heads for, and says so.
    assert scorer.variant == "fp32" and scorer._encoder is not None and not scorer._encoder.int8
    assert "no heads fit for onnx-int8 embeddings" in caplog.text and "scores fp32 embeddings instead" in caplog.text
    encoder = shared_encoder(int8=True, runtime="onnx")
    with pytest.raises(ModelLoadError, match="onnx-int8"):
        Heads.load(path, variant="onnx-int8", graph_sha256=encoder.graph_sha256)


def test_a_shallower_encoder_gives_that_layers_vectors_on_both_runtimes(onnx_dir: Path) -> None:
    """``layers=2`` runs only the first two layers: torch and ONNX both give the full model's layer-2 vectors."""
    import torch
    from tokenizers import Tokenizer

    from safestream.moderation.encoder import Encoder, load_bert, pool

    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_padding()  # the file pads to 128; one text alone needs no padding
    full = load_bert(model_dir())
    expected = []
    with torch.inference_mode():
        for text in TEXTS:
            ids = torch.tensor([tokenizer.encode(text).ids[:64]])
            mask = torch.ones_like(ids)
            states = full(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
            expected.append(pool(torch, states[2], mask).numpy()[0])
    shallow = Encoder(model_dir(), layers=2)
    assert len(shallow._model.encoder.layer) == 2
    np.testing.assert_allclose(shallow.embed(TEXTS, max_tokens=64), np.array(expected), atol=1e-5)
    onnx = encoder_onnx.OnnxEncoder(model_dir(), layers=2, directory=onnx_dir)
    assert "-l2-" in onnx.model_file.name  # cached apart from the six-layer graph
    np.testing.assert_allclose(onnx.embed(TEXTS, max_tokens=64), np.array(expected), atol=1e-5)
    with pytest.raises(ModelLoadError, match="6 layers"):
        Encoder(model_dir(), layers=7)
