"""The aiohttp session the Gemini API client sends through: one per event loop, with the environment's proxy read once.

google-genai 3.6 makes its own aiohttp session with `trust_env=True`, and aiohttp 3.14 then reads the proxy variables
and ~/.netrc in two worker-thread jobs on every request: two thread hops a call, each taking the GIL from the loop.
The Gemini API client is handed this session instead (`HttpOptions.aiohttp_client`): `trust_env=False`, with the
proxy aiohttp's own lookup gives for the endpoint (HTTP(S)_PROXY, NO_PROXY, the proxy's credentials from .netrc),
read once, when the first session is made. Proxy variables changed after that are not seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import aiohttp
import attrs
from aiohttp.helpers import get_env_proxy_for_url  # the lookup trust_env runs per request
from yarl import URL

from mediagen.application.shutdown import close_at_shutdown

#: google-genai 3.6's read buffer for the sessions it makes (READ_BUFFER_SIZE): an inline image is read in few chunks.
READ_BUFFER_SIZE = 2**22


def env_proxy(endpoint: str) -> URL | None:
    """The proxy aiohttp's `trust_env` would pick for `endpoint`, its credentials in the URL (aiohttp sends a proxy
    URL's own user and password as Proxy-Authorization); None: connect directly. Blocking: it may read ~/.netrc."""
    try:
        url, auth = get_env_proxy_for_url(URL(endpoint))
    except LookupError:  # no proxy for this scheme, or NO_PROXY names the host
        return None
    if auth is None:
        return url
    return url.with_user(auth.login).with_password(auth.password)


@attrs.define
class _Held:
    session: aiohttp.ClientSession
    closer: AsyncGenerator[None, None]  # held here: the loop keeps only a weak reference to it


class LoopSessions:
    """A session per running event loop, made on that loop the first time it asks, and closed with it.

    aiohttp binds a session to the loop it is made on; a service used from several loops (`generate_sync` with one
    container, say) gets one on each. A session closes when `aclose` runs, or when its loop shuts down: asyncio.run
    closes a loop's open async generators first (`loop.shutdown_asyncgens`), and each session has one waiting to
    close it.
    """

    def __init__(self, endpoint: str) -> None:
        self._endpoint = endpoint
        self._proxy: URL | None = None
        self._proxy_read = False
        self._held: dict[asyncio.AbstractEventLoop, _Held] = {}

    async def get(self) -> aiohttp.ClientSession:
        """This loop's session (the first call reads the proxy settings in a worker thread)."""
        loop = asyncio.get_running_loop()
        held = self._held.get(loop)
        if held is not None:
            return held.session
        if not self._proxy_read:
            self._proxy, self._proxy_read = await asyncio.to_thread(env_proxy, self._endpoint), True
        held = self._held.get(loop)  # a concurrent first call may have made it meanwhile
        if held is not None:
            return held.session
        for gone in [old for old in self._held if old.is_closed()]:
            del self._held[gone]  # closed with its loop; one whose host skipped shutdown_asyncgens can't be now
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),  # no pool cap, as google-genai's own: the service bounds calls
            trust_env=False,
            proxy=self._proxy,
            read_bufsize=READ_BUFFER_SIZE,
        )
        # Closed at the loop's shutdown unless `aclose` closed it first (a second close does nothing).
        self._held[loop] = _Held(session, await close_at_shutdown(session.close))
        return session

    async def aclose(self) -> None:
        """Close every session: this loop's now, another running loop's on that loop."""
        held, self._held = self._held, {}
        here = asyncio.get_running_loop()
        for loop, entry in held.items():
            if loop is here:
                await entry.session.close()
            elif loop.is_running():
                asyncio.run_coroutine_threadsafe(entry.session.close(), loop)
