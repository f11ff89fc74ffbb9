"""Channel pieces that need no running server."""
from __future__ import annotations

import asyncio

from channels import compat
from channels.fanout import DeliveryLedger
from channels.socketio import KefuSocketIOInput


def test_repeated_widget_messages_are_handled_once(monkeypatch):
    monkeypatch.delenv("KEFU_REDIS_URL", raising=False)
    channel = KefuSocketIOInput.from_credentials({"session_persistence": True})
    first = channel._ledger.first_delivery
    assert asyncio.run(first("s1", "m1"))
    assert not asyncio.run(first("s1", "m1"))
    assert asyncio.run(first("s2", "m1"))  # ids are per conversation


def test_repeat_memory_is_bounded():
    ledger = DeliveryLedger(url="", keep=10)
    for i in range(50):
        asyncio.run(ledger.first_delivery("s", str(i)))
    assert len(ledger._seen) == 10
    assert asyncio.run(ledger.first_delivery("s", "0"))  # forgotten, accepted again


def test_sanic_websocket_wait_accepts_coroutines_on_python_311():
    compat.apply()
    from sanic.server.websockets import impl

    async def value():
        return 42

    async def scenario():
        done, pending = await impl.asyncio.wait([value()], return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()

    assert asyncio.run(scenario()) == 42


def test_engineio_route_is_a_websocket_handler_so_a_closed_socket_is_no_error():
    """Sanic 21.12 raises "Invalid response type None" for a route that returns None unless
    its handler is marked `is_websocket` (engine.io returns None when a WebSocket closes)."""
    from sanic import Sanic
    from socketio import AsyncServer

    app = Sanic("kefu_compat_test")
    sio = AsyncServer(async_mode="sanic")
    app.blueprint(compat.CleanCloseSocketBlueprint(sio, "/socket.io", "socketio_webhook", __name__))
    routes = [r for r in app.router.routes if r.path == "socket.io"]
    assert len(routes) == 1 and getattr(routes[0].handler, "is_websocket", False)
    assert set(routes[0].methods) == {"GET", "POST", "OPTIONS"}


def test_engineio_background_tasks_are_kept_and_stopped_before_the_loop_closes():
    """engine.io 4.5.1 kept no reference to its service and ping tasks: still sleeping when
    Rasa stopped, they were destroyed with the loop ("Task was destroyed but it is pending!"
    in Rasa's log, CI). The server now keeps them; at stop its timers end at once and a
    turn in progress gets a grace period."""
    import gc

    from engineio.asyncio_server import AsyncServer as EngineIOServer

    compat.apply()
    finished = []

    async def turn():
        await asyncio.sleep(0.05)
        finished.append("turn")

    async def orphan():  # waits on a future nothing else references: unreferenced, gc destroys it
        await asyncio.get_running_loop().create_future()

    async def scenario():
        server = EngineIOServer(async_mode="asgi")
        server.start_background_task(server._service_task)
        server.start_background_task(turn)
        kept = server.start_background_task(orphan)
        del kept
        gc.collect()
        assert len(server._kefu_background_tasks) == 3  # the orphan too: kept, not destroyed
        stopped = await compat.stop_background_tasks(server, grace=5)
        assert stopped == 3 and not server._kefu_background_tasks
        return finished

    destroyed = []
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _loop, context: destroyed.append(context["message"]))
    try:
        assert loop.run_until_complete(scenario()) == ["turn"]  # the turn finished, not cancelled
    finally:
        loop.close()
    gc.collect()
    assert destroyed == []


class _RecordingSio:
    def __init__(self):
        self.emitted = []

    async def emit(self, event, data, room=None, namespace=None, **kwargs):
        self.emitted.append(data)


def _say(on_new_message):
    channel = KefuSocketIOInput.from_credentials({"session_persistence": True})
    sio = _RecordingSio()
    asyncio.run(channel._handle_user_message(sio, "sid-1", {"message": "13812345678", "session_id": "s-1"}, on_new_message))
    return [m.get("text") for m in sio.emitted]


def test_a_failed_turn_asks_the_customer_to_send_again_and_claims_nothing():
    from channels import action_calls
    from kefu.runtime.reliability import reliability_config

    async def action_server_unreachable(message):
        action_calls._turn.get().failed_actions.append("validate_repair_form")  # what the hooks record

    texts = _say(action_server_unreachable)
    assert texts == [reliability_config().turn_failed_reply]
    assert "已收到并记录" not in texts[0]


def test_an_exception_while_handling_is_a_failed_turn_too():
    from kefu.runtime.reliability import reliability_config

    async def tracker_store_down(message):
        raise RuntimeError("tracker store unavailable")

    assert _say(tracker_store_down) == [reliability_config().turn_failed_reply]


def test_a_processed_but_silent_turn_is_said_to_be_recorded():
    from kefu.runtime.reliability import reliability_config

    async def processed_silently(message):
        return None

    assert _say(processed_silently) == [reliability_config().silent_reply]


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


def test_a_turns_replies_reach_the_socket_only_after_the_turn_is_saved():
    """Rasa saves the tracker when on_new_message returns; a reply shown before that could
    answer a message that an instance killed mid-turn never recorded (scale-out, issue 13)."""
    channel = KefuSocketIOInput.from_credentials({"session_persistence": True})
    sio = _RecordingSio()
    seen_during_turn = []

    async def turn_with_two_replies(message):
        await message.output_channel.send_text_message("s-1", "好的，已为您记录。")
        await message.output_channel.send_text_message("s-1", "请问您的地址是？")
        seen_during_turn.extend(sio.emitted)  # the tracker is not saved yet

    asyncio.run(channel._handle_user_message(sio, "sid-1", {"message": "不知道型号", "session_id": "s-1"},
                                             turn_with_two_replies))
    assert seen_during_turn == []
    assert [m.get("text") for m in sio.emitted] == ["好的，已为您记录。", "请问您的地址是？"]


def test_replies_of_a_turn_that_was_not_saved_are_never_shown():
    from kefu.runtime.reliability import reliability_config

    async def replies_then_tracker_store_down(message):
        await message.output_channel.send_text_message("s-1", "您的工单号是 BX20261207-0001。")
        raise RuntimeError("tracker store unavailable")

    assert _say(replies_then_tracker_store_down) == [reliability_config().turn_failed_reply]
