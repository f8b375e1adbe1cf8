"""``safestream moderate``: score messages in bulk, one JSON verdict per input line.

It uses exactly what the server uses: the chain from ``SAFESTREAM_MODERATION``
(``ModerationEngine.from_settings``), the server's text cleaning
(``clean_message``: control characters removed, ends trimmed) and either the
server default policy or, with ``--stream``, that stream's stored policy.

Output keeps line alignment with the input: line *n* of the output is the
verdict for line *n* of the input, so ``paste`` or ``zip`` can join them.
An empty (or whitespace-only) line cannot be a chat message, the server
refuses it, so it is not scored; it still gets a line, with ``"scored":
false``, ``action`` "allow" and a score of 0. Lines longer than the server's
``SAFESTREAM_MAX_MESSAGE_LENGTH`` are scored whole (the server would refuse
them; a batch run is usually about old data, not about that limit).

Each record: ``text`` (the line, without its line ending), ``shown`` (what
viewers would see: the cleaned text, masked when ``action`` is "mask"),
``action``, ``toxic``, ``score`` (the policy's top score, term hits
included), ``category``, ``categories`` (the chain's scores per label, 4
places, as the server logs them), ``terms`` (listed terms found), ``failed``
(a chain stage failed; the policy's failure action applied) and ``scored``.

Input is read in chunks of ``--batch-size`` lines, each chunk is one
``engine.assess`` call, and its verdicts are written before the next chunk is
read, so memory stays flat on files of any length.

This module is imported whenever the ``safestream`` parser is built, so it
imports only the standard library at module level; the chain, the policy and
the database load inside ``run``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from itertools import islice
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safestream.moderation.engine import Assessment, ModerationEngine
    from safestream.moderation.policy import Policy
    from safestream.settings import Settings

DEFAULT_BATCH_SIZE = 1000
PROG = "safestream moderate"


class _Refusal(Exception):
    """A problem the user must fix (exit code 2), with the message to print."""


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {raw!r}")
    return value


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Registers ``moderate`` on the ``safestream`` subcommand parser."""
    parser = sub.add_parser(
        "moderate",
        help="score messages (one per line) with the server's chain and policy; JSON lines out",
        description="Reads one message per line and writes one JSON verdict per line, aligned with the input.",
    )
    parser.add_argument("--input", metavar="FILE", help="read messages from FILE (default: stdin)")
    parser.add_argument("--output", metavar="FILE", help="write JSON lines to FILE (default: stdout)")
    parser.add_argument(
        "--stream", metavar="NAME", help="use this stream's stored policy (DATABASE_URL) instead of the server default"
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"lines per scoring call (default {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--explain", action="store_true", help="add which stage and category decided each verdict, and its score"
    )
    return parser


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Entry point from ``safestream.cli``: 0 on success, 2 on configuration or usage errors."""
    try:
        return asyncio.run(_moderate(settings, args))
    except _Refusal as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (``| head``): not our error. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


async def _moderate(settings: Settings, args: argparse.Namespace) -> int:
    from safestream.errors import ConfigError
    from safestream.moderation.contract import BackendUnavailable, ModelLoadError
    from safestream.moderation.engine import ModerationEngine

    policy = await _load_policy(settings, args.stream)
    try:
        engine = ModerationEngine.from_settings(settings)
        await engine.load()
    except (ConfigError, BackendUnavailable, ModelLoadError) as exc:
        raise _Refusal(f"moderation chain {settings.moderation!r}: {exc}") from exc
    try:
        with ExitStack() as files:
            source = _open_input(args.input, files)
            sink = _open_output(args.output, files)
            # Like the server under load (the rest of the file is a queue behind
            # each chunk), the expensive stage sees every text only in "all" mode.
            escalate_all = settings.cascade == "all"
            counts = await _process(engine, policy, source, sink, args.batch_size, escalate_all, args.explain)
    finally:
        await engine.close()
    summary = ", ".join(f"{action} {n}" for action, n in sorted(counts.items()))
    total = counts.total()
    print(
        f"{PROG}: {total} line{'' if total == 1 else 's'}, chain {engine.name}: {summary or 'nothing read'}",
        file=sys.stderr,
    )
    return 0


async def _load_policy(settings: Settings, stream: str | None) -> Policy:
    from safestream.moderation.policy import Policy

    default = Policy.default(settings.toxic_threshold, failure_action=settings.moderation_failure_action)
    if stream is None:
        return default
    # Importing alembic (which chat.rooms does, through storage) announces each
    # of its plugins at INFO; keep only its lines about migrations.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from safestream.chat.rooms import check_stream_name
    from safestream.errors import SafeStreamError

    try:
        check_stream_name(stream)
    except SafeStreamError as exc:
        raise _Refusal(f"--stream: {exc.message}") from exc
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from safestream.storage import db, policy_rows

    url = settings.effective_database_url
    try:
        # The same schema the server would create: a fresh data directory works too.
        await db.migrate(url)
        engine = db.create_engine(url)
        try:
            stored = await policy_rows.get_policy_data(db.session_maker(engine), stream=stream)
        finally:
            await engine.dispose()
    except (SQLAlchemyError, CommandError, OSError) as exc:
        raise _Refusal(f"cannot read the policy of stream {stream!r} from the database: {exc}") from exc
    if stored is None:
        print(f"{PROG}: stream {stream!r} has no stored policy; using the server default", file=sys.stderr)
        return default
    return Policy.from_dict(stored)


def _open_input(path: str | None, files: ExitStack) -> IO[str]:
    # newline="\n": split on LF only, as ``wc -l`` counts, so a stray CR inside
    # a message does not shift every later line; errors="replace" keeps one
    # bad byte from aborting a long run.
    try:
        if path is None or path == "-":
            return files.enter_context(
                io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline="\n")
            )
        return files.enter_context(open(path, encoding="utf-8", errors="replace", newline="\n"))
    except OSError as exc:
        raise _Refusal(f"cannot read {path}: {exc.strerror or exc}") from exc


def _open_output(path: str | None, files: ExitStack) -> IO[bytes]:
    try:
        if path is None or path == "-":
            return sys.stdout.buffer
        return files.enter_context(open(path, "wb"))
    except OSError as exc:
        raise _Refusal(f"cannot write {path}: {exc.strerror or exc}") from exc


def _chunks(source: IO[str], size: int) -> Iterator[list[str]]:
    lines = iter(source)
    while chunk := list(islice(lines, size)):
        yield chunk


def _prepare(chunk: list[str]) -> tuple[list[str], list[str | None]]:
    """The lines without line endings, and the server's cleaned text (None: empty)."""
    from safestream.chat.text import clean_message
    from safestream.errors import SafeStreamError

    texts = [line.removesuffix("\n").removesuffix("\r") for line in chunk]
    cleaned: list[str | None] = []
    for text in texts:
        try:
            # No length limit here (see the module docstring).
            cleaned.append(clean_message(text, max_length=sys.maxsize))
        except SafeStreamError:  # only "empty" is possible without a length limit
            cleaned.append(None)
    return texts, cleaned


async def _process(
    engine: ModerationEngine,
    policy: Policy,
    source: IO[str],
    sink: IO[bytes],
    batch_size: int,
    escalate_all: bool,
    explain: bool = False,
) -> Counter[str]:
    # One chunk at a time: overlapping scoring of chunk n+1 with judging chunk n
    # was measured no faster (normalize, TF-IDF and judge all hold the GIL).
    counts: Counter[str] = Counter()
    for chunk in _chunks(source, batch_size):
        texts, cleaned = _prepare(chunk)
        assessments = await engine.assess([c for c in cleaned if c is not None], escalate_all=escalate_all)
        _write(sink, policy, counts, texts, cleaned, assessments, explain)
    return counts


def _write(
    sink: IO[bytes],
    policy: Policy,
    counts: Counter[str],
    texts: list[str],
    cleaned: list[str | None],
    assessments: list[Assessment],
    explain: bool,
) -> None:
    import orjson

    scored = iter(assessments)
    out: list[bytes] = []
    for text, clean in zip(texts, cleaned, strict=True):
        record = _empty(text) if clean is None else _verdict(policy, text, clean, next(scored), explain)
        counts[record["action"]] += 1
        out.append(orjson.dumps(record))
    out.append(b"")  # so the join ends with a newline
    sink.write(b"\n".join(out))
    sink.flush()  # a reader of the output sees each chunk as soon as it is done


def _verdict(policy: Policy, text: str, clean: str, assessment: Assessment, explain: bool) -> dict[str, Any]:
    decision = policy.judge(clean, assessment.normalized, assessment.scores, failed=assessment.failed)
    extra: dict[str, Any] = {}
    if explain:
        from safestream.moderation.engine import explain as explain_verdict

        extra["explain"] = explain_verdict(assessment, decision)
    return {
        "text": text,
        "shown": decision.shown,
        "action": decision.action,
        "toxic": decision.toxic,
        "score": round(decision.score, 4),
        "category": decision.category,
        "categories": {label: round(value, 4) for label, value in assessment.scores.items()},
        "terms": list(decision.terms),
        "failed": assessment.failed,
        "scored": True,
        **extra,
    }


def _empty(text: str) -> dict[str, Any]:
    return {
        "text": text,
        "shown": "",
        "action": "allow",
        "toxic": False,
        "score": 0.0,
        "category": None,
        "categories": {},
        "terms": [],
        "failed": False,
        "scored": False,
    }
