"""The error boundary and the event table of the socket handlers.

Every client event handler is an ``@acked`` ``on_<name>`` method: whatever
happens, the client gets an ack (its typed error, or ``internal`` for a bug),
and only methods wrapped here are in the namespace's ``client_events``, the
table ChatServer dispatches client events by.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from safestream.errors import failure_ack

Handler = Callable[..., Awaitable[Any]]

#: Events only the Socket.IO lifecycle may deliver, never a client.
LIFECYCLE_EVENTS = frozenset({"connect", "disconnect"})
CLIENT_EVENT_ATTR = "__safestream_client_event__"


def acked(handler: Handler) -> Handler:
    """The error boundary of a client event handler: every outcome is an ack.

    It also publishes the handler: only ``on_<name>`` methods wrapped here are in
    ``ChatNamespace.client_events``, the table client events are dispatched by.
    """

    @functools.wraps(handler)
    async def wrapper(self: Any, sid: str, data: Any = None, *rest: Any) -> Any:
        try:
            return await handler(self, sid, data)
        except Exception as exc:  # noqa: BLE001 - every outcome is an ack
            return failure_ack(exc, handler.__name__, sid)

    setattr(wrapper, CLIENT_EVENT_ATTR, True)
    return wrapper


def client_events(cls: type) -> frozenset[str]:
    """The public event names of a namespace class: its ``@acked`` ``on_*`` methods."""
    return frozenset(
        name[3:]
        for name in dir(cls)
        if name.startswith("on_") and getattr(getattr(cls, name), CLIENT_EVENT_ATTR, False)
    )
