"""From a verified ID token to a SafeStream account: the (issuer, sub) link, a name, a role.

The link decides who signs in. A first sign-in creates an account named after
the configured claim; a name that is taken (a local user, another linked
account), reserved or refused by the name check gets a suffix or a neutral
``user-...`` name instead: signing in never takes over an existing account.
Roles come from the provider only when ``SAFESTREAM_OIDC_ROLE_CLAIM`` is set;
then every sign-in applies the mapped role (the provider is the source of truth).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from safestream.auth.guard import Guard
from safestream.auth.oidc_settings import OidcSettings
from safestream.auth.roles import Principal, Role
from safestream.auth.routes import EMAIL_RE
from safestream.errors import Conflict, InvalidPayload, SignInFailed
from safestream.storage import identities, users
from safestream.storage.db import SessionMaker

log = logging.getLogger(__name__)

#: Not an argon2 hash: a password login can never match an account made by sign-in.
NO_PASSWORD = "!oidc"
ROLE_RANK = (Role.VIEWER, Role.STREAMER, Role.MODERATOR, Role.ADMIN)
SUFFIXES = range(2, 10)
#: Refuses a reserved, taken or offensive name for a new account (``auth.routes.check_new_username``).
NameCheck = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Identity:
    issuer: str
    subject: str
    name_hint: str
    email: str
    email_verified: bool
    #: None: the provider does not decide roles (no role claim configured).
    role: Role | None


def claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by name, or by a dotted path into nested objects (``realm_access.roles``)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def mapped_role(config: OidcSettings, claims: dict[str, Any]) -> Role | None:
    if not config.role_claim:
        return None
    raw = claim(claims, config.role_claim)
    values = [raw] if isinstance(raw, str) else [v for v in raw if isinstance(v, str)] if isinstance(raw, list) else []
    mapping = dict(config.role_map) or {role.value: role for role in Role}
    found = [mapping[value] for value in values if value in mapping]
    return max(found, key=ROLE_RANK.index) if found else Role.VIEWER


def identity_from_claims(config: OidcSettings, claims: dict[str, Any]) -> Identity:
    hint = claim(claims, config.username_claim)
    email = claims.get("email")
    email = email if isinstance(email, str) and EMAIL_RE.fullmatch(email) and len(email) <= 254 else ""
    return Identity(
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        name_hint=hint if isinstance(hint, str) else "",
        email=email,
        email_verified=bool(email) and claims.get("email_verified") is True,
        role=mapped_role(config, claims),
    )


def _fallback_name(identity: Identity) -> str:
    return "user-" + hashlib.sha256(f"{identity.issuer}\n{identity.subject}".encode()).hexdigest()[:10]


def candidate_names(identity: Identity, max_length: int) -> list[str]:
    """The names to try for a new account, best first; the last one never depends on the claim."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", identity.name_hint).strip("._-")[:max_length]
    names = [base] if base else []
    if base:
        names += [f"{base[: max_length - 1 - len(str(n))]}_{n}" for n in SUFFIXES]
    return [*names, _fallback_name(identity)]


@dataclass(frozen=True, slots=True)
class OidcAccounts:
    """What signing in needs, handed over by the callback handler."""

    sessions: SessionMaker
    guard: Guard
    check_name: NameCheck
    max_name_length: int


async def _create_account(accounts: OidcAccounts, identity: Identity) -> str:
    sessions = accounts.sessions
    names = candidate_names(identity, accounts.max_name_length)
    for index, name in enumerate(names):
        last = index == len(names) - 1
        try:
            await accounts.check_name(name)
            user = await users.create_user(
                sessions,
                username=name,
                password_hash=NO_PASSWORD,
                email=identity.email,
                role=(identity.role or Role.VIEWER).value,
            )
        except Conflict:
            if last:
                raise
            continue  # taken (perhaps a moment ago): the next suffix
        except InvalidPayload:
            if last:
                raise SignInFailed(
                    "no acceptable username could be made for this account", code="oidc_username", status=422
                ) from None
            names[index + 1 :] = names[-1:]  # reserved or refused: a suffix would not help
            continue
        assert user.id is not None
        try:
            await identities.link(sessions, issuer=identity.issuer, subject=identity.subject, user_id=user.id)
        except Conflict:
            await users.delete_user(sessions, username=user.username)  # a parallel first sign-in won
            linked = await identities.linked_user(sessions, issuer=identity.issuer, subject=identity.subject)
            if linked is None:
                raise
            return linked.username
        if identity.email_verified:
            await users.set_email_verified(sessions, username=user.username)
        log.info("sign-in: new account %r for %s at %s", user.username, identity.subject, identity.issuer)
        return user.username
    raise AssertionError("unreachable: the last candidate returns or raises")


async def sign_in(accounts: OidcAccounts, identity: Identity) -> Principal:
    """The principal for this identity, creating and linking the account on first sign-in."""
    sessions = accounts.sessions
    user = await identities.linked_user(sessions, issuer=identity.issuer, subject=identity.subject)
    if user is None:
        username = await _create_account(accounts, identity)
    else:
        username = user.username
        if identity.role is not None and Role.parse(user.role) is not identity.role:
            await users.set_role(sessions, username=username, role=identity.role.value)
            log.info("sign-in: %r now has role %s from the identity provider", username, identity.role.value)
    fresh = await users.get_user(sessions, username=username)
    if fresh is None:
        raise SignInFailed("the account was removed while signing in; try again", code="oidc_state")
    return await accounts.guard.current(username, version=fresh.token_version)
