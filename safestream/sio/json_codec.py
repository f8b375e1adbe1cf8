"""orjson behind the ``json`` interface python-socketio expects (dumps -> str).

orjson refuses lone surrogates, which the JSON text of a hostile (or buggy)
client may carry as ``\\ud800`` escapes; the standard library accepts them,
so it takes over for those rare packets instead of the packet failing.
Note python-socketio installs this codec process-wide (``Packet.json``).
"""

from __future__ import annotations

import json
from typing import Any

import orjson


class OrjsonCodec:
    """Passed as ``socketio.AsyncServer(json=...)``: encodes each broadcast once, faster."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        try:
            return orjson.dumps(obj).decode()
        except TypeError:
            return json.dumps(obj, separators=(",", ":"))

    @staticmethod
    def loads(data: str | bytes, **_: Any) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            try:
                return json.loads(data)  # raises ValueError itself when it really is not JSON
            except RecursionError as exc:  # nested deeper than either parser goes
                raise ValueError("JSON nested too deeply") from exc
