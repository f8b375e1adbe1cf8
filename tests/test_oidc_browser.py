""" "Sign in with <provider>" in Chromium: the viewer client and the console, end to end.

The provider (``tests/oidc_provider.py``) listens on ``localhost`` and SafeStream
on ``127.0.0.1``, so the browser treats them as different sites, cookies and
all, as it would a real provider.
"""

from __future__ import annotations

import re

import pytest

from safestream.auth.oidc_settings import parse_role_map
from tests.browser import MOBILE, Page, PageFactory, expect, open_page, screenshot  # noqa: F401 - fixture

pytest.importorskip("authlib")

from tests.oidc_provider import Provider
from tests.test_oidc import OidcAppFactory, idp, oidc_app  # noqa: F401 - fixtures


async def consent(page: Page, idp: Provider, username: str) -> None:
    """At the provider: who to sign in as, then Allow."""
    await expect(page).to_have_url(re.compile("^" + re.escape(f"{idp.issuer}/authorize?")))
    await expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    await page.get_by_label("Username").fill(username)
    await page.get_by_role("button", name="Allow").click()


async def test_a_viewer_signs_in_with_the_provider_and_chats(
    oidc_app: OidcAppFactory,
    idp: Provider,
    open_page: PageFactory,
) -> None:
    client = await oidc_app()
    idp.add_user("river")
    page = await open_page()
    await page.goto(str(client.make_url("/chat/main")))
    await expect(page.get_by_role("heading", name="Join the chat")).to_be_visible()
    await screenshot(page, "oidc-viewer-login.png")
    await page.get_by_role("link", name="Sign in with Test IdP").click()
    await consent(page, idp, "river")
    # Back on the stream it started from, signed in; the hand-off code is gone from the address bar.
    await expect(page).to_have_url(str(client.make_url("/chat/main")))
    await expect(page.locator("#me-name")).to_have_text("river")
    composer = page.locator("#composer-input")
    await expect(composer).to_be_enabled()
    await composer.fill("signed in through the identity provider")
    await composer.press("Enter")
    row = page.locator("#messages .msg").filter(has_text="signed in through the identity provider")
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("river")
    await screenshot(page, "oidc-viewer-chatting.png")
    # A reload keeps the session, as after a password login.
    await page.reload()
    await expect(page.locator("#me-name")).to_have_text("river")


async def test_a_moderator_signs_in_to_the_console(
    oidc_app: OidcAppFactory,
    idp: Provider,
    open_page: PageFactory,
) -> None:
    client = await oidc_app(role_claim="groups", role_map=parse_role_map("chat-mods=moderator"))
    idp.add_user("quinn", groups=["chat-mods"])
    page = await open_page()
    await page.goto(str(client.make_url("/console/login")))
    await page.get_by_role("link", name="Sign in with Test IdP").click()
    await consent(page, idp, "quinn")
    # The console's session cookie is SameSite=Strict: it must reach the console after a
    # sign-in that started at another site.
    await expect(page).to_have_url(re.compile(r"/console/s/main$"))
    await expect(page.locator("body")).to_contain_text("quinn")
    await screenshot(page, "oidc-console-moderator.png")


async def test_a_refused_sign_in_shows_a_page_on_a_phone(
    oidc_app: OidcAppFactory,
    idp: Provider,
    open_page: PageFactory,
) -> None:
    client = await oidc_app()
    idp.add_user("mallory")
    idp.tamper.add("forged_key")
    page = await open_page(MOBILE)
    await page.goto(str(client.make_url("/chat")))
    await page.get_by_role("link", name="Sign in with Test IdP").click()
    await consent(page, idp, "mallory")
    await expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("signature does not verify")
    await screenshot(page, "oidc-refused-phone.png")
    await page.get_by_role("link", name="Back to sign-in").click()
    await expect(page.get_by_role("heading", name="Join the chat")).to_be_visible()
