"""Chat modes over REST: the ``modes`` part of a policy, shield mode and bulk actions."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field, field_validator

from safestream.api.admin import authorize_path_stream
from safestream.app_keys import BULK_KEY, POLICY_CHANGES_KEY
from safestream.chat import bulk
from safestream.chat.policy_changes import public_modes
from safestream.http.docs import documented
from safestream.http.validation import read_json

RuleAction = Literal["off", "refuse", "flag", "mask", "hold", "block"]


class UniqueIn(BaseModel):
    on: bool = False
    window_secs: float = Field(default=30.0, gt=0, le=3600)
    crowd_users: int = Field(default=3, ge=1, le=1000)
    crowd_min_letters: int = Field(default=12, ge=1, le=500)


class LinksIn(BaseModel):
    action: RuleAction = "off"
    permitted_domains: list[str] = Field(default_factory=list, max_length=200)

    @field_validator("permitted_domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        out = []
        for value in values:
            domain = value.strip().lower().removeprefix("www.")
            labels = domain.split(".")
            if (
                not 3 <= len(domain) <= 253
                or len(labels) < 2
                or not all(label and label.replace("-", "").isalnum() and label.isascii() for label in labels)
            ):
                raise ValueError(f"{value!r} is not a domain name like example.com")
            out.append(domain)
        return out


class MentionsIn(BaseModel):
    action: RuleAction = "off"
    max_mentions: int = Field(default=5, ge=0, le=100)


class CapsIn(BaseModel):
    action: RuleAction = "off"
    min_length: int = Field(default=16, ge=1, le=1000)
    max_ratio: float = Field(default=0.7, ge=0.0, le=1.0)


class RepeatsIn(BaseModel):
    action: RuleAction = "off"
    max_run: int = Field(default=10, ge=2, le=500)
    min_words: int = Field(default=8, ge=2, le=500)
    max_word_share: float = Field(default=0.6, gt=0.0, le=1.0)


class ShieldPresetIn(BaseModel):
    min_account_age_mins: float = Field(default=60.0, ge=0, le=365 * 24 * 60)
    slow_mode_secs: float = Field(default=3.0, ge=0, le=3600)
    hold_threshold: float = Field(default=0.9, ge=0.0, le=1.0)


def _names(values: list[str], what: str, longest: int) -> list[str]:
    for value in values:
        if not 1 <= len(value) <= longest or any(c.isspace() for c in value):
            raise ValueError(f"each {what} has 1 to {longest} characters and no spaces")
    return values


class ModesIn(BaseModel):
    unique: UniqueIn = Field(default_factory=UniqueIn)
    links: LinksIn = Field(default_factory=LinksIn)
    mentions: MentionsIn = Field(default_factory=MentionsIn)
    caps: CapsIn = Field(default_factory=CapsIn)
    repeats: RepeatsIn = Field(default_factory=RepeatsIn)
    min_account_age_mins: float = Field(default=0.0, ge=0, le=365 * 24 * 60)
    verified_email: bool = False
    emote_only: bool = False
    emotes: list[str] = Field(default_factory=list, max_length=300)
    members_only: bool = False
    members: list[str] = Field(default_factory=list, max_length=5000)
    shield_preset: ShieldPresetIn = Field(default_factory=ShieldPresetIn)

    @field_validator("emotes")
    @classmethod
    def _emotes(cls, values: list[str]) -> list[str]:
        return _names(values, "emote", 32)

    @field_validator("members")
    @classmethod
    def _members(cls, values: list[str]) -> list[str]:
        return _names(values, "member name", 50)


class ShieldIn(BaseModel):
    on: bool


class BulkIn(BaseModel):
    phrase: str = Field(min_length=2, max_length=200)
    window_mins: float = Field(default=10.0, gt=0, le=bulk.MAX_WINDOW_MINS)
    sanction: Literal["none", "timeout", "ban"] = "none"
    duration_s: float = Field(default=600.0, ge=1, le=365 * 86400)
    reason: str = Field(default="", max_length=500)


_WHO = "moderator of the stream (or its owner) or admin"


@documented(
    "Turn shield mode on (a stricter preset) or off (the previous policy back)",
    auth=_WHO,
    body=ShieldIn,
    tag="moderation",
    responses={200: "the stream's modes", 403: "not allowed"},
)
async def shield(request: web.Request) -> web.Response:
    stream, principal = await authorize_path_stream(request)
    body = await read_json(request, ShieldIn)
    policy = await request.app[POLICY_CHANGES_KEY].set_shield(stream=stream, on=body.on, actor=principal.username)
    return web.json_response(public_modes(stream, policy))


@documented(
    "Remove recent messages containing a phrase and time out or ban their senders",
    auth=_WHO,
    body=BulkIn,
    tag="moderation",
    responses={200: "what was done, with its id for undo", 403: "not allowed"},
)
async def bulk_action(request: web.Request) -> web.Response:
    stream, principal = await authorize_path_stream(request)
    body = await read_json(request, BulkIn)
    result = await request.app[BULK_KEY].bulk_action(
        principal=principal,
        stream=stream,
        phrase=body.phrase,
        window_mins=body.window_mins,
        sanction=body.sanction,
        duration_s=body.duration_s,
        reason=body.reason,
    )
    return web.json_response(result)


@documented(
    "Undo the bans and timeouts of a bulk action (within SAFESTREAM_BULK_UNDO_SECS)",
    auth=_WHO,
    tag="moderation",
    responses={200: "unbanned", 404: "no such bulk action", 409: "expired or undone"},
)
async def undo_bulk(request: web.Request) -> web.Response:
    stream, principal = await authorize_path_stream(request)
    try:
        action_id = int(request.match_info["id"])
    except ValueError:
        action_id = -1
    return web.json_response(
        await request.app[BULK_KEY].undo_bulk(principal=principal, stream=stream, action_id=action_id)
    )
