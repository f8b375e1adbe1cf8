"""Command-line options several load scripts share, declared once so they mean the same everywhere."""

from __future__ import annotations

import argparse
from collections.abc import Iterable


def parse_env_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``KEY=VAL`` strings (from repeated ``--server-env``) into a dict."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--server-env takes KEY=VAL, got {pair!r}")
        env[key.strip()] = value
    return env


def ints(raw: str) -> list[int]:
    """``"50,200,500"`` -> [50, 200, 500] (empty items skipped)."""
    return [int(x) for x in raw.split(",") if x.strip()]


def add_server_env(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VAL")


def add_quiet_wait(parser: argparse.ArgumentParser, default: float, help: str | None = None) -> None:
    """``--quiet-wait``: the machine is shared, so a run can first wait for others' work to pause."""
    parser.add_argument("--quiet-wait", type=float, default=default, help=help)


def add_target(parser: argparse.ArgumentParser, external_help: str, pid_help: str) -> None:
    """``--external URL --server-pid PID --keep-server --no-deflate``: which server, and how clients talk to it."""
    parser.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate")
    parser.add_argument("--external", metavar="URL", help=external_help)
    parser.add_argument("--server-pid", type=int, help=pid_help)
    parser.add_argument("--keep-server", action="store_true", help="keep the server's temp dir (its log)")
