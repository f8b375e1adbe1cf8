"""Guard rails for the console's policy editor: preview a draft, refuse a silent "allow everything",
restore the server default.

A draft is scored by the real moderation chain and judged by the draft policy
exactly as the send path would (``Policy.judge``), next to what the stream's
current policy does, so a moderator sees what a change will do before saving.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from safestream.api.moderation import PolicyIn
from safestream.app_keys import ACTIONS_KEY, MODERATION_KEY, POLICIES_KEY
from safestream.chat.pending import merge_hit
from safestream.console.views import base_context, policy_context, stream_post
from safestream.http.docs import documented
from safestream.http.validation import field_errors
from safestream.moderation.modes.checker import CONTENT_RULES
from safestream.moderation.modes.rule_io import Sender
from safestream.moderation.policy import Decision, Policy
from safestream.templating import JINJA_KEY, render

SAMPLES = (
    "what a great stream",
    "you are a stupid idiot",
    "this is fucking awesome",
    "I will find you and hurt you",
    "gg, well played",
)
MAX_SAMPLES = 10


def permissive_warning(policy: Policy) -> str | None:
    """Why a policy needs a confirmation before saving: no level acts on the scores (None: it does)."""
    if any(level.action != "allow" for level in policy.levels):
        return None
    if policy.term_action != "allow" and (policy.default_terms or policy.blocked_terms):
        return (
            "No level acts on the moderation scores: only listed terms are caught, and a message "
            "like “you are a stupid idiot” would show unflagged."
        )
    return "This policy lets every message through: nothing would be flagged, masked, held or blocked."


def samples_from(form: dict[str, str]) -> list[str]:
    lines = [line.strip()[:500] for line in form.get("samples", "").splitlines() if line.strip()]
    return lines[:MAX_SAMPLES] or list(SAMPLES)


def policy_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The editor's flat form fields -> the PolicyIn shape (validated by the caller)."""
    levels = []
    for category in ("*", "toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"):
        action = form.get(f"action[{category}]", "")
        threshold = form.get(f"threshold[{category}]", "").strip()
        if action and action != "none" and threshold:
            levels.append({"category": category, "threshold": threshold, "action": action})
    strikes = None
    if form.get("strikes_count", "").strip():
        strikes = {
            "count": form.get("strikes_count"),
            "window_secs": form.get("strikes_window_secs") or 600,
            "mute_secs": form.get("strikes_mute_secs") or 300,
        }
    return {
        "levels": levels,
        "failure_action": form.get("failure_action", "hold"),
        "blocked_terms": [t.strip() for t in form.get("blocked_terms", "").splitlines() if t.strip()],
        "permitted_terms": [t.strip() for t in form.get("permitted_terms", "").splitlines() if t.strip()],
        "default_terms": form.get("default_terms") == "on",
        "term_action": form.get("term_action", "mask"),
        "slow_mode_secs": form.get("slow_mode_secs") or 0,
        "strikes": strikes,
        "modes": modes_from_form(form),
    }


def _lines(form: dict[str, str], name: str) -> list[str]:
    return [t.strip() for t in form.get(name, "").splitlines() if t.strip()]


def modes_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The chat-mode fields of the policy form (``console/_modes.html``) -> the ModesIn shape."""

    def rule(name: str, **numbers: str) -> dict[str, Any]:
        out: dict[str, Any] = {"action": form.get(f"modes.{name}.action", "off")}
        for key, default in numbers.items():
            out[key] = form.get(f"modes.{name}.{key}", "").strip() or default
        return out

    links = rule("links")
    links["permitted_domains"] = _lines(form, "modes.links.permitted_domains")
    return {
        "unique": {
            "on": form.get("modes.unique.on") == "on",
            "window_secs": form.get("modes.unique.window_secs", "").strip() or 30,
            "crowd_users": form.get("modes.unique.crowd_users", "").strip() or 3,
        },
        "links": links,
        "mentions": rule("mentions", max_mentions="5"),
        "caps": rule("caps", max_ratio="0.7"),
        "repeats": rule("repeats", max_run="10"),
        "min_account_age_mins": form.get("modes.min_account_age_mins", "").strip() or 0,
        "verified_email": form.get("modes.verified_email") == "on",
        "emote_only": form.get("modes.emote_only") == "on",
        "emotes": _lines(form, "modes.emotes"),
        "members_only": form.get("modes.members_only") == "on",
        "members": _lines(form, "modes.members"),
        "shield_preset": {
            "min_account_age_mins": form.get("modes.shield_preset.min_account_age_mins", "").strip() or 60,
            "slow_mode_secs": form.get("modes.shield_preset.slow_mode_secs", "").strip() or 3,
        },
    }


#: Who the preview judges as: a regular viewer, so the content rules show and the gates do not.
_PREVIEW_SENDER = Sender("preview", account_age_secs=1e12, email_verified=True)


def with_rules(policy: Policy, text: str, decision: Decision) -> Decision:
    """The decision with the policy's content rules (links, mentions, caps, ...) applied, as sending would."""
    for rule in CONTENT_RULES:
        hit = rule(text, policy.modes, _PREVIEW_SENDER)
        if hit is not None and hit.action == "refuse":
            return Decision("refuse", decision.score, decision.toxic, decision.category, "", rule=hit.rule)
        decision = merge_hit(decision, hit, text)
    return decision


def draft_from(form: dict[str, str]) -> tuple[Policy | None, list[str]]:
    try:
        return Policy.from_dict(PolicyIn.model_validate(policy_from_form(form)).model_dump()), []
    except ValidationError as exc:
        return None, [f"{e['field']}: {e['message']}" for e in field_errors(exc)]
    except ValueError as exc:  # terms that pass one by one but conflict together
        return None, [str(exc)]


@documented("Console: what a draft policy would do to sample messages (nothing is saved)", tag="console")
async def preview(request: web.Request) -> web.Response:
    _, stream, form = await stream_post(request)
    draft, errors = draft_from(form)
    rows: list[dict[str, Any]] = []
    if draft is not None:
        samples = samples_from(form)
        current = request.app[POLICIES_KEY].get(stream)
        for text, assessment in zip(samples, await request.app[MODERATION_KEY].assess(samples), strict=True):
            now = with_rules(
                current, text, current.judge(text, assessment.normalized, assessment.scores, failed=assessment.failed)
            )
            then = with_rules(
                draft, text, draft.judge(text, assessment.normalized, assessment.scores, failed=assessment.failed)
            )
            rows.append(
                {
                    "text": text,
                    "now": now.action,
                    "draft": then.action,
                    "shown": then.shown or text,
                    "score": round(then.score, 2),
                    "changed": now.action != then.action,
                }
            )
    return render(
        request.app[JINJA_KEY],
        "console/_policy_preview.html",
        {"rows": rows, "errors": errors, "warning": permissive_warning(draft) if draft is not None else None},
    )


@documented("Console: drop the stream's own policy and use the server default", tag="console")
async def restore_default(request: web.Request) -> web.Response:
    principal, stream, _ = await stream_post(request)
    policies = request.app[POLICIES_KEY]
    await policies.reset(stream)
    await request.app[ACTIONS_KEY].record(
        actor=principal.username, action="policy_restore_default", stream=stream, details=policies.default.to_dict()
    )
    context = policy_context(policies.default.to_dict(), custom=False, restored=True)
    return render(
        request.app[JINJA_KEY],
        "console/_policy.html",
        {**base_context(request, principal), "stream": stream, **context},
    )
