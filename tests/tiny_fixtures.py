"""The pytest side of ``tests/tiny_models.py``: the models built once per session, no network, and the
reference scores a backend must reproduce. Import the fixtures by name (``offline`` is autouse)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_models import build_tiny_detoxify, load_trained


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may touch the network; say so to every library that checks."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fixed directory under the session's base temp: every module reuses the builds."""
    root = tmp_path_factory.getbasetemp() / "tiny-models"
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture(scope="session")
def tiny_ckpt(tiny_root: Path) -> Path:
    """The trained tiny Detoxify checkpoint (built once per session)."""
    return build_tiny_detoxify(tiny_root)


def reference_scores(ckpt: Path, texts: list[str]) -> list[list[float]]:
    """sigmoid(logits) from the model rebuilt straight from the checkpoint's state dict: no backend involved."""
    import torch

    model, tokenizer, _ = load_trained(ckpt)
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        result: list[list[float]] = torch.sigmoid(model(**enc).logits).tolist()
    return result
