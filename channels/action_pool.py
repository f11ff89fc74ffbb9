"""One pool of keep-alive connections for Rasa's calls to the action server (issue 13).

Stock Rasa 3.6 (``EndpointConfig.request``) creates a new aiohttp session, and with it a
new TCP connection, for every custom-action call and closes both afterwards. With
config/reliability.yml ``action_pool.keep_alive`` the action calls still go through Rasa's
own ``EndpointConfig.request`` (same headers, secret, parameters, timeout and errors), but
the session it opens borrows the connections of one shared connector:

- at most ``max_connections`` connections to the action server; a call that finds them all
  busy waits for one, and that wait counts against the call's own timeout;
- Rasa drops a connection that has been idle ``idle_timeout_s`` (shorter than the action
  server's keep-alive timeout, checked by the config), so the server never closes a
  connection as idle while Rasa is about to reuse it;
- a pooled connection the server has closed anyway (a restart), or on which anything
  arrived while it was idle, is dropped when it is taken from the pool, even if Rasa's busy
  event loop has not processed the close yet, and a new connection is opened instead;
- a connection lost during a call raises what it raised before (the retry rules of
  channels/action_calls.py apply unchanged: the request may have reached the server);
- ``close()`` (called when the Rasa server stops) closes every pooled connection.

Only the action endpoint's calls made inside ``RemoteAction.run`` use the pool (a context
variable set by channels/action_calls.py); every other endpoint is untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import select
from typing import Any, Iterator, Optional

import aiohttp
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.utils.endpoints import EndpointConfig

from kefu.runtime.reliability import reliability_config

logger = logging.getLogger(__name__)


def peer_closed(proto: Any) -> bool:
    """Did anything arrive on this idle connection (the server's close, or stray bytes)?

    An idle HTTP/1.1 connection receives nothing until Rasa sends its next request, so a
    readable socket means the server closed it (or it is out of step): not reusable. The
    kernel knows this before Rasa's event loop has run the close callback."""
    transport = getattr(proto, "transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        return True
    try:
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class CheckedConnector(aiohttp.TCPConnector):
    """A TCP connector that does not hand out a pooled connection the server has closed."""

    reuse_dropped = 0  # connections found closed when taken from the pool (for tests and logs)

    def _get(self, key: Any) -> Any:  # aiohttp 3.9's pool look-up (requirements/lock.txt)
        while True:
            proto = super()._get(key)
            if proto is None or not peer_closed(proto):
                return proto
            self.reuse_dropped += 1
            logger.info("pooled action-server connection closed by the server; opening a new one")
            proto.close()


class ActionPool:
    """The shared connector, created in the running event loop on first use."""

    def __init__(self) -> None:
        self._connector: Optional[CheckedConnector] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def connector(self) -> CheckedConnector:
        loop = asyncio.get_running_loop()
        if self._connector is None or self._connector.closed or self._loop is not loop:
            config = reliability_config().action_pool
            self._connector = CheckedConnector(
                limit=config.max_connections,
                limit_per_host=config.max_connections,
                keepalive_timeout=config.idle_timeout_s,
            )
            self._loop = loop
        return self._connector

    def session(self, endpoint: EndpointConfig, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
        """What ``EndpointConfig.session`` returns: Rasa's settings, the shared connections."""
        auth = None
        if endpoint.basic_auth:
            auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
        return aiohttp.ClientSession(
            headers=endpoint.headers, auth=auth, timeout=timeout, connector=self.connector(), connector_owner=False
        )

    @property
    def open_connections(self) -> int:
        return (
            0
            if self._connector is None
            else sum(len(c) for c in self._connector._conns.values()) + len(self._connector._acquired)
        )

    async def close(self) -> None:
        connector, self._connector, self._loop = self._connector, None, None
        if connector is not None and not connector.closed:
            await connector.close()


pool = ActionPool()
_calling: contextvars.ContextVar[Optional[EndpointConfig]] = contextvars.ContextVar(
    "kefu_action_endpoint", default=None
)


@contextlib.contextmanager
def action_call(endpoint: Optional[EndpointConfig]) -> Iterator[None]:
    """Inside the block, ``endpoint``'s requests use the pool (when keep-alive is on)."""
    token = _calling.set(endpoint if reliability_config().action_pool.keep_alive else None)
    try:
        yield
    finally:
        _calling.reset(token)


_installed = False


def install() -> None:
    """Make ``EndpointConfig.session`` use the pool for the action call in progress (idempotent)."""
    global _installed
    if _installed:
        return
    original_session = EndpointConfig.session

    def session(self: EndpointConfig) -> aiohttp.ClientSession:
        if _calling.get() is not self:
            return original_session(self)
        # Rasa's session-wide timeout, as in EndpointConfig.session; the call's own one still applies
        return pool.session(self, aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT))

    EndpointConfig.session = session  # type: ignore[method-assign]
    _installed = True
