"""Python 3.11 compatibility shim for Sanic 21.12's WebSocket implementation.

Sanic 21.12 (pinned by Rasa 3.6) passes bare coroutines to `asyncio.wait()` in
`WebsocketImplProtocol.recv`/`recv_burst`; Python 3.11 rejects that with a TypeError,
so socket.io over WebSocket dies on the first frame. Instead of patching the methods,
give that one module an `asyncio` whose `wait()` wraps coroutines in tasks first —
exactly what Python < 3.11 did implicitly. Everything else is the real asyncio.
"""
from __future__ import annotations

import asyncio
import types
from typing import Any, Iterable


async def _wait(fs: Iterable[Any], *args: Any, **kwargs: Any):
    return await asyncio.wait([asyncio.ensure_future(f) for f in fs], *args, **kwargs)


def _compat_asyncio() -> types.ModuleType:
    module = types.ModuleType("asyncio_py311_compat")
    module.__dict__.update({k: getattr(asyncio, k) for k in dir(asyncio) if not k.startswith("__")})
    module.wait = _wait
    return module


def apply() -> bool:
    """Install the shim (idempotent). Returns True when it was needed."""
    from sanic.server.websockets import impl

    if getattr(impl.asyncio, "wait", None) is _wait:
        return True
    impl.asyncio = _compat_asyncio()
    return True
