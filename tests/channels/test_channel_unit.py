"""Channel pieces that need no running server."""
from __future__ import annotations

import asyncio

from channels import compat
from channels.socketio import KefuSocketIOInput


def test_repeated_widget_messages_are_handled_once():
    channel = KefuSocketIOInput.from_credentials({"session_persistence": True})
    assert channel._first_delivery("s1", "m1")
    assert not channel._first_delivery("s1", "m1")
    assert channel._first_delivery("s2", "m1")  # ids are per conversation


def test_repeat_memory_is_bounded():
    channel = KefuSocketIOInput.from_credentials({})
    for i in range(50):
        channel._first_delivery("s", str(i), keep=10)
    assert len(channel._seen_messages) == 10
    assert channel._first_delivery("s", "0", keep=10)  # forgotten, accepted again


def test_sanic_websocket_wait_accepts_coroutines_on_python_311():
    compat.apply()
    from sanic.server.websockets import impl

    async def value():
        return 42

    async def scenario():
        done, pending = await impl.asyncio.wait([value()], return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()

    assert asyncio.run(scenario()) == 42


def test_presence_reports_a_chat_gone_only_when_its_last_tab_closes():
    from channels.presence import Presence

    presence = Presence()
    presence.joined("sid-1", "chat")
    presence.joined("sid-2", "chat")  # a second tab of the same chat
    assert presence.gone("sid-1") is None
    assert presence.gone("sid-2") == "chat"
    assert presence.gone("sid-2") is None  # unknown socket: nothing to report


def test_presence_reports_of_one_chat_reach_the_service_in_arrival_order():
    """A reload: the old socket's disconnect is handled before the new socket's connect,
    even when the disconnect's database work is slower (worker threads)."""
    from channels.presence import Presence

    presence = Presence()
    done = []

    async def report(kind: str, delay: float) -> None:
        async with presence.lock("chat"):
            await asyncio.sleep(delay)
            done.append(kind)

    async def scenario():
        presence.joined("old", "chat")
        assert presence.gone("old") == "chat"
        left = asyncio.ensure_future(report("left", 0.2))  # started first, slower
        await asyncio.sleep(0)
        presence.joined("new", "chat")
        await asyncio.gather(left, report("back", 0))

    asyncio.run(scenario())
    assert done == ["left", "back"]
