"""The package as a user gets it: a wheel in a fresh venv, and the Dockerfile's steps without Docker.

There is no Docker engine here, so ``test_container_steps`` performs what the
Dockerfile does, in the same order: build the wheel, install it into a fresh
venv as a non-root user, with the project tree read-only, migrate, then serve
in production with a generated secret, answer /healthz and stop on SIGTERM
within 10 s. Keep the two describing the same steps.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests import installed, processes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    # Not tmp_path: pytest's base directory is private to its user, and one test runs as another.
    path = Path(tempfile.mkdtemp(prefix="safestream-wheel-"))
    path.chmod(0o755)
    yield path
    for sub in path.rglob("*"):
        if sub.is_dir() and not sub.is_symlink():
            sub.chmod(sub.stat().st_mode | stat.S_IWUSR)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def wheel(workdir: Path) -> Path:
    tree = installed.copy_tree(workdir / "src")
    return installed.build_wheel(tree, workdir / "wheels")


def test_wheel_ships_the_data_folders(wheel: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        "safestream/templates/chat.html",
        "safestream/templates/console/base.html",
        "safestream/static/js/chat.js",
        "safestream/static/vendor/socket.io.min.js",
        "safestream/migrations/env.py",
        "safestream/migrations/versions/0001_initial_schema.py",
        "safestream/docs/PROTOCOL.md",
        "safestream/alembic.ini",
        "safestream/py.typed",
    ):
        assert shipped in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


async def test_wheel_in_a_fresh_venv_serves_from_another_directory(workdir: Path, wheel: Path) -> None:
    script = installed.make_venv(
        workdir / "venv-user", wheel, installed.clean_env(), installed.RunAs("the tests' user")
    )
    python = script.parent / "python"
    where = subprocess.run(
        [str(python), "-c", "import safestream; print(safestream.__file__)"],
        cwd=workdir,
        env=installed.clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(workdir / "venv-user"))
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    port = processes.free_port()
    with installed.serving(
        [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
        installed.clean_env(),
        installed.RunAs("the tests' user"),
        cwd=elsewhere,
    ) as proc:
        health = await installed.wait_healthy(proc, port)
        assert health["status"] == "ok"
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/chat") as resp:  # a template
                assert resp.status == 200 and "<html" in (await resp.text()).lower()
            async with http.get(f"{base}/static/js/chat.js") as resp:  # a static asset
                assert resp.status == 200
            async with http.get(f"{base}/docs/protocol") as resp:  # the protocol document
                assert (await resp.text()).startswith("# SafeStream protocol")
        assert (elsewhere / "data" / "safestream.db").exists()  # migrations ran from the wheel
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


async def test_container_steps(workdir: Path, wheel: Path) -> None:
    tree = workdir / "src"
    for path in [tree, *tree.rglob("*")]:  # COPY without write permission: the server must not need it
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    before = sorted(str(p) for p in tree.rglob("*"))
    as_ = installed.unprivileged()
    print(f"container steps run as {as_.who} with {as_.base}")
    home = workdir / "home"
    home.mkdir()
    as_.owns(home)
    env = installed.clean_env(
        HOME=str(home),
        SAFESTREAM_ENV="production",
        JWT_SECRET_KEY=secrets.token_urlsafe(48),
        SAFESTREAM_DATA_DIR=str(home / "data"),
        SAFESTREAM_LOG_DIR=str(home / "logs"),
        DATABASE_URL=f"sqlite:///{home}/data/safestream.db",
    )
    script = installed.make_venv(home / "venv", wheel, env, as_)
    migrated = as_.run([str(script), "migrate"], cwd=tree, env=env, capture_output=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    port = processes.free_port()
    with installed.serving(
        [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)], env, as_, cwd=tree
    ) as proc:
        health = await installed.wait_healthy(proc, port)
        assert health["status"] == "ok"
        async with aiohttp.ClientSession() as http:  # production: no demo accounts
            async with http.post(
                f"http://127.0.0.1:{port}/auth/login", data={"username": "demo_user", "password": "demo123"}
            ) as resp:
                assert resp.status == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert sorted(str(p) for p in tree.rglob("*")) == before
    if as_.kwargs or as_.prefix:  # the tree really was read-only to that user
        probe = as_.run(["sh", "-c", f"touch {tree}/probe"], capture_output=True, timeout=30)
        assert probe.returncode != 0
