"""The JWT secret of a development install: random, generated once, kept in the data dir.

Production must be given ``JWT_SECRET_KEY`` (settings refuse to start
without a strong one). Development without one used to sign with the secret
printed in the source, so anyone could mint an admin token for any
instance left in development mode; now each install makes its own secret on
first start (``DATA_DIR/jwt_secret``, mode 0600) and reuses it on restart,
so sessions survive restarts and no two installs share a key.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

from safestream.errors import ConfigError
from safestream.settings import DEFAULT_JWT_SECRET, MIN_SECRET_LENGTH, Settings

log = logging.getLogger(__name__)

SECRET_FILE = "jwt_secret"


def with_install_secret(settings: Settings) -> Settings:
    """``settings`` unchanged when a secret was configured; else with this install's secret."""
    if settings.jwt_secret_key and settings.jwt_secret_key != DEFAULT_JWT_SECRET:
        return settings
    if settings.production:  # settings.validated() already refuses this; never fall back silently
        raise ConfigError("JWT_SECRET_KEY must be set in production")
    path = settings.data_dir / SECRET_FILE
    secret = _read(path) or _create(path)
    log.warning(
        "JWT_SECRET_KEY is not set: using this install's generated secret in %s "
        "(development only; production needs JWT_SECRET_KEY)",
        path,
    )
    return settings.replace(jwt_secret_key=secret)


def _read(path: Path) -> str | None:
    try:
        secret = path.read_text().strip()
    except FileNotFoundError:
        return None
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{path} holds no usable secret; delete it to have a new one generated")
    if path.stat().st_mode & 0o077:  # copied or restored with loose permissions: others could read it
        log.warning("%s was readable by other users; restricting it to its owner", path)
        path.chmod(0o600)
    return secret


def _create(path: Path) -> str:
    """Writes a new secret atomically: a worker starting at the same time reads the winner's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secret + "\n")
        try:
            os.link(temp, path)  # fails if another process got there first
        except FileExistsError:
            existing = _read(path)
            if existing is None:
                raise ConfigError(f"{path} vanished while starting") from None
            return existing
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    return secret
