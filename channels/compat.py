"""Python 3.11 compatibility shim for Sanic 21.12's WebSocket implementation.

Sanic 21.12 (pinned by Rasa 3.6) passes bare coroutines to `asyncio.wait()` in
`WebsocketImplProtocol.recv`/`recv_burst`; Python 3.11 rejects that with a TypeError,
so socket.io over WebSocket dies on the first frame. Instead of patching the methods,
give that one module an `asyncio` whose `wait()` wraps coroutines in tasks first —
exactly what Python < 3.11 did implicitly. Everything else is the real asyncio.
"""
from __future__ import annotations

import asyncio
import re
import types
from typing import Any, Iterable

from rasa.core.channels.socketio import SocketBlueprint


async def _wait(fs: Iterable[Any], *args: Any, **kwargs: Any):
    return await asyncio.wait([asyncio.ensure_future(f) for f in fs], *args, **kwargs)


def _compat_asyncio() -> types.ModuleType:
    module = types.ModuleType("asyncio_py311_compat")
    module.__dict__.update({k: getattr(asyncio, k) for k in dir(asyncio) if not k.startswith("__")})
    module.wait = _wait
    return module


def apply() -> None:
    """Install the shim (idempotent: a second call changes nothing)."""
    from sanic.server.websockets import impl

    from engineio.asyncio_server import AsyncServer as EngineIOServer

    keep_background_tasks(EngineIOServer)
    if getattr(impl.asyncio, "wait", None) is _wait:
        return
    impl.asyncio = _compat_asyncio()
    _keep_frame_tasks(impl.WebsocketImplProtocol)


# --- frame tasks of closed WebSockets ------------------------------------------------
# Sanic 21.12 hands every received chunk to a task it keeps no reference to
# (``asyncio.create_task(self.async_data_received(...))``). When a socket closes while such
# a task still waits to pass a frame on (nobody reads any more), the garbage collector
# destroys it and asyncio logs "Task was destroyed but it is pending!" — 39 times when 200
# customers left at once (issue 17). The protocol now keeps its tasks and, a grace period
# after the connection is lost (the handler may still read buffered frames), cancels the
# ones still waiting.

FRAME_TASK_GRACE_S = 10.0


def _track(protocol: Any, task: "asyncio.Task") -> None:
    tasks = protocol.__dict__.setdefault("_kefu_frame_tasks", set())
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def _cancel_pending(protocol: Any) -> None:
    for task in list(protocol.__dict__.get("_kefu_frame_tasks", ())):
        task.cancel()


def _keep_frame_tasks(cls: Any) -> None:
    if getattr(cls, "_kefu_keeps_frame_tasks", False):
        return
    original_lost = cls.connection_lost

    def data_received(self: Any, data: bytes) -> None:
        self.connection.receive_data(data)
        data_to_send = self.connection.data_to_send()
        events_to_process = self.connection.events_received()
        if len(data_to_send) > 0 or len(events_to_process) > 0:
            _track(self, asyncio.create_task(self.async_data_received(data_to_send, events_to_process)))

    def eof_received(self: Any) -> bool:
        self.connection.receive_eof()
        data_to_send = self.connection.data_to_send()
        events_to_process = self.connection.events_received()
        _track(self, asyncio.create_task(self.async_eof_received(data_to_send, events_to_process)))
        return False

    def connection_lost(self: Any, exc: Any) -> None:
        original_lost(self, exc)
        if self.__dict__.get("_kefu_frame_tasks"):
            asyncio.get_running_loop().call_later(FRAME_TASK_GRACE_S, _cancel_pending, self)

    cls.data_received = data_received
    cls.eof_received = eof_received
    cls.connection_lost = connection_lost
    cls._kefu_keeps_frame_tasks = True


# --- clean WebSocket close ------------------------------------------------------------
# python-engineio serves /socket.io/ with a plain Sanic route. For a WebSocket the handler
# upgrades the connection itself and returns None when the socket closes; Sanic 21.12 then
# raises "Invalid response type None (need HTTPResponse)" (and tries to answer with a 500 on
# the finished connection) once per disconnect, unless the handler is marked as a WebSocket
# handler. Long-polling requests still return their HTTPResponse as before.


class _WebsocketAwareApp:
    """What engine.io's ``create_route`` sees of the Sanic app: routes marked `is_websocket`."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def add_route(self, handler: Any, uri: str, *args: Any, **kwargs: Any) -> Any:
        async def engineio_route(request: Any, *a: Any, **kw: Any) -> Any:
            return await handler(request, *a, **kw)

        engineio_route.is_websocket = True  # type: ignore[attr-defined]
        kwargs.setdefault("name", "engineio_" + re.sub(r"\W", "_", uri.strip("/")))
        return self._app.add_route(engineio_route, uri, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # enable_websocket() and anything else: the real app
        return getattr(self._app, name)


def websocket_aware(app: Any) -> Any:
    return _WebsocketAwareApp(app)


class CleanCloseSocketBlueprint(SocketBlueprint):
    """Rasa's SocketBlueprint whose engine.io route closes WebSockets without an error."""

    def register(self, app: Any, options: Any) -> None:
        self.ctx.sio.attach(websocket_aware(app), self.ctx.socketio_path)
        super(SocketBlueprint, self).register(app, options)


# --- engine.io background tasks -----------------------------------------------------------
# python-engineio 4.5.1 (the version Rasa 3.6's python-socketio pin allows) starts its
# background tasks -- the service task that closes sockets whose pong is late, one ping
# sender per socket, socket.io's event handlers -- with ``asyncio.ensure_future`` and keeps
# no reference; asyncio holds tasks only weakly. When Rasa stops, the sleeping service and
# ping tasks are still pending as Sanic closes the loop, and asyncio logs "Task was
# destroyed but it is pending!" (seen in CI in Rasa's log, python-engineio issue #304).
# Later engine.io releases keep the references (``task_reference_holder``); here the
# server keeps them too, and cancels the ones still running when the server stops.


def _start_background_task(self: Any, target: Any, *args: Any, **kwargs: Any) -> "asyncio.Task":
    task = asyncio.ensure_future(target(*args, **kwargs))
    tasks = self.__dict__.setdefault("_kefu_background_tasks", set())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task


def keep_background_tasks(server_class: Any) -> None:
    """Make ``server_class`` (engine.io's asyncio server) keep its background tasks (idempotent)."""
    server_class.start_background_task = _start_background_task


# engine.io's own timers: nothing is lost when they stop at once.
_TIMER_TASKS = ("AsyncServer._service_task", "AsyncSocket.schedule_ping.<locals>.send_ping")


async def stop_background_tasks(eio_server: Any, grace: float = 10.0) -> int:
    """Stop the engine.io server's pending background tasks before the loop closes: its
    timers at once; a customer's turn in progress gets ``grace`` seconds to finish first.
    Returns how many tasks were still pending."""
    pending = [t for t in eio_server.__dict__.get("_kefu_background_tasks", ()) if not t.done()]
    timers = [t for t in pending if t.get_coro().__qualname__ in _TIMER_TASKS]
    turns = [t for t in pending if t not in timers]
    for task in timers:
        task.cancel()
    if turns:
        await asyncio.wait(turns, timeout=grace)
    for task in turns:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5.0)
    return len(pending)
