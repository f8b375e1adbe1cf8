"""The sentence stage (issue 10): trained heads over the packaged encoder, in the default chain."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from safestream.cli.main import main
from safestream.moderation import registry
from safestream.moderation.backends.sentence import SentenceScorer
from safestream.moderation.contract import ModelLoadError
from safestream.moderation.encoder import shared_encoder
from safestream.moderation.encoder_onnx import onnxruntime_installed
from safestream.moderation.engine import ModerationEngine
from safestream.moderation.heads import DEFAULT_ARTIFACT, Heads, load_artifact
from safestream.moderation.policy import Policy
from safestream.moderation.train import train
from safestream.settings import Settings


def test_the_default_chain_is_the_cascade() -> None:
    assert registry.expand("default") == ["profanity", "sentence"]
    assert registry.is_transformer("sentence")


def test_the_committed_artifact_belongs_to_the_installed_encoder() -> None:
    variants = load_artifact(DEFAULT_ARTIFACT, encoder_sha256=shared_encoder().checksum)
    assert set(variants) == {"fp32", "onnx-int8"}
    for heads in variants.values():
        assert set(heads.labels) >= {"toxicity", "insult", "identity_attack", "threat", "obscene"}
    assert variants["fp32"].graph_sha256 is None and variants["onnx-int8"].graph_sha256
    assert DEFAULT_ARTIFACT.stat().st_size < 1_000_000  # heads only (~0.8 MB), never the 90 MB encoder


VARIANTS = ("fp32", "onnx-int8") if onnxruntime_installed() else ("fp32",)


@pytest.mark.slow
async def test_training_on_a_small_sample_writes_an_artifact_that_loads_and_scores(tmp_path: Path) -> None:
    """Every variant (fp32, and onnx-int8 with onnxruntime) gets heads that load and score its own embeddings."""
    out = tmp_path / "heads.json"
    fitted, report = train(out=out, limit=160, davidson_per_class=60, seed=5, variants=VARIANTS)
    assert out.is_file() and set(report["auc"]) == set(VARIANTS) == set(fitted)
    for variant in VARIANTS:
        assert set(report["auc"][variant]) >= {"toxicity", "identity_attack", "toxic_overall_max"}
        int8 = variant != "fp32"
        scorer = SentenceScorer(str(out), quantize=int8, runtime="onnx" if int8 else "torch")
        await scorer.load()
        try:
            assert scorer.variant == variant
            loaded = Heads.load(
                out,
                encoder_sha256=shared_encoder().checksum,
                variant=variant,
                graph_sha256=fitted[variant].graph_sha256,
            )
            assert loaded.graph_sha256 == fitted[variant].graph_sha256 and (int8 == (loaded.graph_sha256 is not None))
            # The saved heads are the trained ones (float32 matrices stored exactly).
            assert (loaded.weights == fitted[variant].weights).all()
            [scores] = await scorer.score(["you are a stupid idiot"])
            assert set(scores) == set(loaded.labels) and all(0.0 <= v <= 1.0 for v in scores.values())
        finally:
            await scorer.close()


@pytest.mark.slow
async def test_the_stage_runs_the_encoder_as_deep_as_its_heads_were_trained(tmp_path: Path) -> None:
    """Heads trained on layer 2's vectors are scored on layer 2's vectors, not on the full model's."""
    from safestream.moderation.encoder import Encoder, model_dir

    out = tmp_path / "heads.json"
    fitted, _ = train(out=out, limit=120, davidson_per_class=40, seed=5, variants=("fp32",), layers=2)
    assert json.loads(out.read_text())["layers"] == 2 and fitted["fp32"].layers == 2
    scorer = SentenceScorer(str(out), quantize=False, runtime="torch")
    await scorer.load()
    try:
        text = "women are too emotional to lead"
        [scores] = await scorer.score([text])
        two, six = (Encoder(model_dir(), layers=n).embed([text], max_tokens=64) for n in (2, 6))
        [at_two], [at_six] = fitted["fp32"].scores(two), fitted["fp32"].scores(six)
        assert max(abs(scores[k] - at_two[k]) for k in scores) < 1e-6
        assert max(abs(scores[k] - at_six[k]) for k in scores) > 1e-3  # the depth matters
    finally:
        await scorer.close()


def test_the_committed_artifact_names_its_depth() -> None:
    from safestream.moderation.encoder import DEFAULT_LAYERS

    assert json.loads(DEFAULT_ARTIFACT.read_text())["layers"] == DEFAULT_LAYERS


@pytest.mark.slow
def test_training_twice_on_the_same_data_writes_the_same_bytes(tmp_path: Path) -> None:
    """Reproducibility: same seed, data and encoder weights -> an identical artifact."""
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    train(out=first, limit=120, davidson_per_class=40, seed=5)
    train(out=second, limit=120, davidson_per_class=40, seed=5)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.slow
def test_the_train_command_reads_the_checkouts_data_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAFESTREAM_DATA_DIR", str(tmp_path / "state"))
    out = tmp_path / "heads.json"
    assert (
        main(
            [
                *("train-moderation", "--out", str(out), "--limit", "160", "--davidson-per-class", "60"),
                *("--seed", "5", "--variants", ",".join(VARIANTS)),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith(f"wrote {out}: 160 examples")
    assert Heads.load(out, encoder_sha256=shared_encoder().checksum).labels


def test_the_train_command_says_when_there_is_no_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """From a wheel (no checkout beside the package) the user is told, not shown a traceback."""
    monkeypatch.setenv("SAFESTREAM_DATA_DIR", str(tmp_path / "state"))
    assert main(["train-moderation", "--data", str(tmp_path), "--out", str(tmp_path / "heads.json")]) == 2
    assert f"no training data under {tmp_path}" in capsys.readouterr().err
    assert not (tmp_path / "heads.json").exists()


def test_heads_for_other_encoder_weights_are_refused(tmp_path: Path) -> None:
    data = json.loads(DEFAULT_ARTIFACT.read_text())
    data["encoder_sha256"] = "0" * 64
    (tmp_path / "other.json").write_text(json.dumps(data))
    with pytest.raises(ModelLoadError, match="other encoder weights"):
        Heads.load(tmp_path / "other.json", encoder_sha256=shared_encoder().checksum)


@pytest.fixture(scope="module", params=[False, True] if onnxruntime_installed() else [False], ids=["fp32", "int8"])
def verdicts(request: pytest.FixtureRequest) -> dict[str, tuple[str, str | None]]:
    """The default chain's verdicts with the fp32 heads and (on ONNX Runtime) the int8 ones."""
    return asyncio.run(_verdicts(int8=request.param))


async def _verdicts(*, int8: bool) -> dict[str, tuple[str, str | None]]:
    texts = [
        "women are too emotional to lead",
        "immigrants should not be allowed to vote",
        "i will find where you live and hurt you",
        "you are a stupid idiot",
        "women are great leaders",
        "immigrants have the right to vote",
        "holy shit what a play",
        "thanks for the stream, see you tomorrow",
        "that was a sick play",
    ]
    settings = Settings(env="test", transformer_int8=int8).validated()
    engine = ModerationEngine.from_settings(settings)
    await engine.load()
    try:
        assert [s.scorer.variant for s in engine.stages if isinstance(s.scorer, SentenceScorer)] == [
            "onnx-int8" if int8 else "fp32"
        ]
        policy = Policy.default(settings.toxic_threshold)
        out = {}
        for text, a in zip(texts, await engine.assess(texts, escalate_all=True), strict=True):
            decision = policy.judge(text, a.normalized, a.scores)
            out[text] = (decision.action, decision.category)
        return out
    finally:
        await engine.close()


@pytest.mark.parametrize(
    "text",
    [
        "women are too emotional to lead",
        "immigrants should not be allowed to vote",
        "i will find where you live and hurt you",
        "you are a stupid idiot",
    ],
)
def test_abuse_without_swear_words_is_caught(verdicts: dict[str, tuple[str, str | None]], text: str) -> None:
    assert verdicts[text][0] in ("flag", "hold", "block"), verdicts[text]


@pytest.mark.parametrize(
    "text",
    [
        "women are great leaders",
        "immigrants have the right to vote",
        "thanks for the stream, see you tomorrow",
        "that was a sick play",
    ],
)
def test_innocent_sentences_pass(verdicts: dict[str, tuple[str, str | None]], text: str) -> None:
    assert verdicts[text][0] == "allow", verdicts[text]


def test_profanity_alone_is_masked_not_blocked(verdicts: dict[str, tuple[str, str | None]]) -> None:
    assert verdicts["holy shit what a play"][0] == "mask"


async def test_chat_sent_while_the_chain_loads_waits_for_the_whole_chain(make_app: Any, sio_client: Any) -> None:
    """/healthz answers at once with ``loading``; a message sent meanwhile is scored by the full chain."""
    client = await make_app(moderation="profanity,tests.failing_scorer:SlowLoadingScorer")
    health = await (await client.get("/healthz")).json()
    assert health["status"] == "ok" and health["moderation_state"] == "loading", health
    alice = await sio_client("demo_user", "demo123", join="main", test_client=client)
    ack = await alice.call("chat", {"message": "good morning"}, timeout=60)
    # SlowLoadingScorer calls everything a threat once loaded (and raises before):
    # a half-loaded chain would have allowed it, or failed it into "hold".
    assert ack["ok"] and ack["action"] == "block", ack
    assert (await (await client.get("/healthz")).json())["moderation_state"] == "ready"


def test_a_format_1_artifact_still_loads_as_fp32_heads(tmp_path: Path) -> None:
    """Heads trained before variants existed (one set, nested lists) keep loading, as fp32 heads only."""
    fp32 = load_artifact(DEFAULT_ARTIFACT)["fp32"]
    assert fp32.hidden_weights is not None and fp32.hidden_bias is not None
    old = {
        "format": "safestream-heads/1",
        "labels": list(fp32.labels),
        "encoder": fp32.encoder,
        "encoder_sha256": fp32.encoder_sha256,
        "max_tokens": fp32.max_tokens,
        "meta": {"seed": 13},
        **{k: getattr(fp32, k).tolist() for k in ("bias", "scale", "offset", "hidden_bias")},
        "weights": fp32.weights.T.tolist(),
        "hidden_weights": fp32.hidden_weights.T.tolist(),
    }
    (tmp_path / "old.json").write_text(json.dumps(old))
    [(variant, heads)] = load_artifact(tmp_path / "old.json").items()
    assert variant == "fp32" and heads.graph_sha256 is None
    x = np.random.default_rng(0).normal(size=(4, 384))
    np.testing.assert_allclose(heads.probabilities(x), fp32.probabilities(x), atol=1e-12)
    with pytest.raises(ModelLoadError, match="no heads for onnx-int8"):
        Heads.load(tmp_path / "old.json", variant="onnx-int8", graph_sha256="0" * 64)
