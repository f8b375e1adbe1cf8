"""Browser-test helpers: Chromium through Playwright's async API, driving the real app.

Chromium is the distribution's (``/usr/bin/chromium``; Playwright cannot
download its own browsers here). Without it the browser tests skip with a
reason, except under ``CI=true`` where they fail: CI must run them.

Importing this module is the guard: without Playwright it skips the importing
test module with a reason (under ``CI=true`` the ImportError fails it), so a
browser test needs one import line: ``from tests.browser import expect,
open_page, ...`` (``open_page`` is the fixture).

Scope: the browser is launched per test, in the test's own event loop. The
app under test (``make_app``/``client``) runs on pytest-aiohttp's
function-scoped loop, and Playwright objects are bound to the loop that
created them: a session-scoped browser would live on another loop and every
call from a test fails with "attached to a different loop". Launching costs
about 0.5 s per test here, so this is the cheap way to keep one loop.

Each ``open_page`` call makes a fresh browser context (its own cookies and
storage: one user), and pages record uncaught errors and CSP violations,
which fail the test at teardown.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import IN_CI

try:
    from playwright.async_api import (
        Browser,
        ConsoleMessage,
        Dialog,
        Locator,
        Page,
        ViewportSize,
        async_playwright,
        expect,
    )
except ImportError:
    if IN_CI:
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

# What the browser tests take from here besides the fixture: Playwright's names come through the guard above.
__all__ = [
    "DESKTOP",
    "MOBILE",
    "Dialog",
    "Locator",
    "Page",
    "PageFactory",
    "ViewportSize",
    "chromium",
    "expect",
    "screenshot",
]

CHROMIUM = Path(os.environ.get("SAFESTREAM_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
MOBILE: ViewportSize = {"width": 390, "height": 844}

#: Playwright waits (expect, wait_for_*) use this unless a test says otherwise, in milliseconds.
TIMEOUT_MS = 8000


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """The distribution's Chromium, headless; missing, the test skips with the reason (fails under CI=true)."""
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the browser tests must run)")
        pytest.skip(reason)
    expect.set_options(timeout=TIMEOUT_MS)
    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            await instance.close()


@dataclass
class PageProblems:
    """What went wrong in a page that no assertion would see: uncaught errors and CSP refusals."""

    errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and re.search(r"Content Security Policy|Refused to", message.text):
            self.errors.append(f"CSP: {message.text}")

    def on_page_error(self, error: Any) -> None:
        self.errors.append(f"uncaught: {error}")


PageFactory = Callable[..., Awaitable[Page]]


@pytest_asyncio.fixture
async def open_page() -> AsyncIterator[PageFactory]:
    """``await open_page(viewport=MOBILE)``: a page in a fresh context (one user per context)."""
    contexts = []
    problems: list[PageProblems] = []
    async with chromium() as browser:

        async def factory(viewport: ViewportSize | None = None) -> Page:
            mobile = viewport == MOBILE
            context = await browser.new_context(
                viewport=viewport or DESKTOP, device_scale_factor=2 if mobile else 1, is_mobile=mobile, has_touch=mobile
            )
            context.set_default_timeout(TIMEOUT_MS)
            contexts.append(context)
            page = await context.new_page()
            watch = PageProblems()
            page.on("console", watch.on_console)
            page.on("pageerror", watch.on_page_error)
            problems.append(watch)
            return page

        yield factory
        for context in contexts:
            await context.close()
    found = [error for watch in problems for error in watch.errors]
    assert not found, f"the page reported problems: {found}"


async def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG in test-artifacts/ (gitignored), for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    # "disabled" fast-forwards entrance animations, so the picture shows the resting state.
    await page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path
