"""Console actions (POST, CSRF-checked). Each calls the same service the REST API uses
and answers with a fragment htmx swaps in (a toast, a re-rendered panel)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from safestream.api.admin import check_target
from safestream.api.moderation import PolicyIn
from safestream.app_keys import (
    ACTIONS_KEY,
    BULK_KEY,
    POLICIES_KEY,
    POLICY_CHANGES_KEY,
    REVIEW_KEY,
    ROOMS_KEY,
    SESSIONS_KEY,
)
from safestream.auth.roles import Role
from safestream.chat.review_queue import DECISIONS
from safestream.console.policy_editor import permissive_warning, policy_from_form
from safestream.console.views import base_context, policy_context, stream_post, toast
from safestream.errors import InvalidPayload, NotFound, SafeStreamError
from safestream.http.docs import documented
from safestream.http.validation import field_errors
from safestream.storage import users
from safestream.templating import JINJA_KEY, render

USER_ACTIONS = ("kick", "mute", "timeout", "ban", "unban", "unmute")


@documented("Console: kick, mute, timeout, ban, unban or unmute a user in this stream", tag="console")
async def user_action(request: web.Request) -> web.Response:
    principal, stream, form = await stream_post(request)
    action = request.match_info["action"]
    if action not in USER_ACTIONS:
        raise NotFound(f"no action {action!r}")
    # The name exactly as sent: stripping "chat_viewer\n" would act on the real chat_viewer.
    username = form.get("username", "")
    reason = form.get("reason", "")[:500]
    target = await users.get_user(request.app[SESSIONS_KEY], username=username) if username else None
    if target is None:
        return toast(request, f"No user named {username!r}.", ok=False, status=404)
    room = await request.app[ROOMS_KEY].load(stream)
    check_target(principal, Role.parse(target.role), owns_stream=room.owner == target.username)
    duration = _duration(form.get("duration_s"), default=300 if action in ("mute", "timeout") else None)
    app, who = request.app, principal.username
    if action == "kick":
        count = await app[ACTIONS_KEY].kick(actor=who, username=username, stream=stream, reason=reason)
        return toast(request, f"Kicked {username} ({count} connection(s)).")
    if action == "mute":
        await app[ACTIONS_KEY].mute(
            actor=who, username=username, stream=stream, duration_s=duration or 300, reason=reason
        )
        return toast(request, f"Muted {username} for {duration} s.")
    if action == "timeout":
        await app[ACTIONS_KEY].ban(
            actor=who, username=username, stream=stream, duration_s=duration or 300, reason=reason
        )
        return toast(request, f"Timed out {username} for {duration} s.")
    if action == "ban":
        await app[ACTIONS_KEY].ban(actor=who, username=username, stream=stream, duration_s=duration, reason=reason)
        return toast(request, f"Banned {username}" + (f" for {duration} s." if duration else "."))
    if action == "unban":
        await app[ACTIONS_KEY].unban(actor=who, username=username, stream=stream)
        return toast(request, f"Unbanned {username}.")
    await app[ACTIONS_KEY].unmute(actor=who, username=username, stream=stream)
    return toast(request, f"Unmuted {username}.")


def _duration(raw: str | None, *, default: int | None) -> int | None:
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidPayload("duration must be a whole number of seconds") from exc
    if not 1 <= value <= 365 * 86400:
        raise InvalidPayload("duration must be between 1 s and a year")
    return value


@documented("Console: approve, approve and permit, or deny a held message", tag="console")
async def review_action(request: web.Request) -> web.Response:
    principal, stream, form = await stream_post(request)
    decision = form.get("decision", "")
    if decision not in DECISIONS:
        raise InvalidPayload("decision must be approve, approve_permit or deny")
    try:
        seq = int(request.match_info["id"])
    except ValueError as exc:
        raise NotFound("no such message") from exc
    try:
        result = await request.app[REVIEW_KEY].decide(
            actor=principal.username, stream=stream, seq=seq, decision=decision
        )
    except SafeStreamError as exc:
        return toast(request, exc.message, ok=False, status=exc.status)
    words = {"approve": "Approved", "approve_permit": "Approved and permitted", "deny": "Denied"}[decision]
    extra = f" ({', '.join(result['permitted'])} now permitted)" if result.get("permitted") else ""
    return toast(request, f"{words} message {seq}{extra}.")


@documented("Console: remove a message from viewers' screens", tag="console")
async def remove_message(request: web.Request) -> web.Response:
    principal, stream, _ = await stream_post(request)
    try:
        seq = int(request.match_info["id"])
    except ValueError as exc:
        raise NotFound("no such message") from exc
    await request.app[ACTIONS_KEY].remove_messages(actor=principal.username, stream=stream, ids=[seq])
    return toast(request, f"Removed message {seq}.")


@documented("Console: save the stream's moderation policy", tag="console")
async def save_policy(request: web.Request) -> web.Response:
    principal, stream, form = await stream_post(request)
    policies = request.app[POLICIES_KEY]
    data = policy_from_form(form)
    try:
        validated = PolicyIn.model_validate(data).model_dump()
        policy = await request.app[POLICY_CHANGES_KEY].compile_edit(stream=stream, data=validated)
    except (ValidationError, SafeStreamError) as exc:
        errors = (
            [f"{e['field']}: {e['message']}" for e in field_errors(exc)]
            if isinstance(exc, ValidationError)
            else [exc.message]
        )
        context = policy_context(data, custom=policies.is_custom(stream), errors=errors)
        return render(
            request.app[JINJA_KEY],
            "console/_policy.html",
            {**base_context(request, principal), "stream": stream, **context},
            status=422,
        )
    warning = permissive_warning(policy)
    if warning and form.get("confirm_permissive") != "on":
        # Clearing every row used to switch moderation off without a word: say so, and ask.
        context = policy_context(
            data, custom=policies.is_custom(stream), permissive=warning, samples=form.get("samples", "")
        )
        return render(
            request.app[JINJA_KEY],
            "console/_policy.html",
            {**base_context(request, principal), "stream": stream, **context},
            status=422,
        )
    policy = await request.app[POLICY_CHANGES_KEY].apply_policy(stream=stream, policy=policy, actor=principal.username)
    context = policy_context(policy.to_dict(), custom=True, saved=True)
    return render(
        request.app[JINJA_KEY],
        "console/_policy.html",
        {**base_context(request, principal), "stream": stream, **context},
    )


@documented("Console: shield mode on or off (re-renders the raid tools and the policy editor)", tag="console")
async def shield(request: web.Request) -> web.Response:
    principal, stream, form = await stream_post(request)
    policy = await request.app[POLICY_CHANGES_KEY].set_shield(
        stream=stream, on=form.get("on") == "1", actor=principal.username
    )
    context = {
        **base_context(request, principal),
        "stream": stream,
        **policy_context(policy.to_dict(), custom=True),
        "oob": True,
    }
    return render(request.app[JINJA_KEY], "console/_raid_swap.html", context)


@documented("Console: remove recent messages containing a phrase, sanction their senders", tag="console")
async def bulk_action(request: web.Request) -> web.Response:
    principal, stream, form = await stream_post(request)
    context: dict[str, Any] = {**base_context(request, principal), "stream": stream, "error": False}
    try:
        result = await request.app[BULK_KEY].bulk_action(
            principal=principal,
            stream=stream,
            phrase=form.get("phrase", "")[:200],
            window_mins=_number(form.get("window_mins"), 10.0),
            sanction=form.get("sanction", "none"),
            duration_s=_number(form.get("duration_s"), 600.0),
        )
    except SafeStreamError as exc:
        return render(
            request.app[JINJA_KEY],
            "console/_bulk_result.html",
            {**context, "error": True, "message": exc.message},
            status=exc.status,
        )
    done = {"none": "", "timeout": " and timed out", "ban": " and banned"}[result["sanction"]]
    message = (
        f"Removed {len(result['ids'])} message(s){done if result['users'] else ''} {len(result['users'])} sender(s)."
        if result["sanction"] != "none"
        else f"Removed {len(result['ids'])} message(s)."
    )
    return render(
        request.app[JINJA_KEY],
        "console/_bulk_result.html",
        {**context, "message": message, "undo_id": result["id"] if result["undo_until"] else None},
    )


@documented("Console: undo the bans of a bulk action", tag="console")
async def bulk_undo(request: web.Request) -> web.Response:
    principal, stream, _ = await stream_post(request)
    context: dict[str, Any] = {**base_context(request, principal), "stream": stream, "error": False}
    try:
        action_id = int(request.match_info["id"])
        result = await request.app[BULK_KEY].undo_bulk(principal=principal, stream=stream, action_id=action_id)
    except ValueError:
        return render(
            request.app[JINJA_KEY],
            "console/_bulk_result.html",
            {**context, "error": True, "message": "No such action."},
            status=404,
        )
    except SafeStreamError as exc:
        return render(
            request.app[JINJA_KEY],
            "console/_bulk_result.html",
            {**context, "error": True, "message": exc.message},
            status=exc.status,
        )
    return render(
        request.app[JINJA_KEY],
        "console/_bulk_result.html",
        {**context, "message": f"Lifted the bans of {len(result['unbanned'])} user(s)."},
    )


def _number(raw: str | None, default: float) -> float:
    try:
        return float(raw) if raw else default
    except ValueError as exc:
        raise InvalidPayload("numbers only, please") from exc


@documented("Console: reset the metrics counters (admins)", tag="console")
async def reset_metrics(request: web.Request) -> web.Response:
    principal, _, _ = await stream_post(request)
    if not principal.is_admin:
        return toast(request, "Only admins reset metrics.", ok=False, status=403)
    await request.app[ACTIONS_KEY].reset_metrics()
    await request.app[ACTIONS_KEY].record(actor=principal.username, action="reset_metrics")
    return toast(request, "Metrics reset.")
