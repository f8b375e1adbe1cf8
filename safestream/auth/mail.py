"""Outgoing mail, pluggable: ``SAFESTREAM_MAIL_BACKEND`` picks the sender.

``log`` (the default) writes the message to the server log, so verification
works with no mail service at all (the operator or a test reads the token
there). Any other value is ``package.module:factory``: ``factory(settings)``
returns an object with ``async send(to, subject, body)``, imported lazily so
its dependencies stay optional.
"""

from __future__ import annotations

import importlib
import logging
from typing import Protocol

from safestream.errors import ConfigError
from safestream.settings import Settings

log = logging.getLogger(__name__)


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


class LogMailer:
    async def send(self, to: str, subject: str, body: str) -> None:
        log.warning("mail to %s: %s\n%s", to, subject, body)


def create_mailer(settings: Settings) -> Mailer:
    spec = settings.mail_backend
    if spec in ("", "log"):
        return LogMailer()
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError("SAFESTREAM_MAIL_BACKEND is 'log' or 'package.module:factory'")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"SAFESTREAM_MAIL_BACKEND {spec!r} cannot be loaded: {exc}") from exc
    mailer: Mailer = factory(settings)
    return mailer
