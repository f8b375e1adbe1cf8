"""DetoxifyScorer against a tiny BERT built at test time, loaded by the real Detoxify class.

torch and transformers are imported inside fixtures and tests so that merely
collecting this module stays cheap for the rest of the suite.
"""

from __future__ import annotations

import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from safestream.moderation.backends.detoxify import DetoxifyScorer
from safestream.moderation.contract import LABELS, BackendUnavailable, ModelLoadError
from tests import tiny_models
from tests.tiny_fixtures import offline, reference_scores, tiny_ckpt, tiny_root  # noqa: F401 - fixtures

INSULTS = ["you are an idiot", "i hate you stupid loser"]
GREETINGS = ["hello friend", "have a nice day"]


def _loaded(spec: str | Path, **kwargs: Any) -> DetoxifyScorer:
    scorer = DetoxifyScorer(str(spec), **kwargs)
    scorer.load_sync()
    return scorer


async def test_scores_match_a_direct_forward_pass(tiny_ckpt: Path) -> None:
    scorer = DetoxifyScorer(str(tiny_ckpt))
    await scorer.load()
    texts = INSULTS + GREETINGS
    try:
        got = await scorer.score(texts)
    finally:
        await scorer.close()
    expected = reference_scores(tiny_ckpt, texts)
    # Checkpoint classes are the Jigsaw 2018 names, so this also checks the renaming.
    for scores, row in zip(got, expected, strict=True):
        assert set(scores) == set(LABELS)
        for i, label in enumerate(LABELS):
            assert isinstance(scores[label], float)
            assert scores[label] == pytest.approx(row[i], abs=1e-5)


def test_insults_score_above_greetings(tiny_ckpt: Path) -> None:
    scores = _loaded(tiny_ckpt).predict(INSULTS + GREETINGS)
    for label in ("toxicity", "insult"):
        assert min(s[label] for s in scores[:2]) > max(s[label] for s in scores[2:]) + 0.5


def test_leftover_model_prefix_is_refused(tiny_ckpt: Path, tiny_root: Path) -> None:
    broken = tiny_models.build_prefixed_checkpoint(tiny_ckpt, tiny_root)
    with pytest.raises(ModelLoadError, match=r"prefix 'model\.'"):
        _loaded(broken)


@pytest.mark.parametrize(
    ("empty", "message"), [(False, "vocabulary is missing or degenerate"), (True, "Missing \\[UNK\\] token")]
)
def test_degenerate_vocab_is_refused(tiny_ckpt: Path, tiny_root: Path, empty: bool, message: str) -> None:
    # Specials only: loads silently, every word -> [UNK]. Empty: the tokenizer refuses to build.
    broken = tiny_models.build_degenerate_vocab_checkpoint(tiny_ckpt, tiny_root, empty=empty)
    with pytest.raises(ModelLoadError, match=message):
        _loaded(broken)


def test_quantized_model_still_ranks(tiny_ckpt: Path) -> None:
    scorer = _loaded(tiny_ckpt, quantize=True)
    # The dynamic int8 module is also called "Linear"; its package tells it apart.
    kinds = {type(m).__module__ for m in scorer._model.modules()}
    assert "torch.ao.nn.quantized.dynamic.modules.linear" in kinds, kinds
    scores = scorer.predict(INSULTS + GREETINGS)
    assert min(s["toxicity"] for s in scores[:2]) > max(s["toxicity"] for s in scores[2:])
    assert min(s["insult"] for s in scores[:2]) > max(s["insult"] for s in scores[2:])


def test_long_text_is_truncated(tiny_ckpt: Path) -> None:
    scorer = _loaded(tiny_ckpt, max_tokens=32)
    long_text = "you are an idiot " * 300
    assert len(long_text) >= 5000
    # Same first 32 tokens, different tail: identical scores prove the tail is never read
    # (and without truncation 1,200 tokens would overflow BERT's 512 positions).
    other_tail = long_text[:200] + "hello friend " * 400
    first, second = scorer.predict([long_text, other_tail])
    for label in LABELS:
        assert first[label] == pytest.approx(second[label], abs=1e-6)
    assert first["toxicity"] > 0.5


def test_model_name_without_network_or_cache_fails_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    started = time.perf_counter()
    with pytest.raises(BackendUnavailable, match="local checkpoint") as info:
        _loaded("original")
    # A hang guard, not a speed check: without this the hub client retries for minutes.
    assert time.perf_counter() - started < 30
    message = str(info.value)
    assert "toxic_original-c1212f89.ckpt" in message and "HF_HUB_OFFLINE" in message


def test_failed_download_becomes_backend_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the offline flag the download is attempted; its failure must still be clear."""
    import torch

    def no_network(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    with pytest.raises(BackendUnavailable, match=r"Name or service not known.*local checkpoint"):
        _loaded("unbiased")


def test_unknown_spec_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="neither a model name"):
        _loaded("no-such-model")
    with pytest.raises(BackendUnavailable, match="neither a model name"):
        _loaded(tmp_path / "missing.ckpt")


def test_malformed_checkpoint_is_a_load_error(tmp_path: Path) -> None:
    import torch

    bad = tmp_path / "bad.ckpt"
    torch.save({"state_dict": {}}, bad)  # no config: Detoxify raises ValueError
    with pytest.raises(ModelLoadError, match="malformed"):
        _loaded(bad)


def test_predict_before_load_and_bad_arguments() -> None:
    with pytest.raises(RuntimeError, match="before load"):
        DetoxifyScorer("original").predict(["hi"])
    with pytest.raises(ValueError, match="device='cpu'"):
        DetoxifyScorer("original", quantize=True, device="cuda")
