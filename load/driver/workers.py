"""Client processes behind pipes: one process cannot drive the server hard enough on its own.

Each worker is a fresh ``spawn`` interpreter (no inherited loop or sockets)
that runs one coroutine; the parent talks to it over a ``Pipe`` with dicts.
A worker that fails sends ``{"error": ...}`` instead of leaving the parent
waiting, and ``answer`` turns that into an exception in the parent.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
from collections.abc import Callable, Coroutine, Sequence
from multiprocessing.connection import Connection
from typing import Any

from driver.server import raise_nofile
from driver.wire import install_uvloop


def run_worker(conn: Connection, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """The body of a worker process: uvloop, a high open-file limit, ``main()``, the error if any."""
    install_uvloop()
    raise_nofile(65536)
    try:
        asyncio.run(main())
    except Exception as exc:  # noqa: BLE001 - the parent must hear about it, not hang
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


class Workers:
    """Started worker processes and the parent's ends of their pipes; a context manager that joins them."""

    def __init__(self) -> None:
        self.pipes: list[Connection] = []
        self.procs: list[Any] = []  # SpawnProcess; its type is private to multiprocessing
        self._ctx = mp.get_context("spawn")

    def start(self, target: Callable[..., None], *args: Any) -> Connection:
        """Starts ``target(child_conn, *args)`` in a new process; returns the parent's end of the pipe."""
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=target, args=(child, *args), daemon=True)
        proc.start()
        child.close()
        self.pipes.append(parent)
        self.procs.append(proc)
        return parent

    def broadcast(self, verb: str, shards: Sequence[Any] | None = None, timeout: float = 900) -> list[dict[str, Any]]:
        """Sends ``(verb, shard)`` (or ``(verb,)``) to every worker and waits for each one's answer."""
        for i, pipe in enumerate(self.pipes):
            pipe.send((verb, shards[i]) if shards is not None else (verb,))
        return [answer(pipe, timeout, f"answer {verb!r}") for pipe in self.pipes]

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.join()

    def join(self, timeout: float = 10.0, farewell: tuple[str, ...] | None = None) -> None:
        """Waits for the workers to end (after ``farewell`` if given), terminating the ones that do not."""
        if farewell is not None:
            for pipe in self.pipes:
                with contextlib.suppress(OSError, ValueError):
                    pipe.send(farewell)
        for proc in self.procs:
            proc.join(timeout)
            if proc.is_alive():
                proc.terminate()


def answer(pipe: Connection, timeout: float, what: str) -> dict[str, Any]:
    """The worker's next message; raises if it reported an error or said nothing within ``timeout`` s."""
    if not pipe.poll(timeout):
        raise RuntimeError(f"a client process did not {what} within {timeout:.0f} s")
    message: dict[str, Any] = pipe.recv()
    if "error" in message:
        raise RuntimeError(f"client process failed: {message['error']}")
    return message
