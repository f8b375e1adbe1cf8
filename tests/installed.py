"""A SafeStream wheel installed into a fresh virtualenv, and servers run from it.

Used by test_wheel.py. The wheel is built from the project tree; the venv has
no pip and no packages of its own: the dependencies come from the test's own
environment through a ``.pth`` file (listing its site-packages as plain paths,
so that environment's editable SafeStream finder is never activated), and
SafeStream itself only from the wheel. Installing the dependencies from the
registry would prove nothing more about the package and take minutes.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
import shutil
import site
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests import processes

ROOT = Path(__file__).resolve().parents[1]
#: The variables a child must not inherit: they would put the source tree back on sys.path.
SCRUBBED = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED and not k.startswith("SAFESTREAM_")}
    env.update(
        {
            "PIP_NO_CACHE_DIR": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "SAFESTREAM_ARGON2_MEMORY_KIB": "1024",
            "SAFESTREAM_ARGON2_TIME_COST": "1",
            "SAFESTREAM_MODERATION": "keywords",
        }
    )
    env.update(extra)
    return env


def copy_tree(dest: Path) -> Path:
    """The project's committed-looking files (no VCS, venvs, caches, build output)."""
    ignore = shutil.ignore_patterns(
        ".git",
        ".venv",
        ".tox",
        "build",
        "dist",
        "*.egg-info",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "data",
        "logs",
        "test-artifacts",
        ".schemathesis",
        "node_modules",
    )
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def build_wheel(tree: Path, out: Path) -> Path:
    """``pip wheel`` of the tree (the Dockerfile's build stage)."""
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", str(out), str(tree)],
        check=True,
        env=clean_env(),
        cwd=tree,
        timeout=300,
    )
    (wheel,) = out.glob("safestream-*.whl")
    return wheel


def _dependency_paths() -> list[str]:
    paths = {*site.getsitepackages(), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    return sorted(p for p in paths if Path(p).is_dir())


@dataclass(frozen=True)
class RunAs:
    """Who runs a step: subprocess arguments plus a command prefix, and the base interpreter they can use."""

    who: str
    base: str = sys.executable
    kwargs: dict[str, Any] = field(default_factory=dict)
    prefix: tuple[str, ...] = ()

    def run(self, args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, *args], text=True, **self.kwargs, **kwargs)

    def owns(self, path: Path) -> None:
        if "user" in self.kwargs:
            os.chown(path, self.kwargs["user"], self.kwargs["group"])


def unprivileged() -> RunAs:
    """Who runs the container's steps: never a privileged root.

    As root: ``nobody``, with an interpreter of this Python version that it can
    execute and that imports the dependencies (a pyenv build under /root is
    not one; the distribution's /usr/bin/python3.X is). When there is none,
    uid 0 with every capability dropped (setpriv), so file permissions bind it.
    """
    if os.geteuid() != 0:
        return RunAs("the current user")
    nobody = pwd.getpwnam("nobody")
    demoted: dict[str, Any] = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    probe = f"import sys; sys.path[:0] = {_dependency_paths()!r}; import aiohttp, sqlmodel, socketio, alembic, redis, orjson, argon2, jinja2"
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for base in (os.path.realpath(sys._base_executable), f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        try:
            ok = subprocess.run([base, "-c", probe], capture_output=True, timeout=60, **demoted).returncode == 0
        except OSError:
            ok = False
        if ok:
            return RunAs("nobody", base, demoted)
    return RunAs("uid 0 without capabilities", prefix=("setpriv", "--bounding-set=-all", "--inh-caps=-all", "--"))


def make_venv(venv: Path, wheel: Path, env: Mapping[str, str], as_: RunAs) -> Path:
    """A fresh venv holding the wheel; returns its ``safestream`` script.

    pip itself comes from the dependency paths and installs into the venv it runs in.
    ``--ignore-installed``: those paths may hold an editable SafeStream of the same
    version (tox's env does), and pip would then call the wheel "already installed".
    """
    as_.run([as_.base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120, env=env)
    python = str(venv / "bin" / "python")
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = as_.run([python, "-c", code], check=True, capture_output=True, timeout=60, env=env).stdout.strip()
    pth = Path(purelib, "_safestream_test_deps.pth")
    pth.write_text("\n".join(_dependency_paths()) + "\n")
    as_.owns(pth)
    as_.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", str(wheel)],
        check=True,
        timeout=300,
        env=env,
    )
    return venv / "bin" / "safestream"


@contextmanager
def serving(args: list[str], env: Mapping[str, str], as_: RunAs, **popen: Any) -> Iterator[subprocess.Popen[bytes]]:
    proc = processes.spawn(
        [*as_.prefix, *args], env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **as_.kwargs, **popen
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()  # the reaper fixture SIGKILLs it if this does not end it


async def wait_healthy(proc: subprocess.Popen[bytes], port: int, timeout: float = 60) -> dict[str, Any]:
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - started < timeout and proc.poll() is None:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    body: dict[str, Any] = await resp.json()
                    return body
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
    output = proc.stdout.read().decode(errors="replace") if proc.stdout and proc.poll() is not None else ""
    raise AssertionError(f"no /healthz answer within {timeout}s (exit {proc.poll()}):\n{output}")
