"""Build tiny toxicity models at test time (never committed as binaries).

The real Detoxify checkpoints are 400+ MB downloads that this environment
cannot fetch, yet the backend must be tested through the *real*
``detoxify.Detoxify`` loader. So we build a tiny BERT (hidden 64, 2 layers),
train it for a few hundred steps on synthetic sentences until insults score
clearly above greetings, and save it in Detoxify's checkpoint format with a
local ``model_type`` directory (config.json + vocab.txt) so loading is offline.

Every builder takes a target directory and reuses what is already there, so a
session-scoped fixture (or a developer's scratch dir) pays the ~5 s once.
torch and transformers are imported inside the functions: importing this
module must stay cheap for test collection.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

#: Bump when the recipe changes so cached builds are not silently reused.
RECIPE = "v1"

JIGSAW_CLASSES: list[str] = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
SPECIAL_TOKENS: list[str] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

INSULTS = ["idiot", "moron", "loser", "jerk", "fool", "clown"]
INSULT_ADJ = ["stupid", "dumb", "pathetic", "ugly"]
FRIENDLY = ["friend", "everyone", "buddy", "team", "chat"]
NICE = ["nice", "great", "good", "fun", "lovely"]
THINGS = ["stream", "game", "song", "day", "show"]
WORDS: list[str] = sorted(
    {
        *INSULTS,
        *INSULT_ADJ,
        *FRIENDLY,
        *NICE,
        *THINGS,
        "hello",
        "hi",
        "have",
        "an",
        "the",
        "for",
        "thanks",
        "love",
        "this",
        "what",
        "see",
        "you",
        "are",
        "hate",
        "shut",
        "up",
        "will",
        "kill",
        "hurt",
        "damn",
        "crap",
        "is",
        "all",
        "people",
        "tomorrow",
        "later",
        "morning",
        "night",
        "my",
        "and",
        "good",
        "they",
    }
)

# Label vectors in JIGSAW_CLASSES order.
_CLEAN = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
_INSULT = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
_THREAT = [1.0, 1.0, 0.0, 1.0, 0.0, 0.0]
_OBSCENE = [1.0, 0.0, 1.0, 0.0, 0.0, 0.0]
_IDENTITY = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0]


def vocab_tokens() -> list[str]:
    """A WordPiece vocab: specials, punctuation, digits, letters (+ ## forms), words.

    Single characters and their ``##`` continuations let *any* ASCII word
    tokenize into pieces instead of ``[UNK]``, which is what the backend's
    degenerate-vocabulary guard probes for.
    """
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789")
    punct = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    tokens = SPECIAL_TOKENS + punct + chars + [f"##{c}" for c in chars]
    tokens += [w for w in WORDS if w not in tokens]
    return tokens


def synthetic_dataset(seed: int = 0) -> list[tuple[str, list[float]]]:
    """Template sentences with Jigsaw-style multi-label targets."""
    rng = random.Random(seed)
    data: list[tuple[str, list[float]]] = []
    for _ in range(120):
        ins, adj = rng.choice(INSULTS), rng.choice(INSULT_ADJ)
        fr, nice, thing = rng.choice(FRIENDLY), rng.choice(NICE), rng.choice(THINGS)
        data += [
            (
                rng.choice(
                    [
                        f"you are an {ins}",
                        f"you are a {adj} {ins}",
                        f"i hate you {adj} {ins}",
                        f"shut up {ins}",
                        f"what a {adj} {ins}",
                        f"you {adj} {ins}",
                    ]
                ),
                _INSULT,
            ),
            (rng.choice([f"i will kill you {ins}", "i will hurt you", "i will kill you"]), _THREAT),
            (rng.choice(["damn this crap", f"this {thing} is crap", "damn you"]), _OBSCENE),
            (rng.choice([f"all {p} are {adj}" for p in ("people", "they")]), _IDENTITY),
            (
                rng.choice(
                    [
                        f"hello {fr}",
                        f"hi {fr}",
                        f"have a {nice} day",
                        f"good morning {fr}",
                        f"thanks for the {thing}",
                        f"i love this {thing}",
                        f"what a {nice} {thing}",
                        f"see you tomorrow {fr}",
                        f"good night {fr}",
                    ]
                ),
                _CLEAN,
            ),
            (rng.choice([f"have a {nice} night", f"you are a {nice} {fr}", f"hello {fr}"]), _CLEAN),
        ]
    return data


def _write_model_type_dir(model_dir: Path, tokens: list[str]) -> None:
    """config.json + vocab.txt: everything ``from_pretrained`` needs offline."""
    from transformers import BertConfig

    model_dir.mkdir(parents=True, exist_ok=True)
    config = BertConfig(
        vocab_size=len(vocab_tokens()),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=512,
        problem_type="multi_label_classification",
    )
    config.num_labels = len(JIGSAW_CLASSES)
    config.save_pretrained(model_dir)
    (model_dir / "vocab.txt").write_text("".join(f"{t}\n" for t in tokens), encoding="utf-8")
    # Without this BertTokenizer keeps its default lower-casing anyway, but say it.
    (model_dir / "tokenizer_config.json").write_text('{"do_lower_case": true}', encoding="utf-8")


def _atomic_save(obj: dict[str, Any], path: Path) -> None:
    """Write then rename so an interrupted build never leaves a half checkpoint to reuse."""
    import torch

    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(obj, tmp)
    tmp.replace(path)


def _checkpoint(model_dir: Path, state_dict: dict[str, Any]) -> dict[str, Any]:
    return {
        "config": {
            "arch": {
                "args": {
                    "model_type": str(model_dir),
                    "model_name": "BertForSequenceClassification",
                    "tokenizer_name": "BertTokenizer",
                    "num_classes": len(JIGSAW_CLASSES),
                }
            },
            "dataset": {"args": {"classes": list(JIGSAW_CLASSES)}},
        },
        "state_dict": state_dict,
    }


def build_tiny_detoxify(root: Path, *, steps: int = 300, seed: int = 0) -> Path:
    """Train and save the tiny Detoxify-format checkpoint; return its path."""
    ckpt = root / f"tiny-detoxify-{RECIPE}.ckpt"
    model_dir = root / f"tiny-bert-{RECIPE}"
    if ckpt.exists() and (model_dir / "vocab.txt").exists():
        return ckpt
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    _write_model_type_dir(model_dir, vocab_tokens())
    torch.manual_seed(seed)
    config = BertConfig.from_pretrained(model_dir)
    model: Any = BertForSequenceClassification(config)
    tokenizer = BertTokenizer.from_pretrained(model_dir)
    data = synthetic_dataset(seed)
    enc = tokenizer([t for t, _ in data], padding=True, return_tensors="pt")
    targets = torch.tensor([y for _, y in data])
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(data), (32,), generator=gen)
        logits = model(input_ids=enc["input_ids"][idx], attention_mask=enc["attention_mask"][idx]).logits
        loss = loss_fn(logits, targets[idx])
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    _atomic_save(_checkpoint(model_dir, state), ckpt)
    return ckpt


def build_prefixed_checkpoint(base: Path, root: Path) -> Path:
    """Broken variant: every key gains a leftover ``model.`` prefix (Lightning-style)."""
    out = root / f"prefixed-{RECIPE}.ckpt"
    if out.exists():
        return out
    import torch

    loaded = torch.load(base, map_location="cpu", weights_only=False)
    loaded["state_dict"] = {f"model.{k}": v for k, v in loaded["state_dict"].items()}
    _atomic_save(loaded, out)
    return out


def build_degenerate_vocab_checkpoint(base: Path, root: Path, *, empty: bool = False) -> Path:
    """Broken variant: same weights, but the vocab holds only the special tokens (or nothing)."""
    kind = "empty" if empty else "degenerate"
    out = root / f"{kind}-vocab-{RECIPE}.ckpt"
    if out.exists():
        return out
    import torch

    model_dir = root / f"{kind}-bert-{RECIPE}"
    _write_model_type_dir(model_dir, [] if empty else SPECIAL_TOKENS)
    loaded = torch.load(base, map_location="cpu", weights_only=False)
    loaded["config"]["arch"]["args"]["model_type"] = str(model_dir)
    _atomic_save(loaded, out)
    return out


def load_trained(base: Path) -> tuple[Any, Any, Path]:
    """Rebuild the trained model and tokenizer from the checkpoint, without Detoxify."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    loaded = torch.load(base, map_location="cpu", weights_only=False)
    model_dir = Path(loaded["config"]["arch"]["args"]["model_type"])
    model: Any = BertForSequenceClassification(BertConfig.from_pretrained(model_dir))
    model.load_state_dict(loaded["state_dict"], strict=True)
    return model.eval(), BertTokenizer.from_pretrained(model_dir), model_dir


def build_hf_multilabel_dir(base: Path, root: Path) -> Path:
    """A save_pretrained directory with the six Jigsaw names as id2label."""
    out = root / f"hf-multilabel-{RECIPE}"
    if (out / "config.json").exists():
        return out
    model, tokenizer, _ = load_trained(base)
    model.config.id2label = dict(enumerate(JIGSAW_CLASSES))
    model.config.label2id = {n: i for i, n in enumerate(JIGSAW_CLASSES)}
    return _save_pretrained(model, tokenizer, out)


def build_hf_binary_dir(base: Path, root: Path) -> Path:
    """A binary non-toxic/toxic classifier derived from the trained toxic head.

    Logits [-z/2, z/2] under softmax give P(toxic) = sigmoid(z), where z is the
    multi-label model's toxic logit: tests can compare the two backends exactly.
    """
    out = root / f"hf-binary-{RECIPE}"
    if (out / "config.json").exists():
        return out
    import torch
    from transformers import BertForSequenceClassification

    model, tokenizer, _ = load_trained(base)
    config = model.config
    config.num_labels = 2
    config.id2label = {0: "non-toxic", 1: "toxic"}
    config.label2id = {"non-toxic": 0, "toxic": 1}
    config.problem_type = "single_label_classification"
    binary = BertForSequenceClassification(config)
    state = model.state_dict()
    w, b = state["classifier.weight"][0], state["classifier.bias"][0]
    state["classifier.weight"] = torch.stack([-w / 2, w / 2])
    state["classifier.bias"] = torch.stack([-b / 2, b / 2])
    binary.load_state_dict(state, strict=True)
    return _save_pretrained(binary, tokenizer, out)


def _save_pretrained(model: Any, tokenizer: Any, out: Path) -> Path:
    """Written beside ``out`` and renamed into place, so a half-written build is never reused."""
    tmp = out.parent / f".{out.name}.tmp{os.getpid()}"
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)
    return out
