"""A Socket.IO packet that encodes its JSON once and learns from that whether it is binary.

python-socketio decides whether an outgoing EVENT or ACK needs the binary
packet types by walking the whole payload in Python (``data_is_binary``
builds a list at every level and never stops early). A join ack carries the
replayed history, so in a reconnect storm that walk cost more than the join
handler itself (load/README.md, "Reconnect storm"). Here the payload goes
through the JSON codec first: if it encodes, it has no bytes in it and the
text is kept for ``encode``; if the codec refuses it (bytes, or anything else
it cannot encode), python-socketio's own walk decides as before.
"""

from __future__ import annotations

from typing import Any

from socketio import packet

_TEXT_TYPES = (packet.EVENT, packet.ACK)


class JsonTextPacket(packet.Packet):
    """Installed with ``socketio.AsyncServer(serializer=JsonTextPacket)``; decoding is unchanged."""

    def __init__(
        self,
        packet_type: int = packet.EVENT,
        data: Any = None,
        namespace: str | None = None,
        id: int | None = None,
        binary: bool | None = None,
        encoded_packet: Any = None,
    ) -> None:
        self._text: str | None = None
        if binary is None and encoded_packet is None and data is not None and packet_type in _TEXT_TYPES:
            try:
                self._text = self.json.dumps(data, separators=(",", ":"))
                binary = False
            except TypeError:
                pass  # bytes inside, or something the codec cannot encode: the walk decides
        super().__init__(packet_type, data, namespace, id, binary, encoded_packet)

    def encode(self) -> Any:
        # Packets are encoded right after they are built (python-socketio and our fan-out both
        # do), so the text still matches ``data``.
        if self._text is None or self.packet_type not in _TEXT_TYPES:
            return super().encode()
        encoded = str(self.packet_type)
        if self.namespace is not None and self.namespace != "/":
            encoded += self.namespace + ","
        if self.id is not None:
            encoded += str(self.id)
        return encoded + self._text
