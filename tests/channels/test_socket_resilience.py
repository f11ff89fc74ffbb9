"""Issue 17, pieces that need no running server: heartbeat settings, model inference off the
event loop, and a message the widget delivers again after its socket dropped."""
from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered, UserUtteranceReverted
from rasa.shared.core.trackers import DialogueStateTracker

from channels import inference
from channels.socketio import KefuSocketIOInput, replies_to
from rasa.core.lock_store import InMemoryLockStore
from kefu.errors import ConfigError
from kefu.runtime.reliability import load_reliability_config, reliability_config

ROOT = Path(__file__).resolve().parents[2]


class _RecordingSio:
    def __init__(self):
        self.emitted = []

    async def emit(self, event, data, room=None, namespace=None, **kwargs):
        self.emitted.append((room, data))


def _user(text, message_id):
    return UserUttered(text, {"name": "inform"}, metadata={"client_message_id": message_id})


# --- heartbeats -------------------------------------------------------------------------

def test_the_socket_server_uses_the_configured_heartbeats():
    channel = KefuSocketIOInput.from_credentials({"session_persistence": True})
    channel.blueprint(lambda message: None)
    heartbeat = reliability_config().socketio
    assert channel.sio.eio.ping_interval == heartbeat.ping_interval_s
    assert channel.sio.eio.ping_timeout == heartbeat.ping_timeout_s
    # engine.io's python client gives up when it wrote nothing for max(interval, timeout) + 5 s;
    # a customer waits longer than engine.io's 25 s default for a reply on a busy server.
    assert max(heartbeat.ping_interval_s, heartbeat.ping_timeout_s) + 5 >= 60


@pytest.mark.parametrize("change", [
    {"socketio": {"ping_interval_s": 0, "ping_timeout_s": 60}},
    {"socketio": {"ping_interval_s": 25}},
    {"inference": {"off_event_loop": True, "threads": 0}},
    {"inference": None},
])
def test_bad_heartbeat_or_inference_settings_are_rejected(tmp_path, change):
    data = yaml.safe_load((ROOT / "config" / "reliability.yml").read_text(encoding="utf-8"))
    for key, value in change.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    path = tmp_path / "reliability.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_reliability_config(path)


# --- inference off the event loop ---------------------------------------------------------

def _ticks_while(coro_factory):
    """Run the coroutine and count how often a 20 ms ticker ran meanwhile."""
    async def scenario():
        ticks = 0
        done = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not done.is_set():
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.create_task(ticker())
        result = await coro_factory()
        done.set()
        await task
        return result, ticks

    return asyncio.run(scenario())


def test_nlu_runs_off_the_event_loop_and_the_loop_keeps_serving():
    seen = {}

    def graph(message, tracker, only_output_properties=True):
        seen["thread"] = threading.current_thread()
        time.sleep(0.5)  # a slow model run (blocking, as TensorFlow's is)
        return {"text": message.text, "intent": {"name": "greet", "confidence": 0.9}, "entities": []}

    processor = SimpleNamespace(http_interpreter=None, _parse_message_with_graph=graph,
                                _update_full_retrieval_intent=lambda data: None,
                                _check_for_unseen_features=lambda data: None)
    message = SimpleNamespace(text="你好", sender_id="s-1")
    parsed, ticks = _ticks_while(lambda: inference.parse_message(processor, message))
    assert parsed["intent"]["name"] == "greet"
    assert seen["thread"] is not threading.main_thread()
    assert ticks >= 10  # ~25 possible in 0.5 s; on the loop it would be 0


def test_policies_run_off_the_event_loop_until_the_bot_listens():
    threads, actions_run = [], []
    prediction = SimpleNamespace(is_end_to_end_prediction=False)

    def predict(tracker):
        threads.append(threading.current_thread())
        time.sleep(0.2)
        return f"action_{len(threads)}", prediction

    async def run_action(action, tracker, output_channel, nlg, prediction):
        actions_run.append(action)
        return len(actions_run) < 2  # the second action is "listen"

    processor = SimpleNamespace(predict_next_with_tracker_if_should=predict, _run_action=run_action,
                                _should_handle_message=lambda tracker: True, nlg=None, on_circuit_break=None)
    _, ticks = _ticks_while(lambda: inference.run_prediction_loop(processor, None, object()))
    assert actions_run == ["action_1", "action_2"]
    assert all(t is not threading.main_thread() for t in threads)
    assert ticks >= 8


def test_inference_is_hooked_into_rasa_when_configured():
    from rasa.core.processor import MessageProcessor

    assert reliability_config().inference.off_event_loop
    assert inference.install()
    assert MessageProcessor.parse_message is inference.parse_message
    assert MessageProcessor._run_prediction_loop is inference.run_prediction_loop


# --- a message delivered again after a reconnect -----------------------------------------

def test_replies_to_a_message_are_the_bot_messages_of_its_turn():
    events = [
        _user("北京市海淀区中关村大街1号", "m1"),
        ActionExecuted("validate_repair_form"),
        BotUttered("好的，请问您的手机号码是多少？"),
        BotUttered("请选择", {"buttons": [{"title": "是", "payload": "/affirm"}]}),
        ActionExecuted("action_listen"),
        _user("13912345678", "m2"),
        BotUttered("请问您方便的上门时间？"),
    ]
    assert replies_to(events, "m1") == [
        {"text": "好的，请问您的手机号码是多少？"},
        {"text": "请选择", "buttons": [{"title": "是", "payload": "/affirm"}]},
    ]
    assert replies_to(events, "m2") == [{"text": "请问您方便的上门时间？"}]
    assert replies_to(events, "m3") is None  # never reached the tracker: not processed


def test_a_rewound_turn_has_no_replies_to_send_again():
    events = [_user("北京市海淀区中关村大街1号", "m1"), UserUtteranceReverted(), ActionExecuted("action_listen")]
    assert replies_to(events, "m1") is None


class _Store:
    def __init__(self, events):
        self.events = events

    async def retrieve(self, sender_id):
        return DialogueStateTracker.from_events(sender_id, self.events)


def _channel_with(events):
    channel = KefuSocketIOInput.from_credentials({"session_persistence": True, "metadata_key": "customData"})
    channel._agent = SimpleNamespace(tracker_store=_Store(events), lock_store=InMemoryLockStore())
    return channel


def _deliver(channel, sio, message_id, on_new_message):
    data = {"message": "13912345678", "session_id": "s-1", "customData": {"client_message_id": message_id}}
    asyncio.run(channel._handle_user_message(sio, "sid-2", data, on_new_message))


def test_a_message_delivered_again_after_its_turn_gets_its_replies_again_not_a_second_turn():
    events = [_user("13912345678", "m1"), BotUttered("请问您方便的上门时间？"), ActionExecuted("action_listen")]
    channel = _channel_with(events)
    handled = []

    async def on_new_message(message):
        handled.append(message)

    asyncio.run(channel._ledger.first_delivery("s-1", "m1"))  # the first delivery, handled before the socket dropped
    sio = _RecordingSio()
    _deliver(channel, sio, "m1", on_new_message)
    assert handled == []
    assert sio.emitted == [("s-1", {"text": "请问您方便的上门时间？"})]  # to the conversation's room


def test_a_message_delivered_again_while_it_is_handled_is_not_handled_twice():
    channel = _channel_with([])
    sio = _RecordingSio()
    calls = []

    async def scenario():
        started, release = asyncio.Event(), asyncio.Event()

        async def slow(message):
            calls.append(message.text)
            started.set()
            await release.wait()
            await message.output_channel.send_text_message("s-1", "请问您方便的上门时间？")

        data = {"message": "13912345678", "session_id": "s-1", "customData": {"client_message_id": "m1"}}
        first = asyncio.create_task(channel._handle_user_message(sio, "sid-1", data, slow))
        await started.wait()
        await channel._handle_user_message(sio, "sid-2", data, slow)  # the reconnected socket
        release.set()
        await first

    asyncio.run(scenario())
    assert calls == ["13912345678"]
    assert [d.get("text") for _, d in sio.emitted] == ["请问您方便的上门时间？"]


def test_a_message_whose_turn_was_rewound_is_handled_when_delivered_again():
    events = [_user("13912345678", "m1"), UserUtteranceReverted(), ActionExecuted("action_listen")]
    channel = _channel_with(events)
    handled = []

    async def on_new_message(message):
        handled.append(message.text)
        await message.output_channel.send_text_message("s-1", "请问您方便的上门时间？")

    asyncio.run(channel._ledger.first_delivery("s-1", "m1"))
    sio = _RecordingSio()
    _deliver(channel, sio, "m1", on_new_message)
    assert handled == ["13912345678"]


# --- frame tasks of closed WebSockets -------------------------------------------------------

def test_frame_tasks_of_a_lost_websocket_are_kept_then_cancelled(monkeypatch):
    """Sanic kept no reference to them: the garbage collector destroyed the pending ones and
    asyncio logged "Task was destroyed but it is pending!" once per closed socket."""
    import gc

    from sanic.server.websockets import impl

    from channels import compat

    compat.apply()
    monkeypatch.setattr(compat, "FRAME_TASK_GRACE_S", 0.05)

    class _Connection:
        state = impl.OPEN

        def receive_data(self, data):
            self.data = data

        def data_to_send(self):
            return []

        def events_received(self):
            return ["a frame nobody will read"]

        def fail(self, code):
            self.failed = code

    async def scenario():
        protocol = impl.WebsocketImplProtocol.__new__(impl.WebsocketImplProtocol)
        protocol.connection = _Connection()
        protocol.connection_lost_waiter = None
        protocol.abort_pings = lambda: None
        forever = asyncio.get_running_loop().create_future()

        async def async_data_received(data_to_send, events):
            await forever  # the assembler waits for a reader that is gone

        protocol.async_data_received = async_data_received
        protocol.data_received(b"frame")
        await asyncio.sleep(0)
        (task,) = protocol._kefu_frame_tasks
        gc.collect()
        assert not task.done()  # kept, not destroyed
        protocol.connection_lost(None)
        await asyncio.sleep(0.2)
        assert task.cancelled() and not protocol._kefu_frame_tasks

    asyncio.run(scenario())
