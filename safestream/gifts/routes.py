"""POST /api/gift."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from safestream.api.docs import documented
from safestream.api.validation import read_json
from safestream.app_keys import GIFTS_KEY, SETTINGS_KEY
from safestream.auth.guard import authenticate
from safestream.chat.rooms import STREAM_RE
from safestream.errors import Forbidden


class GiftIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    sender: str | None = Field(default=None, alias="from", max_length=50)
    gift_id: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    amount: int = Field(default=1, ge=1, le=10000)
    stream: str | None = Field(default=None, pattern=STREAM_RE.pattern)


@documented("Send a gift to a stream (default: the demo stream)", auth="bearer", body=GiftIn, tag="gifts",
            responses={200: "the gift event", 403: "sending as someone else", 409: "stream not live"})
async def send_gift(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    body = await read_json(request, GiftIn)
    sender = body.sender or principal.username
    if sender != principal.username and not principal.is_admin:
        raise Forbidden("you can only send gifts as yourself")
    stream = body.stream or request.app[SETTINGS_KEY].default_stream
    payload = await request.app[GIFTS_KEY].send(stream=stream, sender=sender, gift_id=body.gift_id,
                                                amount=body.amount)
    return web.json_response(payload)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/gift", send_gift)
