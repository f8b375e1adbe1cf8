"""``safestream serve`` for one process: listen, and on SIGTERM stop in order, in time.

aiohttp's own shutdown first marks every connection closing, and from then on
it drops whatever a client sends, WebSocket frames included: chats sent during
the shutdown would get no answer, and a client's reply to our CLOSE would
never be read, so each WebSocket waits out its close timeout. So the steps
that need clients to be heard run first, while connections are still read:

1. stop listening (no new connections);
2. ``drain``: refuse new chats with ``shutting_down`` (senders resend to the
   next server), answer every queued one, flush the last acks, then close
   every session and answer every request still open (orphaned long-polls too);
3. aiohttp's cleanup: the remaining HTTP requests, then the cleanup contexts
   (the write-behind queue drains to the database).

Every step is bounded to fit ``SAFESTREAM_SHUTDOWN_GRACE_SECS``, and a timer
thread (not an asyncio timer: the loop itself may be what is stuck) ends the
process at that deadline whatever happens, with exit status 70.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading

from aiohttp import web, web_response

from safestream import gctune
from safestream.app_keys import BROADCASTER_KEY, MODERATION_KEY, PIPELINE_KEY, SETTINGS_KEY, SIO_KEY
from safestream.http.middleware import SERVER_NAME
from safestream.logs import RedactingAccessLogger
from safestream.settings import Settings

log = logging.getLogger(__name__)

EXIT_STATUS = 70  # EX_SOFTWARE: the graceful path did not finish


async def drain(app: web.Application) -> None:
    """Step 2 above; a second call finds nothing left to do."""
    grace = app[SETTINGS_KEY].shutdown_grace_secs
    sio, broadcaster = app[SIO_KEY], app[BROADCASTER_KEY]
    first = not sio.gate.closed
    sio.gate.close()  # new sessions: 503, try the next server
    if first:  # clients stop sending and show "reconnecting" at once
        with contextlib.suppress(Exception):
            await asyncio.wait_for(broadcaster.server_shutdown(), timeout=grace * 0.05)
    await app[PIPELINE_KEY].close(timeout=grace * 0.25)  # and up to as long again for the batch in hand
    await broadcaster.flush_all()  # chat still waiting in a flush window goes out before the close
    await sio.settle(quiet=0.1, timeout=grace * 0.05)
    await sio.close_sessions(timeout=grace * 0.1)


def run(app: web.Application, settings: Settings, *, banner: str | None = None) -> None:
    asyncio.run(_serve(app, settings, banner))


async def _serve(app: web.Application, settings: Settings, banner: str | None = None) -> None:
    # The app names itself on every response it prepares (middleware.server_header);
    # aiohttp's own answers to unparseable requests bypass the app and would still
    # carry "Python/x aiohttp/y". This process serves only SafeStream, so the default
    # is replaced here (and only here: create_app changes no library state).
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]
    # The app's drain answers every Socket.IO request; what remains for aiohttp's
    # shutdown are short HTTP requests, so its wait for them can be brief.
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log_class=RedactingAccessLogger)
    await runner.setup()
    stop = asyncio.Event()
    started = 0.0
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    gc_task: asyncio.Task[None] | None = None
    try:
        site = web.TCPSite(
            runner,
            settings.host,
            settings.port,
            reuse_port=settings.reuse_port or None,
            backlog=settings.listen_backlog,
        )
        await site.start()
        gctune.apply_threshold(settings.gc_threshold)
        gctune.apply_switch_interval(settings.switch_interval_ms)
        if settings.gc_freeze:
            gc_task = asyncio.create_task(gctune.freeze_when(app[MODERATION_KEY].wait_loaded()), name="gc-freeze")
        # Printed once the site listens (after migrations): /healthz answers by the time it is read.
        print(banner or f"SafeStream on http://{settings.host}:{settings.port}  (docs: /docs)", flush=True)
        await stop.wait()
        gctune.stop_collecting()
        _arm_exit_deadline(settings.shutdown_grace_secs)
        started = loop.time()
        log.info("stopping within %g s", settings.shutdown_grace_secs)
        await site.stop()
        await drain(app)
        log.info("drained in %.2f s", loop.time() - started)
    finally:
        if gc_task is not None:
            gc_task.cancel()
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped in %.2f s", loop.time() - started)


def _arm_exit_deadline(grace: float) -> None:
    timer = threading.Timer(grace, _expire, args=(grace,))
    timer.daemon = True
    timer.start()


def _expire(grace: float) -> None:
    log.critical("shutdown did not finish within %g s; exiting now", grace)
    logging.shutdown()
    os._exit(EXIT_STATUS)
