"""The emit side of a room fan-out, per recipient: python-socketio's emit vs the direct fan-out.

Usage: python load/bench_fanout_path.py [--recipients 1000] [--emits 200] [--runs 5]

In-process and without a network: a real ChatServer (create_sio) whose room
holds ``--recipients`` real Engine.IO sockets (``AsyncSocket``, their queues
real ``asyncio.Queue``s, drained between emits and not timed). It times, with
``time.process_time`` (CPU of this process, so other load on a shared machine
does not count), what one chat_batch emit costs per recipient on each path:
python-socketio's task per recipient, ping check and queue put, or the direct
path's one ``put_nowait`` of the shared packet. The per-socket writer and the
WebSocket frame (the same on both paths) are not part of this figure; the
end-to-end cost is in bench_fanout.py.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from engineio.async_socket import AsyncSocket

from safestream.app import create_sio
from safestream.chat.fanout import DirectFanout, SocketioFanout
from safestream.chat.rooms import room_name
from safestream.settings import Settings


async def _room(recipients: int) -> tuple[object, list[AsyncSocket]]:
    settings = Settings(env="test", data_dir=Path(tempfile.mkdtemp()), jwt_secret_key="x" * 40).validated()
    sio = create_sio(settings)
    socks = []
    for i in range(recipients):
        eio_sid = f"eio{i}"
        sock = AsyncSocket(sio.eio, eio_sid)
        sio.eio.sockets[eio_sid] = sock
        sid = await sio.manager.connect(eio_sid, "/")
        await sio.manager.enter_room(sid, "/", room_name("main"))
        socks.append(sock)
    return sio, socks


async def _time(fanout: object, socks: list[AsyncSocket], emits: int, batch: list[dict[str, object]]) -> float:
    """CPU microseconds per recipient per emit."""
    spent = 0.0
    for _ in range(emits):
        started = time.process_time()
        await fanout.emit("chat_batch", batch, room_name("main"))  # type: ignore[attr-defined]
        spent += time.process_time() - started
        for sock in socks:  # what the writers would do, and a client's pings; not timed
            sock.last_ping = time.time()
            while not sock.queue.empty():
                sock.queue.get_nowait()
                sock.queue.task_done()
    return 1e6 * spent / (emits * len(socks))


async def main_async(args: argparse.Namespace) -> None:
    sio, socks = await _room(args.recipients)
    batch = [
        {
            "type": "chat",
            "id": i,
            "stream": "main",
            "user": f"user{i}",
            "message": "hello there " * 3,
            "toxic": False,
            "score": 0.01,
            "ts": "2026-12-01T00:00:00.000Z",
        }
        for i in range(args.batch)
    ]
    paths = {"socketio": SocketioFanout(sio), "direct": DirectFanout(sio)}  # type: ignore[arg-type]
    results: dict[str, list[float]] = {name: [] for name in paths}
    await _time(paths["socketio"], socks, 5, batch)  # warm-up
    for _ in range(args.runs):
        for name, fanout in paths.items():  # interleaved
            results[name].append(await _time(fanout, socks, args.emits, batch))
    assert not any(sock.closed for sock in socks), "a socket closed: the figures would be of an empty room"
    for name, values in results.items():
        print(
            f"{name:>9}: {statistics.median(values):6.2f} us CPU per recipient per emit (median of {args.runs}; "
            f"runs {', '.join(f'{v:.2f}' for v in values)})"
        )
    ratio = statistics.median(results["socketio"]) / statistics.median(results["direct"])
    print(
        f"  {args.recipients} recipients, chat_batch of {args.batch}: direct is {ratio:.1f}x cheaper on the emit side"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--emits", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10, help="messages per chat_batch")
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main_async(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
