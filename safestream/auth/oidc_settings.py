"""``SAFESTREAM_OIDC_*``: sign-in through an OpenID Connect provider, off unless an issuer is set.

Kept apart from ``settings.py`` because it is one feature's block of
variables; ``Settings.oidc`` holds the parsed result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from safestream.auth.roles import Role

DEFAULT_SCOPES = ("openid", "profile", "email")


@dataclass(frozen=True, slots=True)
class OidcSettings:
    #: The provider's issuer URL (``https://idp.example.com/realms/main``); empty: OIDC is off.
    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""
    #: The public base URL of this server; the callback is ``{redirect_base}/auth/oidc/callback``.
    redirect_base: str = ""
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    #: The label of the login button: "Sign in with {provider_name}".
    provider_name: str = ""
    #: The claim whose value becomes the SafeStream username of a new account.
    username_claim: str = "preferred_username"
    #: A claim holding a role name or a list of groups; empty: roles are never taken from the IdP.
    role_claim: str = ""
    #: ``claim value -> role``; empty: values that are role names map to themselves.
    role_map: tuple[tuple[str, Role], ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)

    @property
    def redirect_uri(self) -> str:
        return self.redirect_base.rstrip("/") + "/auth/oidc/callback"

    @property
    def button_label(self) -> str:
        return self.provider_name or (urlsplit(self.issuer).hostname or "your identity provider")

    def problems(self, *, production: bool) -> list[str]:
        if not self.enabled:
            return []
        found = []
        if not self.client_id:
            found.append("SAFESTREAM_OIDC_CLIENT_ID is required when SAFESTREAM_OIDC_ISSUER is set")
        for var, url in (
            ("SAFESTREAM_OIDC_ISSUER", self.issuer),
            ("SAFESTREAM_OIDC_REDIRECT_BASE", self.redirect_base),
        ):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                found.append(f"{var} must be an http(s) URL, got {url!r}")
            elif production and parts.scheme != "https" and parts.hostname not in ("localhost", "127.0.0.1"):
                # Codes and ID tokens would cross the network in clear text.
                found.append(f"{var} must use https in production")
        if "openid" not in self.scopes:
            found.append("SAFESTREAM_OIDC_SCOPES must include openid")
        return found

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OidcSettings:
        """Raises ``ValueError`` naming the variable for a value that cannot be parsed."""

        def get(name: str, default: str = "") -> str:
            return env.get(f"SAFESTREAM_OIDC_{name}", "").strip() or default

        scopes = tuple(get("SCOPES", " ".join(DEFAULT_SCOPES)).replace(",", " ").split())
        return cls(
            issuer=get("ISSUER").rstrip("/"),
            client_id=get("CLIENT_ID"),
            client_secret=env.get("SAFESTREAM_OIDC_CLIENT_SECRET", ""),
            redirect_base=get("REDIRECT_BASE"),
            scopes=scopes,
            provider_name=get("PROVIDER_NAME"),
            username_claim=get("USERNAME_CLAIM", "preferred_username"),
            role_claim=get("ROLE_CLAIM"),
            role_map=parse_role_map(get("ROLE_MAP")),
        )


def parse_role_map(raw: str) -> tuple[tuple[str, Role], ...]:
    """``"chat-mods=moderator,chat-admins=admin"`` -> pairs; an unknown role is an error."""
    pairs = []
    for item in raw.split(","):
        if not item.strip():
            continue
        value, sep, role = item.rpartition("=")
        if not sep or not value.strip():
            raise ValueError(f"SAFESTREAM_OIDC_ROLE_MAP: expected VALUE=ROLE, got {item.strip()!r}")
        try:
            pairs.append((value.strip(), Role(role.strip())))
        except ValueError:
            raise ValueError(
                f"SAFESTREAM_OIDC_ROLE_MAP: {role.strip()!r} is not a role ({', '.join(r.value for r in Role)})"
            ) from None
    return tuple(pairs)


ENV_VARIABLES = tuple(
    f"SAFESTREAM_OIDC_{name}"
    for name in (
        "ISSUER",
        "CLIENT_ID",
        "CLIENT_SECRET",
        "REDIRECT_BASE",
        "SCOPES",
        "PROVIDER_NAME",
        "USERNAME_CLAIM",
        "ROLE_CLAIM",
        "ROLE_MAP",
    )
)
