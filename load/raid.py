"""Raid simulation: fresh accounts flood a stream while regular viewers chat normally.

A benchmark script, not a test. By default: 200 brand-new accounts join the
demo stream ``main`` and post copy-pasta, links, @mention spam and shouting
at 500 msg/s for 30 s, while 50 regular viewers (accounts a day old) each
send an ordinary, distinct line every 6 s. Every message is acked, and the
ack says what happened to it: refused (with the rule's code), held or
blocked (with the rule that decided, or the model), or shown.

Two scenarios, each on a fresh server:

* ``off``: the stream's rules on (unique chat, links held, > 3 mentions
  refused, caps masked, repeats held), shield off: what each rule catches.
* ``nounique``: as ``off`` without unique chat, to show what the other rules
  catch on their own (unique chat refuses most repeats before they get a say).
* ``on``: the same as ``off``, plus shield mode (accounts younger than 60 min refused,
  3 s slow mode, what the levels flag also held from 0.9).

Target with shield on: >= 99 % of the raid's messages refused or held, and
0 % of the regular viewers' messages. Server CPU over the window comes from
/proc (user + system seconds of the server process).

    python load/raid.py                       # off and on, about 2 x 50 s (--scenario all: 3)
    python load/raid.py --scenario on --duration 10 --rate 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the driver, when imported from elsewhere

from driver.accounts import backdate, register_and_login
from driver.machine import own_cpu_seconds, sample
from driver.server import Server, start_server
from driver.wire import RawSocket, open_joined, parse_ack

STREAM = "main"
RULES = {
    "unique": {"on": True, "window_secs": 30, "crowd_users": 3},
    "links": {"action": "hold"},
    "mentions": {"action": "refuse", "max_mentions": 3},
    "caps": {"action": "mask"},
    "repeats": {"action": "hold"},
}

PASTAS = (
    "this streamer is a fraud and everyone in chat knows it, unfollow now and go somewhere better",
    "we are the raid we are everywhere you cannot stop us this chat belongs to us now",
    "copy this message and paste it in every stream you visit today so they all see it",
)
SUFFIXES = ("", "!", "!!!", " 😂", " 🔥🔥", " 123", " ...", " ✅", " lol 7", "?")
LINKS = (
    "free followers at cheap-followers dot com",
    "get skins hxxp://skins-{n}.xyz now",
    "join www.raid{n}.gg",
    "best deals: deals . io/{n}",
    "visit exаmple.соm/{n}",
    "grab it at free-stuff[.]net/{n}",
)
# The regular viewers' lines are OPENER MIDDLE ENDING: 1000 distinct ones.
# fmt: off
OPENERS = (
    "honestly", "wow", "okay so", "hey everyone,", "not gonna lie", "yo", "hmm", "wait", "haha", "so",
)
MIDDLES = (
    "that last round", "the new map", "this song", "the boss fight", "your setup", "the build you picked",
    "that comeback", "the stream quality", "chat tonight", "the art on screen",
)
ENDINGS = (
    "was really fun to watch", "looks great", "is my favourite part", "needs a rematch", "made my evening",
    "deserves a clip", "was so close", "is way better than yesterday", "surprised me", "is worth the wait",
)
# fmt: on


def raid_text(n: int, rng: random.Random, regulars: list[str]) -> tuple[str, str]:
    kind = ("pasta", "pasta", "pasta", "pasta", "link", "link", "mention", "mention", "caps", "caps")[n % 10]
    if kind == "pasta":
        return kind, PASTAS[n % 3] + rng.choice(SUFFIXES)
    if kind == "link":
        return kind, rng.choice(LINKS).format(n=n)
    if kind == "mention":
        return kind, " ".join("@" + name for name in rng.sample(regulars, 5)) + " look at this"
    return kind, "THIS CHAT IS OURS NOW, EVERYONE LEAVE " + rng.choice(SUFFIXES)


def regular_text(i: int, k: int) -> str:
    """Distinct for every (viewer, message) of a run: no repeats, no copy-pasta."""
    n = i + 50 * k
    return f"{OPENERS[n % 10]} {MIDDLES[(n // 10) % 10]} {ENDINGS[(n // 100) % 10]}"


def outcome(ack: Any) -> str:
    if not isinstance(ack, dict):
        return "no-ack"
    if not ack.get("ok"):
        return "refused:" + str((ack.get("error") or {}).get("code"))
    action = ack.get("action")
    who = ack.get("rule") or "model"
    if action in ("hold", "block"):
        return f"{action}:{who}"
    return f"shown:{action}" + (f":{who}" if action == "mask" else "")


@dataclass
class Client:
    sock: RawSocket
    kind: str
    pending: dict[int, str] = field(default_factory=dict)  # ack id -> message kind


@dataclass
class Tally:
    raid: Counter[str] = field(default_factory=Counter)
    raid_by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    regular: Counter[str] = field(default_factory=Counter)
    #: The regular viewers' lines that were refused or held, with what happened (to read them).
    regular_stopped: list[tuple[str, str]] = field(default_factory=list)
    chat_frames: int = 0


async def reader(client: Client, tally: Tally) -> None:
    try:
        while True:
            frame = await client.sock.recv_text(3600)
            if (parsed := parse_ack(frame)) is not None:
                kind = client.pending.pop(parsed[0], "?")
                result = outcome(parsed[1])
                if client.kind == "raid":
                    tally.raid[result] += 1
                    tally.raid_by_kind.setdefault(kind, Counter())[result] += 1
                else:
                    tally.regular[result] += 1
                    if not result.startswith("shown"):
                        tally.regular_stopped.append((result, kind))
            elif frame.startswith('42["chat'):
                tally.chat_frames += 1
    except Exception:  # noqa: BLE001 - the socket closed: the run is over for it
        return


def regular_verdicts(server: Server) -> dict[str, Any]:
    """From the server's moderation log: the regular viewers' held lines, split by why.

    A hold is either the policy's verdict on the scores, or the failure action
    (``failed``: a chain stage timed out, which an overloaded machine causes);
    the ack alone does not tell them apart.
    """
    failed, scored = 0, []
    for row in server.moderation_rows():
        if str(row.get("user")).startswith("regular") and row.get("action") == "hold":
            if row.get("failed"):
                failed += 1
            else:
                top = max(row.get("categories", {}).items(), key=lambda kv: kv[1], default=("", 0))
                scored.append((row["message"], top[0], top[1]))
    return {"failed": failed, "scored": scored}


async def scenario(name: str, args: argparse.Namespace) -> dict[str, Any]:
    env = {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "GIFT_INTERVAL_SECS": "3600",
        "SAFESTREAM_TRANSPORTS": "websocket",
    }
    rng = random.Random(7)
    with start_server(env, nofile=8192, port=args.port) as server:
        raiders = [f"raid{i:04d}" for i in range(args.raiders)]
        regulars = [f"regular{i:03d}" for i in range(args.regulars)]
        raid_tokens = await register_and_login(server.url, raiders)
        regular_tokens = await register_and_login(server.url, regulars)
        backdate(server.workdir, "regular")
        [owner] = await register_and_login(server.url, ["test_streamer"], password="test456", register=False)
        timeout = aiohttp.ClientTimeout(total=60)
        # No per-host connection cap: every simulated client holds its own WebSocket.
        async with aiohttp.ClientSession(server.url, timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as http:
            headers = {"Authorization": f"Bearer {owner}"}
            rules = {**RULES, "unique": {"on": False}} if name == "nounique" else RULES
            async with http.get(f"/api/streams/{STREAM}/policy", headers=headers) as resp:
                policy = await resp.json()  # the server's default policy, plus the rules
            policy = {k: v for k, v in policy.items() if k not in ("stream", "custom", "shield", "shield_previous")}
            async with http.put(
                f"/api/streams/{STREAM}/policy", headers=headers, json={**policy, "modes": rules}
            ) as resp:
                assert resp.status == 200, await resp.text()
            if name == "on":
                async with http.post(f"/api/streams/{STREAM}/shield", headers=headers, json={"on": True}) as resp:
                    assert resp.status == 200, await resp.text()
            # Connected after the backdating: the server reads the account's age at connect.
            clients = [
                Client(sock, "raid") for sock in await open_joined(http, server.url, raid_tokens, STREAM, deflate=False)
            ]
            clients += [
                Client(sock, "regular")
                for sock in await open_joined(http, server.url, regular_tokens, STREAM, deflate=False)
            ]
            tally = Tally()
            readers = [asyncio.create_task(reader(c, tally)) for c in clients]
            raid_clients = [c for c in clients if c.kind == "raid"]
            regular_clients = [c for c in clients if c.kind == "regular"]
            before, cpu_client = sample(server.pid), own_cpu_seconds()
            started = time.monotonic()
            sent = Counter[str]()

            async def raid() -> None:
                if args.rate <= 0:  # --rate 0: the regular viewers alone, the baseline for the CPU figures
                    await asyncio.sleep(args.duration)
                    return
                tick, per_tick = 0.02, max(1, round(args.rate * 0.02))
                n = 0
                while time.monotonic() < started + args.duration:
                    for _ in range(per_tick):
                        client = raid_clients[n % len(raid_clients)]
                        kind, text = raid_text(n, rng, regulars)
                        ack_id = await client.sock.send_event("chat", {"message": text}, ack=True)
                        client.pending[ack_id or 0] = kind
                        sent["raid"] += 1
                        n += 1
                    await asyncio.sleep(max(0.0, started + (n // per_tick) * tick - time.monotonic()))

            async def regular(i: int, client: Client) -> None:
                await asyncio.sleep(rng.uniform(0, args.regular_every))
                k = 0
                while time.monotonic() < started + args.duration:
                    text = regular_text(i, k)
                    ack_id = await client.sock.send_event("chat", {"message": text}, ack=True)
                    client.pending[ack_id or 0] = text
                    sent["regular"] += 1
                    k += 1
                    await asyncio.sleep(max(0.0, min(args.regular_every, started + args.duration - time.monotonic())))

            await asyncio.gather(raid(), *(regular(i, c) for i, c in enumerate(regular_clients)))
            window = time.monotonic() - started  # the raid sends until the end of the window
            deadline = time.monotonic() + 20
            while any(c.pending for c in clients) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            drained = time.monotonic() - started
            after = sample(server.pid)
            verdicts = regular_verdicts(server)
            for task in readers:
                task.cancel()
            for c in clients:
                await c.sock.close()
    stopped = sum(n for k, n in tally.raid.items() if not k.startswith("shown"))
    regular_stopped = sum(n for k, n in tally.regular.items() if not k.startswith("shown"))
    return {
        "scenario": name,
        "duration_s": round(window, 1),
        "drained_s": round(drained, 1),
        "raid_sent": sent["raid"],
        "raid_rate": round(sent["raid"] / window),
        "regular_sent": sent["regular"],
        "raid_stopped_pct": round(100 * stopped / max(1, sum(tally.raid.values())), 2),
        "regular_stopped_pct": round(100 * regular_stopped / max(1, sum(tally.regular.values())), 2),
        "raid": dict(tally.raid.most_common()),
        "raid_by_kind": {k: dict(v.most_common()) for k, v in tally.raid_by_kind.items()},
        "regular": dict(tally.regular.most_common()),
        "chat_frames_received": tally.chat_frames,
        "regular_stopped_lines": tally.regular_stopped[:20],
        "regular_held_failed": verdicts["failed"],
        "regular_held_scored": verdicts["scored"][:20],
        "server_cpu_s": round(after.cpu_s - before.cpu_s, 1),
        "server_cpu_pct_of_core": round(100 * (after.cpu_s - before.cpu_s) / drained, 1),
        "client_cpu_s": round(own_cpu_seconds() - cpu_client, 1),
    }


def report(result: dict[str, Any]) -> None:
    print(
        f"\n== shield {result['scenario']}: {result['raid_sent']} raid messages ({result['raid_rate']}/s) and "
        f"{result['regular_sent']} regular ones in {result['duration_s']} s (acked by {result['drained_s']} s)"
    )
    print(
        f"raid refused or held: {result['raid_stopped_pct']} %   regular refused or held: "
        f"{result['regular_stopped_pct']} %"
    )
    print(
        f"server CPU: {result['server_cpu_s']} s ({result['server_cpu_pct_of_core']} % of one core); "
        f"client CPU {result['client_cpu_s']} s; chat frames delivered {result['chat_frames_received']}"
    )
    for kind, counts in sorted(result["raid_by_kind"].items()):
        print(f"  raid {kind:8}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print("  regular      : " + ", ".join(f"{k} {v}" for k, v in result["regular"].items()))
    print(
        f"  regular held because a chain stage failed (the failure action): {result['regular_held_failed']};"
        f" held on their scores: {len(result['regular_held_scored'])}"
    )
    for text, category, score in result["regular_held_scored"]:
        print(f"    held on score: {text!r} ({category} {score:.2f})")
    for outcome_, text in result["regular_stopped_lines"]:
        print(f"    {outcome_}: {text!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=None, help="the server's port (default: a free one)")
    parser.add_argument("--scenario", choices=("off", "nounique", "on", "both", "all"), default="both")
    parser.add_argument("--raiders", type=int, default=200)
    parser.add_argument("--regulars", type=int, default=50)
    parser.add_argument("--rate", type=float, default=500.0, help="raid messages per second (0: no raid)")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--regular-every", type=float, default=6.0, help="seconds between a regular's messages")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    names = {"both": ("off", "on"), "all": ("off", "nounique", "on")}.get(args.scenario, (args.scenario,))
    results = [asyncio.run(scenario(name, args)) for name in names]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for result in results:
            report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
