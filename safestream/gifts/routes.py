"""POST /api/gift and GET /api/gifts (the catalogue)."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from safestream.app_keys import GIFTS_KEY, GUARD_KEY, SETTINGS_KEY
from safestream.chat.rooms import STREAM_RE
from safestream.errors import Forbidden
from safestream.gifts import catalogue
from safestream.http.docs import documented
from safestream.http.validation import read_json


class GiftIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    sender: str | None = Field(default=None, alias="from", pattern=r"^[A-Za-z0-9._-]{1,50}$")
    # Strict: "999" stays a string and 999 an integer, so the id is echoed in the type it came in.
    gift_id: StrictInt | Annotated[StrictStr, Field(max_length=32)] = Field(
        description="a catalogue entry (GET /api/gifts): its id (`rose`) or its numeric id (`999`)"
    )
    amount: int = Field(default=1, ge=1, le=catalogue.MAX_AMOUNT)
    stream: str | None = Field(default=None, pattern=STREAM_RE.pattern)

    @field_validator("gift_id")
    @classmethod
    def _known(cls, value: Any) -> Any:
        try:
            catalogue.lookup(value)
        except Exception as exc:  # becomes a field error
            raise ValueError("not in the gift catalogue (GET /api/gifts)") from exc
        return value


@documented(
    "Send a gift to a stream (default: the demo stream), as a user allowed to chat there "
    "(joined with a socket, or its owner; admins and global moderators need not be)",
    auth="bearer",
    body=GiftIn,
    tag="gifts",
    responses={
        200: "the gift event",
        403: "sending as someone else, banned or muted",
        409: "stream not live, or the sender is not in it",
        422: "not a catalogue gift, or amount outside 1-100",
        429: "rate_limited (with retry_after)",
    },
)
async def send_gift(request: web.Request) -> web.Response:
    principal = await request.app[GUARD_KEY].authenticate(request)
    body = await read_json(request, GiftIn)
    sender = body.sender or principal.username
    if sender != principal.username and not principal.is_admin:
        raise Forbidden("you can only send gifts as yourself")
    stream = body.stream or request.app[SETTINGS_KEY].default_stream
    payload = await request.app[GIFTS_KEY].send(
        stream=stream, sender=sender, gift_id=body.gift_id, amount=body.amount, staff=principal.is_global_moderator
    )
    return web.json_response(payload)


@documented(
    "The gift catalogue: the only gifts that can be sent and shown",
    tag="gifts",
    responses={200: "[{id, numeric_id, name, icon, value}]"},
)
async def list_gifts(request: web.Request) -> web.Response:
    return web.json_response([gift.public() for gift in catalogue.CATALOGUE])
