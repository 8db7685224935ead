"""localstripe served on 127.0.0.1 from a thread, its state in memory only.

Its command line binds every interface and pickles its store to /tmp on every write;
here the same aiohttp app is served on loopback and the store's disk dump is disabled.
"""

from __future__ import annotations

import asyncio
import socket
import threading

from aiohttp import web


class LocalStripe:
    """A running localstripe; `.url` is its API base (and Stripe.js at /js.stripe.com/v3/)."""

    def __init__(self) -> None:
        import warnings

        with warnings.catch_warnings():
            # localstripe registers plain functions as aiohttp handlers (deprecated there).
            warnings.simplefilter("ignore", DeprecationWarning)
            from localstripe import resources, server

        resources.store.clear()
        resources.store.dump_to_disk = lambda: None  # no pickle under /tmp
        self._app = server.app
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self._app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.SockSite(self._runner, self._sock)
        self._loop.run_until_complete(site.start())
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> LocalStripe:
        self._thread.start()
        self._ready.wait(10)
        return self

    def reset(self) -> None:
        """Forget every object and webhook (between tests)."""
        from localstripe import resources, webhooks

        resources.store.clear()
        webhooks._webhooks.clear()

    def stop(self) -> None:
        async def _cleanup():
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(_cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        self.reset()
