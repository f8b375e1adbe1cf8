"""JsonTextPacket: the same frames as python-socketio's Packet, without its binary walk."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from socketio import packet

from safestream.app_keys import SIO_KEY
from safestream.sio.json_codec import OrjsonCodec
from safestream.sio.packets import JsonTextPacket
from tests.conftest import ClientFactory

PAYLOADS: list[Any] = [
    ["chat", {"id": 7, "message": "héllo \u2603", "toxic": False, "score": 0.25}],
    [{"ok": True, "history": [{"id": i, "message": f"m{i}"} for i in range(20)], "gap": False}],
    ["presence", {"stream": "main", "viewers": 3}],
    [None, [], {}, 0, ""],
]


class PlainPacket(packet.Packet):
    """python-socketio's packet with the same codec, as the reference."""

    json = OrjsonCodec


@pytest.fixture(autouse=True)
def _codec() -> None:
    JsonTextPacket.json = OrjsonCodec  # what create_sio installs


@pytest.mark.parametrize("data", PAYLOADS)
@pytest.mark.parametrize(
    ("kind", "namespace", "id_"), [(packet.EVENT, "/", None), (packet.ACK, "/", 12), (packet.EVENT, "/admin", 3)]
)
def test_frames_match_python_socketio(data: Any, kind: int, namespace: str, id_: int | None) -> None:
    ours = JsonTextPacket(kind, data=data, namespace=namespace, id=id_)
    assert ours.encode() == PlainPacket(kind, data=data, namespace=namespace, id=id_).encode()
    assert ours.packet_type == kind


def test_bytes_still_go_out_as_a_binary_packet() -> None:
    data = ["file", {"name": "a", "blob": b"\x00\x01"}]
    ours = JsonTextPacket(packet.EVENT, data=data)
    assert ours.packet_type == packet.BINARY_EVENT
    assert ours.encode() == PlainPacket(packet.EVENT, data=data).encode()


def test_a_payload_the_codec_cannot_encode_still_raises_on_encode() -> None:
    ours = JsonTextPacket(packet.EVENT, data=["x", {"when": object()}])
    with pytest.raises(TypeError):
        ours.encode()


def test_incoming_frames_decode_as_before() -> None:
    frame = '421["join",{"stream":"main","since":4}]'
    ours, plain = JsonTextPacket(encoded_packet=frame), PlainPacket(encoded_packet=frame)
    assert (ours.packet_type, ours.id, ours.data) == (plain.packet_type, plain.id, plain.data)


async def test_the_server_sends_join_acks_through_it(client: TestClient, sio_client: ClientFactory) -> None:
    assert client.app[SIO_KEY].packet_class is JsonTextPacket
    sender = await sio_client("demo_user", "demo123", join="main")
    sent = await sender.call("chat", {"message": "snowman \u2603 says hi"})
    viewer = await sio_client("chat_viewer", "viewer789")
    ack = await viewer.call("join", {"stream": "main", "since": sent["id"] - 1})
    assert [m["message"] for m in ack["history"]] == ["snowman \u2603 says hi"]
