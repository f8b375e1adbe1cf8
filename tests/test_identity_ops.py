"""Identity as an operator meets it: the development secret, `create-user`, the compose file."""

from __future__ import annotations

import ipaddress
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient

from safestream.app import create_app
from safestream.app_keys import SETTINGS_KEY
from safestream.errors import ConfigError
from safestream.install_secret import SECRET_FILE
from safestream.settings import DEFAULT_JWT_SECRET, Settings
from tests.conftest import auth, base_settings, login

ROOT = Path(__file__).resolve().parents[1]


async def test_development_generates_a_private_secret_and_keeps_it(
    tmp_path: Path, aiohttp_client: object, caplog: pytest.LogCaptureFixture
) -> None:
    settings = base_settings(tmp_path, env="development", jwt_secret_key="")
    first: TestClient = await aiohttp_client(create_app(settings))  # type: ignore[operator]
    secret_file = tmp_path / "data" / SECRET_FILE
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32 and secret != DEFAULT_JWT_SECRET
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert first.app[SETTINGS_KEY].jwt_secret_key == secret
    assert "demo accounts" in caplog.text.lower()  # the start-up warning
    token = await login(first, "demo_user", "demo123")
    await first.close()
    # A restart reuses it: tokens issued before the restart still work.
    secret_file.chmod(0o644)  # restored from a backup with loose permissions
    again: TestClient = await aiohttp_client(create_app(settings))  # type: ignore[operator]
    assert (await again.get("/auth/me", headers=auth(token))).status == 200
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


def test_the_published_secret_is_never_used(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        Settings.from_env({"SAFESTREAM_ENV": "production"})
    app = create_app(base_settings(tmp_path, env="development", jwt_secret_key=DEFAULT_JWT_SECRET))
    assert app[SETTINGS_KEY].jwt_secret_key != DEFAULT_JWT_SECRET


def _cli(
    tmp_path: Path,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k != "SAFESTREAM_PASSWORD"}
    full_env = {
        **inherited,
        "SAFESTREAM_DATA_DIR": str(tmp_path / "data"),
        "SAFESTREAM_ARGON2_TIME_COST": "1",
        "SAFESTREAM_ARGON2_MEMORY_KIB": "64",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "safestream", "create-user", *args],
        cwd=tmp_path,
        env=full_env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_create_user_without_a_terminal_gives_a_one_line_error(tmp_path: Path) -> None:
    result = _cli(tmp_path, "ops_user")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "--password-stdin" in result.stderr


def test_create_user_reads_the_password_from_stdin_or_the_environment(tmp_path: Path) -> None:
    piped = _cli(tmp_path, "piped_user", "--password-stdin", stdin="pipe-secret\n")
    assert piped.returncode == 0, piped.stderr
    from_env = _cli(tmp_path, "env_user", env={"SAFESTREAM_PASSWORD": "env-secret"})
    assert from_env.returncode == 0, from_env.stderr
    clash = _cli(tmp_path, "Piped_User", "--password", "whatever1")
    assert clash.returncode == 2 and "taken" in clash.stderr and "Traceback" not in clash.stderr
    bad = _cli(tmp_path, "bad\nname", "--password", "whatever1")
    assert bad.returncode == 2 and "not a valid username" in bad.stderr


async def test_created_users_log_in_with_the_password_given(tmp_path: Path, aiohttp_client: object) -> None:
    assert _cli(tmp_path, "piped_user", "--password-stdin", stdin="pipe-secret\n").returncode == 0
    settings = base_settings(tmp_path, demo=False)
    client: TestClient = await aiohttp_client(create_app(settings))  # type: ignore[operator]
    await login(client, "piped_user", "pipe-secret")


def test_compose_trusts_exactly_the_nginx_service() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    trusted = compose["services"]["safestream"]["environment"]["SAFESTREAM_TRUSTED_PROXIES"]
    nginx_ip = compose["services"]["balancer"]["networks"]["default"]["ipv4_address"]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert trusted == nginx_ip and ipaddress.ip_address(nginx_ip) in ipaddress.ip_network(subnet)
    Settings(trusted_proxies=(trusted,)).validated()
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert conf.count("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;") == conf.count("proxy_pass ")


def test_invalid_trusted_proxies_are_refused() -> None:
    with pytest.raises(ConfigError, match="SAFESTREAM_TRUSTED_PROXIES"):
        Settings.from_env({"SAFESTREAM_TRUSTED_PROXIES": "nginx"})


def test_migration_0003_names_case_clashes_instead_of_renaming(tmp_path: Path) -> None:
    import sqlite3

    from safestream.storage.db import migrate_sync

    path = tmp_path / "old.db"
    migrate_sync(f"sqlite+aiosqlite:///{path}", "0002")
    with sqlite3.connect(path) as conn:
        for name in ("Bob", "bob"):
            conn.execute(
                "INSERT INTO users (username, email, password_hash, role, created_at) "
                "VALUES (?, '', 'x', 'viewer', '2026-01-01 00:00:00')",
                (name,),
            )
    with pytest.raises(RuntimeError, match="bob"):
        migrate_sync(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert sorted(r[0] for r in conn.execute("SELECT username FROM users")) == ["Bob", "bob"]
        conn.execute("DELETE FROM users WHERE username = 'Bob'")
    migrate_sync(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO users (username, email, password_hash, role, created_at) "
            "VALUES ('BOB', '', 'x', 'viewer', '2026-01-01 00:00:00')"
        )
