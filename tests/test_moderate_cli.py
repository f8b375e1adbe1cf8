"""`safestream moderate` as an operator runs it: a real process, from another directory."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from safestream.moderation.policy import Policy
from safestream.settings import ENV_VARIABLES
from safestream.storage import db
from safestream.storage.policy_rows import put_policy

MESSAGES = [
    "hello everyone, nice stream",
    "fuck yeah",
    "holy s.h.i.t what a play",
    "shut up you dumb idiot",
    "",
    "good game, well played",
]
STRICT = {"levels": [{"category": "*", "threshold": 0.5, "action": "block"}]}


def _env(tmp_path: Path) -> dict[str, str]:
    # The developer's own SafeStream variables (a DATABASE_URL, another chain or
    # threshold) must not leak in: the test checks the defaults.
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARIABLES}
    env.update(SAFESTREAM_DATA_DIR=str(tmp_path / "data"), SAFESTREAM_LOG_DIR=str(tmp_path / "logs"))
    return env


def _moderate(
    tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "safestream", "moderate", *args],
        input=stdin,
        cwd=tmp_path,
        env=env or _env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )  # a cold process imports torch


def _records(output: str) -> list[dict[str, Any]]:
    lines = output.splitlines()
    assert len(lines) == len(MESSAGES), output  # one verdict per input line, empty ones too
    records = [json.loads(line) for line in lines]
    assert [r["text"] for r in records] == MESSAGES
    for record in records:
        assert 0.0 <= record["score"] <= 1.0
        assert all(0.0 <= v <= 1.0 for v in record["categories"].values())
    return records


def test_default_chain_and_policy(tmp_path: Path) -> None:
    # --batch-size 2 makes the six lines three scoring calls: alignment must survive chunking.
    proc = _moderate(tmp_path, "--batch-size", "2", stdin="\n".join(MESSAGES) + "\n")
    assert proc.returncode == 0, proc.stderr
    clean, profane, obfuscated, insult, empty, polite = _records(proc.stdout)

    assert (clean["action"], clean["toxic"], clean["shown"]) == ("allow", False, MESSAGES[0])
    assert (polite["action"], polite["toxic"]) == ("allow", False)
    # Profanity alone is masked by the default policy; clear abuse is blocked.
    assert (profane["action"], profane["shown"], profane["terms"]) == ("mask", "f*** yeah", ["fuck"])
    assert obfuscated["action"] == "mask" and obfuscated["shown"] == "holy s****** what a play"
    # No listed word: the model's score alone crosses the default block line.
    assert (insult["action"], insult["toxic"], insult["terms"]) == ("block", True, [])
    assert insult["score"] >= 0.7
    assert set(insult["categories"]) >= {"toxicity"}
    # Empty lines are not scored (the server refuses them) but keep their place.
    assert empty == {
        "text": "",
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


def test_stream_policy_from_the_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'safestream.db').resolve()}"
    db.migrate_sync(url)

    async def store() -> None:
        engine = db.create_engine(url)
        try:
            await put_policy(db.session_maker(engine), stream="strict", policy=Policy.from_dict(STRICT), actor="test")
        finally:
            await engine.dispose()

    asyncio.run(store())
    source, target = tmp_path / "in.txt", tmp_path / "out.jsonl"
    source.write_text("\n".join(MESSAGES) + "\n", encoding="utf-8")

    proc = _moderate(tmp_path, "--stream", "strict", "--input", str(source), "--output", str(target))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    records = _records(target.read_text(encoding="utf-8"))
    by_text = {r["text"]: r for r in records}
    assert by_text["shut up you dumb idiot"]["action"] == "block"
    assert by_text["fuck yeah"]["action"] == "block"  # block outranks the term list's mask
    assert by_text["hello everyone, nice stream"]["action"] == "allow"

    # A stream without a stored policy gets the server default, and says so.
    proc = _moderate(tmp_path, "--stream", "other", stdin="shut up you dumb idiot\n")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["action"] == "block"
    assert "no stored policy" in proc.stderr


def test_configuration_errors_exit_2(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "SAFESTREAM_MODERATION": "no-such-backend"}
    proc = _moderate(tmp_path, stdin="hello\n", env=env)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "unknown moderation backend" in proc.stderr

    proc = _moderate(tmp_path, "--input", str(tmp_path / "missing.txt"))
    assert proc.returncode == 2
    assert "cannot read" in proc.stderr


def test_explain_names_the_deciding_stage_category_and_score(tmp_path: Path) -> None:
    proc = _moderate(tmp_path, "--explain", stdin="shut up you dumb idiot\nfuck yeah\nhello there\n")
    assert proc.returncode == 0, proc.stderr
    insult, profane, clean = (json.loads(line) for line in proc.stdout.splitlines())
    assert insult["explain"]["stage"] == "sentence" and insult["explain"]["category"] == insult["category"]
    assert insult["explain"]["score"] >= 0.9
    assert profane["explain"] == {
        "stage": "terms",
        "category": "obscene",
        "score": profane["score"],
        "escalated": profane["explain"]["escalated"],
    }
    assert clean["explain"]["stage"] == "none" and clean["explain"]["category"] is None
