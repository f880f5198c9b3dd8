"""The tracking server, run for tests on its own event loop in a thread.

The stock mlflow client is synchronous, so the server cannot share the test's
event loop: a blocking client call would stall the very loop that must answer
it.  A thread with its own loop serves real HTTP on a free loopback port.
"""

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from tracker.config import Settings
from tracker.http.app import create_app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_server(settings: Settings) -> Iterator[str]:
    """Serve ``settings`` until the block ends; yield the tracking URI."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings), access_log=None)
    started = threading.Event()
    failure: list[BaseException] = []

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as error:
            failure.append(error)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="tracking-server", daemon=True)
    thread.start()
    started.wait()
    if failure:
        raise failure[0]

    try:
        yield f"http://{settings.host}:{settings.port}{settings.prefix}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
