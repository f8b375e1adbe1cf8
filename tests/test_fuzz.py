"""Property-based fuzzing: thousands of random event payloads against a live server."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ClientFactory, Recorder

RESERVED = {"connect", "disconnect", "connect_error"}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
shaped = st.fixed_dictionaries(
    {},
    optional={
        "message": json_values | st.text(max_size=600),
        "stream": json_values | st.sampled_from(["main", "x", ""]),
        "since": json_values | st.integers(min_value=-5, max_value=10**12),
    },
)
events = st.sampled_from(["chat", "join", "leave", "console_join"]) | st.text(min_size=1, max_size=12).filter(
    lambda e: e not in RESERVED
)

_client: dict[str, Recorder] = {}


@settings(max_examples=2500, deadline=None, suppress_health_check=list(HealthCheck))
@given(event=events, payload=shaped | json_values)
async def test_random_events_never_hurt_the_server(
    client: TestClient, sio_client: ClientFactory, event: str, payload: Any
) -> None:
    key = str(id(client))
    if key not in _client or not _client[key].sio.connected:
        _client.clear()
        _client[key] = await sio_client("demo_user", "demo123", join="main")
    rec = _client[key]
    ack = await rec.call(event, payload)
    # Every answer is an ack with ok true, or ok false with a typed error code.
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        assert isinstance(ack["error"]["code"], str) and ack["error"]["code"] != "internal", ack


async def test_server_is_healthy_after_fuzzing(client: TestClient, sio_client: ClientFactory) -> None:
    rec = await sio_client("chat_viewer", "viewer789", join="main")
    assert (await rec.call("chat", {"message": "after the storm"}))["ok"]
    assert (await client.get("/healthz")).status == 200
