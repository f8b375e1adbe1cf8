"""A stream's moderation policy and its review queue, for its moderators and admins."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field, field_validator

from safestream.api.admin import authorize_path_stream
from safestream.api.modes import ModesIn
from safestream.app_keys import POLICIES_KEY, POLICY_CHANGES_KEY, REVIEW_KEY
from safestream.http.docs import documented
from safestream.http.validation import read_json
from safestream.moderation.terms import TermRule

Action = Literal["allow", "flag", "mask", "hold", "block"]
Category = Literal["*", "toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"]

#: Per list. Every term costs compile time (once) and matching time (every message):
#: 500 terms of 48 characters compile in about half a second, off the event loop.
MAX_TERMS = 500
MAX_TERM_LENGTH = 48


class LevelIn(BaseModel):
    category: Category = "*"
    threshold: float = Field(ge=0.0, le=1.0)
    action: Action


class StrikesIn(BaseModel):
    count: int = Field(default=3, ge=1, le=100)
    window_secs: float = Field(default=600.0, gt=0, le=86400)
    mute_secs: float = Field(default=300.0, gt=0, le=30 * 86400)


class PolicyIn(BaseModel):
    levels: list[LevelIn] = Field(max_length=30)
    failure_action: Action = "hold"
    blocked_terms: list[str] = Field(default_factory=list, max_length=MAX_TERMS)
    permitted_terms: list[str] = Field(default_factory=list, max_length=MAX_TERMS)
    default_terms: bool = True
    term_action: Action = "mask"
    slow_mode_secs: float = Field(default=0.0, ge=0, le=3600)
    strikes: StrikesIn | None = None
    #: Chat modes and spam rules (``moderation.modes``); omitted: the stream's current modes are kept.
    modes: ModesIn | None = None

    @field_validator("blocked_terms", "permitted_terms")
    @classmethod
    def _terms(cls, values: list[str]) -> list[str]:
        for value in values:
            if not 1 <= len(value) <= MAX_TERM_LENGTH:
                raise ValueError(f"each term has 1 to {MAX_TERM_LENGTH} characters")
            if not value.isprintable():  # a line break or control character is never part of a word
                raise ValueError("a term may not contain line breaks or control characters")
            TermRule.parse(value)  # "word", "word*", "*word" or "*word*"; raises ValueError
        return values


class ReviewIn(BaseModel):
    decision: Literal["approve", "approve_permit", "deny"]
    terms: list[str] = Field(default_factory=list, max_length=20)


_WHO = "moderator of the stream (or its owner) or admin"


@documented(
    "The stream's moderation policy",
    auth=_WHO,
    tag="moderation",
    responses={200: "the policy and whether it is the server default", 403: "not allowed"},
)
async def get_policy(request: web.Request) -> web.Response:
    stream, _ = await authorize_path_stream(request)
    policies = request.app[POLICIES_KEY]
    policy = await policies.load(stream)
    return web.json_response({"stream": stream, "custom": policies.is_custom(stream), **policy.to_dict()})


@documented(
    "Replace the stream's moderation policy",
    auth=_WHO,
    body=PolicyIn,
    tag="moderation",
    responses={200: "stored", 403: "not allowed", 422: "invalid policy"},
)
async def put_policy(request: web.Request) -> web.Response:
    stream, principal = await authorize_path_stream(request)
    body = await read_json(request, PolicyIn)
    policy = await request.app[POLICY_CHANGES_KEY].edit_policy(
        stream=stream, data=body.model_dump(), actor=principal.username
    )
    return web.json_response({"stream": stream, "custom": True, **policy.to_dict()})


@documented(
    "Held messages waiting for review",
    auth=_WHO,
    tag="moderation",
    responses={200: "[{id, user, message, score, categories, ts}]", 403: "not allowed"},
)
async def list_review(request: web.Request) -> web.Response:
    stream, _ = await authorize_path_stream(request)
    return web.json_response(await request.app[REVIEW_KEY].pending(stream=stream))


@documented(
    "Approve (once, or and permit its terms) or deny a held message",
    auth=_WHO,
    body=ReviewIn,
    tag="moderation",
    responses={200: "decided", 404: "no such held message", 409: "already reviewed"},
)
async def decide_review(request: web.Request) -> web.Response:
    stream, principal = await authorize_path_stream(request)
    try:
        seq = int(request.match_info["id"])
    except ValueError:
        seq = -1
    body = await read_json(request, ReviewIn)
    result = await request.app[REVIEW_KEY].decide(
        actor=principal.username, stream=stream, seq=seq, decision=body.decision, terms=body.terms or None
    )
    return web.json_response(result)
