"""HFClassifierScorer on tiny save_pretrained directories built at test time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from safestream.moderation.backends.hf import HFClassifierScorer, resolve_labels
from safestream.moderation.contract import LABELS, BackendUnavailable, ModelLoadError
from tests import tiny_models
from tests.tiny_fixtures import offline, reference_scores, tiny_ckpt, tiny_root  # noqa: F401 - fixtures

INSULTS = ["you are an idiot", "i hate you stupid loser"]
GREETINGS = ["hello friend", "have a nice day"]


def _loaded(model_dir: Path, **kwargs: Any) -> HFClassifierScorer:
    scorer = HFClassifierScorer(model_dir, **kwargs)
    scorer.load_sync()
    return scorer


async def test_multilabel_jigsaw_names_map_to_ours(tiny_ckpt: Path, tiny_root: Path) -> None:
    scorer = HFClassifierScorer(tiny_models.build_hf_multilabel_dir(tiny_ckpt, tiny_root))
    await scorer.load()
    texts = INSULTS + GREETINGS
    try:
        got = await scorer.score(texts)
    finally:
        await scorer.close()
    assert scorer.filled_labels == LABELS
    expected = reference_scores(tiny_ckpt, texts)
    for scores, row in zip(got, expected, strict=True):
        assert scores == pytest.approx(dict(zip(LABELS, row, strict=True)), abs=1e-5)


def test_binary_model_fills_toxicity(tiny_ckpt: Path, tiny_root: Path) -> None:
    scorer = _loaded(tiny_models.build_hf_binary_dir(tiny_ckpt, tiny_root))
    assert scorer.filled_labels == ("toxicity",)
    texts = INSULTS + GREETINGS
    got = scorer.predict(texts)
    # The binary head is built so that softmax P(toxic) == sigmoid(the toxic logit).
    for scores, row in zip(got, reference_scores(tiny_ckpt, texts), strict=True):
        assert set(scores) == {"toxicity"}
        assert scores["toxicity"] == pytest.approx(row[0], abs=1e-5)
    assert min(s["toxicity"] for s in got[:2]) > max(s["toxicity"] for s in got[2:]) + 0.5


def test_explicit_label_map_overrides(tiny_ckpt: Path, tiny_root: Path) -> None:
    model_dir = tiny_models.build_hf_binary_dir(tiny_ckpt, tiny_root)
    scorer = _loaded(model_dir, label_map={"toxic": "insult"})
    assert scorer.filled_labels == ("insult",)
    assert set(scorer.predict(["you are an idiot"])[0]) == {"insult"}
    with pytest.raises(ModelLoadError, match="lacks"):
        _loaded(model_dir, label_map={"hateful": "identity_attack"})
    with pytest.raises(ValueError, match="not among"):
        HFClassifierScorer(model_dir, label_map={"toxic": "spam"})


def test_unmappable_labels_are_a_clear_error(tiny_ckpt: Path, tiny_root: Path, tmp_path: Path) -> None:
    sentiment = tmp_path / "sentiment"
    shutil.copytree(tiny_models.build_hf_binary_dir(tiny_ckpt, tiny_root), sentiment)
    config = json.loads((sentiment / "config.json").read_text())
    config["id2label"] = {"0": "NEGATIVE", "1": "POSITIVE"}
    config["label2id"] = {"NEGATIVE": 0, "POSITIVE": 1}
    (sentiment / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=r"none of the model's labels.*label_map"):
        _loaded(sentiment)


def test_long_text_is_truncated(tiny_ckpt: Path, tiny_root: Path) -> None:
    scorer = _loaded(tiny_models.build_hf_multilabel_dir(tiny_ckpt, tiny_root), max_tokens=32)
    long_text = "you are an idiot " * 300
    first, second = scorer.predict([long_text, long_text[:200] + "hello friend " * 400])
    assert first == pytest.approx(second, abs=1e-6)


def test_missing_directory_or_config(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match=r"no config\.json"):
        _loaded(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackendUnavailable, match=r"no config\.json"):
        _loaded(tmp_path / "empty")


@pytest.mark.parametrize(
    ("labels", "softmax", "mapping", "complement"),
    [
        (["LABEL_0", "LABEL_1"], True, {"LABEL_1": ("toxicity",)}, None),
        (["neutral", "toxic"], True, {"toxic": ("toxicity",)}, None),
        (["nothate", "hate"], True, {"hate": ("toxicity", "identity_attack")}, None),
        (
            ["hate speech", "offensive language", "neither"],
            True,
            {"hate speech": ("identity_attack",), "offensive language": ("toxicity",)},
            "neither",
        ),
        (
            ["toxic", "severe_toxic", "identity_hate"],
            False,
            {"toxic": ("toxicity",), "severe_toxic": ("severe_toxicity",), "identity_hate": ("identity_attack",)},
            None,
        ),
        (["POSITIVE", "NEGATIVE"], True, {}, None),
    ],
)
def test_resolve_labels(
    labels: list[str], softmax: bool, mapping: dict[str, tuple[str, ...]], complement: str | None
) -> None:
    assert resolve_labels(labels, softmax=softmax) == (mapping, complement)
