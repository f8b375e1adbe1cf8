"""Log set-up that keeps secrets out of log lines.

Clients of the original design pass their JWT as ``?token=`` (every polling
request carries it), so the request line of an access log, a ``Referer``, or
an error message that quotes a URL would write a bearer credential to disk.
Every line is redacted on its way out: the values of secret-looking query
parameters, ``Bearer`` credentials and anything shaped like a JWT.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp.web_log import AccessLogger

REDACTED = "[redacted]"
#: Query (or form) parameters whose values are credentials.
SECRET_PARAMS = (
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth",
    "authorization",
    "jwt",
    "password",
    "passwd",
    "secret",
    "api_key",
    "apikey",
    "key",
    "session",
    "signature",
    "sig",
    "sid",
)  # an Engine.IO session id lets its holder speak in that session

_NAMES = "|".join(map(re.escape, SECRET_PARAMS))
_PARAM_RE = re.compile(rf"(?i)((?:^|[?&;\s\"'])(?:{_NAMES})=)[^&;\s\"'#]*")
_BEARER_RE = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_JWT_RE = re.compile(r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")


def redact(text: str) -> str:
    text = _PARAM_RE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER_RE.sub(lambda m: m.group(1) + REDACTED, text)
    return _JWT_RE.sub(REDACTED, text)


class RedactSecrets(logging.Filter):
    """A handler filter: rewrites the record's message and traceback, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logging's problem, not ours
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingAccessLogger(AccessLogger):
    """aiohttp's access logger with every field (request line, headers) redacted."""

    def _format_line(self, request: Any, response: Any, time: float) -> Any:
        return [
            (key, redact(value) if isinstance(value, str) else value)
            for key, value in super()._format_line(request, response, time)
        ]


def configure(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
