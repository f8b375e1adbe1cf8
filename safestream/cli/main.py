"""``safestream serve | migrate | create-user``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
import threading
from collections.abc import Sequence

from safestream.errors import ConfigError
from safestream.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="safestream", description="Live-stream chat with built-in moderation.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (SQLite, demo accounts and offline moderation by default)")
    serve.add_argument("--host", help="interface to bind (APP_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (APP_PORT, default 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port through Redis (needs REDIS_URL; websocket transport only)",
    )
    sub.add_parser("migrate", help="apply database migrations (DATABASE_URL)")
    imp = sub.add_parser("import-jsonl", help="rebuild messages and gifts from JSONL logs (idempotent)")
    imp.add_argument("path", nargs="?", help="a log file or directory (default: SAFESTREAM_LOG_DIR)")
    user = sub.add_parser("create-user", help="create an account")
    user.add_argument("username")
    user.add_argument("--role", choices=["viewer", "streamer", "moderator", "admin"], default="viewer")
    source = user.add_mutually_exclusive_group()
    source.add_argument("--password", help="the password (visible in the process list: prefer the others)")
    source.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of standard input"
    )
    user.add_argument("--email", default="")
    from safestream.cli import moderate  # stdlib-only: the chain loads in run()

    moderate.add_parser(sub)
    train = sub.add_parser("train-moderation", help="train the sentence stage's heads from data/moderation/")
    train.add_argument("--data", help="the data directory (default: data/moderation in the source tree)")
    train.add_argument("--out", help="artifact path (default: the committed safestream/moderation/models/)")
    train.add_argument("--seed", type=int, default=13)
    train.add_argument("--davidson-per-class", type=int, default=1400)
    train.add_argument("--limit", type=int, help="train on a random sample of this many rows")
    train.add_argument("--hidden", type=int, default=192, help="hidden units of the heads (0: logistic only)")
    train.add_argument(
        "--layers", type=int, help="how many of the encoder's 6 layers to read (default all 6; the stage runs the same)"
    )
    train.add_argument("--cache", help="a directory to keep embeddings in between runs (a speed-up only)")
    train.add_argument(
        "--variants",
        default="fp32,onnx-int8",
        help="encoder variants to train heads for, comma-separated (onnx-int8 needs onnxruntime)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "serve":
            overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
            settings = settings.replace(**overrides) if overrides else settings
    except ConfigError as exc:
        print(f"safestream: {exc}", file=sys.stderr)
        return 2
    from safestream import logs

    logs.configure(settings.log_level)
    # Alembic logs one "setup plugin" line per plugin on every start and command: noise, not news.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if args.command == "serve":
        if args.workers < 1:
            print("safestream: --workers must be at least 1", file=sys.stderr)
            return 2
        if args.workers > 1:
            from safestream.cli import workers

            try:
                return workers.run(settings, args.workers)
            except ConfigError as exc:
                print(f"safestream: {exc}", file=sys.stderr)
                return 2
        return _serve(settings)
    if args.command == "migrate":
        from safestream.storage.db import migrate_sync

        migrate_sync(settings.effective_database_url)
        print("database is at the latest revision")
        return 0
    if args.command == "import-jsonl":
        return asyncio.run(_import_jsonl(settings, args.path))
    if args.command == "create-user":
        return asyncio.run(_create_user(settings, args))
    if args.command == "moderate":
        from safestream.cli import moderate

        return moderate.run(settings, args)
    if args.command == "train-moderation":
        from safestream.moderation import train

        return train.run(args)
    return 2


def banner(settings: Settings) -> str:
    from safestream.demo import DEMO_USERS

    base = f"http://{settings.host}:{settings.port}"
    lines = [
        f"SafeStream is ready on {base}",
        f"  chat:    {base}/chat",
        f"  console: {base}/console",
        f"  API:     {base}/docs",
    ]
    if settings.seed_demo:
        lines.append(
            "  demo accounts (development only): "
            + ", ".join(f"{name}/{password} ({role})" for name, password, role in DEMO_USERS)
        )
    return "\n".join(lines)


def _serve(settings: Settings) -> int:
    from safestream import runner
    from safestream.app import create_app

    if settings.uvloop:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            logging.getLogger(__name__).info("uvloop is not installed; using asyncio's default loop")
    try:
        app = create_app(settings)
        if settings.seed_demo:
            print(
                "WARNING: demo mode: accounts with published passwords (demo_admin/admin123 and others) are "
                "seeded. Set SAFESTREAM_DEMO=0, or SAFESTREAM_ENV=production, before exposing this server.",
                file=sys.stderr,
                flush=True,
            )
        runner.run(app, settings, banner=banner(settings))
    except ConfigError as exc:
        print(f"safestream: {exc}", file=sys.stderr)
        return 2
    # Everything is drained, written and closed by now. Tearing down the
    # interpreter with torch and the encoder loaded takes a second or more of
    # module finalization that protects nothing: skip it, unless a worker
    # thread is still busy (then the normal exit and its deadline decide).
    workers = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for thread in workers:
        thread.join(timeout=0.5)
    if any(t.is_alive() for t in workers):
        return 0
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


async def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    from safestream.auth.names import is_valid_username
    from safestream.errors import Conflict

    if not is_valid_username(args.username, max_length=settings.max_username_length):
        print(
            f"safestream: {args.username!r} is not a valid username (1 to {settings.max_username_length} "
            "letters, digits, '.', '_' or '-')",
            file=sys.stderr,
        )
        return 2
    password = _read_password(args)
    if password is None:
        print(
            "safestream: no password: pass --password, --password-stdin or set SAFESTREAM_PASSWORD "
            "(no terminal to prompt on)",
            file=sys.stderr,
        )
        return 2
    if len(password) < 6:
        print("safestream: the password must have at least 6 characters", file=sys.stderr)
        return 2
    # Imported once the arguments are known good: storage pulls in Alembic, which logs as it loads.
    from safestream.auth.passwords import Passwords
    from safestream.storage import db, users

    url = settings.effective_database_url
    await db.migrate(url)
    engine = db.create_engine(url)
    try:
        sessions = db.session_maker(engine)
        if await users.name_taken(sessions, username=args.username):
            print(
                f"safestream: the username {args.username!r} is taken (names are unique regardless of case)",
                file=sys.stderr,
            )
            return 2
        hasher = Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)
        password_hash = await hasher.hash(password)
        hasher.close()
        await users.create_user(
            sessions, username=args.username, password_hash=password_hash, role=args.role, email=args.email
        )
    except Conflict:
        print(f"safestream: the username {args.username!r} is taken", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    print(f"created {args.role} {args.username}")
    return 0


def _read_password(args: argparse.Namespace) -> str | None:
    """--password, --password-stdin, SAFESTREAM_PASSWORD, else a prompt when there is a terminal."""
    if args.password:
        return str(args.password)
    if args.password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n") or None
    if os.environ.get("SAFESTREAM_PASSWORD"):
        return os.environ["SAFESTREAM_PASSWORD"]
    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass("password: ")
    except EOFError:
        return None


async def _import_jsonl(settings: Settings, path: str | None) -> int:
    from pathlib import Path

    from safestream.storage import db
    from safestream.storage.importer import import_logs

    source = Path(path) if path else settings.effective_log_dir
    if not source.exists():
        print(f"safestream: {source} does not exist", file=sys.stderr)
        return 2
    url = settings.effective_database_url
    await db.migrate(url)
    engine = db.create_engine(url)
    try:
        counts = await import_logs(db.session_maker(engine), source)
    finally:
        await engine.dispose()
    print(f"read {counts['read']} records: {counts['added']} added, {counts['present']} already present")
    return 0
