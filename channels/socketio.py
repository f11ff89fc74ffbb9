"""Kefu's socket.io input channel for Rasa 3.6 (replaces Rasa's `socketio` channel).

Same wire protocol and name as Rasa's channel (the widget speaks it unchanged), plus:
- Python 3.11 fix for Sanic 21.12 WebSockets (see `channels/compat.py`);
- `enter_room` awaited when python-socketio makes it a coroutine (RasaHQ/rasa#13027);
- bad input gets a clear answer: empty messages are answered without the model,
  over-long ones are truncated for NLU while the full text stays in the metadata;
- custom payloads reach the widget as `{"custom": {...}}`;
- a turn that could not be processed (action server unreachable after the retries of
  `channels/action_calls.py`) is rewound and the customer asked to send it again; a
  processed turn without any reply gets the "recorded" notice (texts: config/reliability.yml);
- a turn's replies are sent once its tracker is saved (KefuSocketIOOutput): an instance
  killed mid-turn never leaves the customer with an answer the tracker does not have;
- a message the widget delivers again after its socket dropped (same `client_message_id`)
  is not handled twice, and its reply is sent again if the socket was gone when it was sent
  — also when it arrives at another instance (channels/fanout.py);
- several instances behind nginx share socket.io rooms through Redis (KEFU_REDIS_URL):
  an agent's message posted to any instance reaches the customer's socket;
- engine.io heartbeats and model inference off the event loop (config/reliability.yml),
  so that busy servers do not drop their customers' sockets (issue 17);
- `POST /webhooks/socketio/agent`: the agent desk's way to reach a customer's widget.
  The message is emitted to the conversation's room and stored in the tracker as a
  bot event whose metadata names the agent (handoff protocol, docs/architecture.md).
"""
from __future__ import annotations

import hmac
import inspect
import logging
import uuid
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from channels import (action_calls, action_pool, compat, event_types, fanout, guards, inference, model_load,
                      policy_shortcut, presence, selector_shortcut)
from channels.fanout import replies_to  # noqa: F401  (re-exported: one home, channels/fanout.py)
from channels.shared import EMPTY_MESSAGE_REPLY, ChannelState
from kefu.dialogue_config import customer_text
from kefu.runtime.reliability import reliability_config

logger = logging.getLogger(__name__)
compat.apply()
action_calls.install()  # retries and failed-turn rewind for custom-action calls (issue 17)
inference.install()  # NLU and policies off the event loop: sockets stay served under load (issue 17)
model_load.install()  # models loaded for serving only: ready sooner, half the memory (issue 13)
event_types.install()  # stored events' classes found once per type name (issue 13)
policy_shortcut.install()  # TED runs only when its prediction could win (issue 13)
selector_shortcut.install()  # the FAQ topic is picked only for messages that can use it (issue 13)

AGENT_NOTICES = {"joined": "客服 {name} 已接入，正在为您服务", "left": "客服 {name} 已离开，智能助手继续为您服务"}


class KefuSocketIOOutput(SocketIOOutput):
    """Counts what it sends so the input channel can tell a silent bot.

    With ``hold=True`` a turn's replies are kept until ``release()``: Rasa sends replies while
    the turn runs but saves the tracker only at its end, so an instance killed in between
    would have shown the customer an answer to a message the shared tracker never recorded.
    Released after the save, a reply the customer sees is a turn that exists; a turn cut
    short shows nothing, and the widget delivers the message again (client_message_id).
    """

    def __init__(self, sio: AsyncServer, bot_message_evt: Text, hold: bool = False) -> None:
        super().__init__(sio, bot_message_evt)
        self.sent = 0
        self._held: Optional[list] = [] if hold else None

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        self.sent += 1
        if self._held is not None:
            self._held.append((socket_id, response))
            return
        await super()._send_message(socket_id, response)

    async def release(self) -> None:
        """Send the held replies, in order; later ones go out at once."""
        held, self._held = self._held or [], None
        for socket_id, payload in held:
            await super()._send_message(socket_id, payload)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


def _rasa_token() -> str:
    from kefu import settings

    return settings.get_secret("KEFU_RASA_TOKEN")


class KefuSocketIOInput(ChannelState, SocketIOInput):
    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "KefuSocketIOInput":
        credentials = credentials or {}
        channel = super().from_credentials(credentials)
        channel.max_message_chars = int(credentials.get("max_message_chars", 500))
        return channel

    max_message_chars = 500

    def get_output_channel(self) -> Optional[KefuSocketIOOutput]:
        if self.sio is None:
            return None
        return KefuSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        heartbeat = reliability_config().socketio  # engine.io ping interval/timeout (issue 17)
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[],  # CORS is Sanic's (--cors)
                          ping_interval=heartbeat.ping_interval_s, ping_timeout=heartbeat.ping_timeout_s,
                          client_manager=fanout.client_manager())  # Redis-backed when scaled out
        bp = compat.CleanCloseSocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio

        @bp.listener("after_server_start")
        async def remember_agent(app: Any, _loop: Any) -> None:
            self._agent = app.ctx.agent  # to tell a paused conversation from a silent bot

        @bp.listener("before_server_stop")
        async def stop_engineio_tasks(_app: Any, _loop: Any) -> None:
            await compat.stop_background_tasks(sio.eio)  # ping and service tasks end before the loop closes

        @bp.listener("after_server_stop")
        async def close_action_connections(_app: Any, _loop: Any) -> None:
            await action_pool.pool.close()  # the keep-alive connections to the action server (issue 13)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/agent", methods=["POST"])
        async def agent_message(request: Request) -> HTTPResponse:
            return await self._agent_message(request)

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict]) -> bool:
            self._client_ips()[sid] = guards.request_ip(environ.get("sanic.request"))
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: Text) -> None:
            self._client_ips().pop(sid, None)
            session_id = self._presence.gone(sid)
            if session_id:  # the chat's last tab closed: the handoff queue's grace period starts
                async with self._presence.lock(session_id):
                    await presence.customer_left(session_id)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id") or uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(joined):  # python-socketio >= 5.10 made it a coroutine
                    await joined
            token = await self._history_token(session_id)
            if token:  # a new conversation: the widget keeps this to read its history later
                await sio.emit("history_token", {"session_id": session_id, "token": token}, room=sid,
                               namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            self._presence.joined(sid, session_id)
            async with self._presence.lock(session_id):
                payloads = await presence.customer_back(session_id, "connect")  # back in the queue?
            for payload in payloads:
                await sio.emit(self.bot_message_evt, payload, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Dict) -> Optional[Dict[str, Any]]:
            limited = await self._rate_limited(sio, sid, data)
            if limited:
                return limited  # the acknowledgement tells the widget to keep the message
            await self._handle_user_message(sio, sid, data, on_new_message)
            return None

        return bp

    async def _handle_user_message(
        self, sio: AsyncServer, sid: Text, data: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        from kefu.nlp.normalize import clean_user_text

        data = data if isinstance(data, dict) else {}
        sender_id = data.get("session_id") if self.session_persistence else sid
        if not sender_id:
            logger.warning("message without session_id ignored")
            return
        room = sender_id if self.session_persistence else sid
        metadata_in = data.get(self.metadata_key)
        client_id = metadata_in.get("client_message_id") if isinstance(metadata_in, dict) else None
        if client_id and not await self._ledger.first_delivery(sender_id, str(client_id)):
            # The widget re-sent a message whose acknowledgement was lost (its socket dropped).
            if await self._answer_repeat(sio, room, sender_id, str(client_id)):
                return
            logger.info("message %s of %s was not processed before: handling it now", client_id, sender_id)
        raw = data.get("message")
        raw = raw if isinstance(raw, str) else ""
        text, truncated = clean_user_text(raw, max_len=self.max_message_chars)
        if not text:
            await sio.emit(self.bot_message_evt, {"text": EMPTY_MESSAGE_REPLY}, room=room, namespace=self.namespace)
            return
        metadata = guards.client_metadata(data.get(self.metadata_key))  # allow-listed keys only
        client_ip = self._client_ips().get(sid)
        if client_ip:
            metadata["client_ip"] = client_ip  # set by the channel only (per-IP limits in actions)
        if truncated:
            metadata["original_text"] = guards.original_text(raw)  # kept, within a bound
        for payload in await presence.customer_back(sender_id, "message"):  # place given up meanwhile?
            await sio.emit(self.bot_message_evt, payload, room=room, namespace=self.namespace)
        text = await self._typed_confirmation(sender_id, text, metadata)  # "嗯" to "您是要…吗？" = its button
        text = customer_text(text, metadata)  # typed "/restart" is text, not a command
        output = KefuSocketIOOutput(sio, self.bot_message_evt, hold=True)
        message = UserMessage(text, output, sender_id, input_channel=self.name(), metadata=metadata)
        key = (sender_id, str(client_id)) if client_id else None
        if key:
            self._in_flight.add(key)
        try:
            with action_calls.track_turn() as turn:
                try:
                    await on_new_message(message)  # returns once the tracker is saved
                except Exception:  # nothing was saved: the message was not processed
                    logger.exception("message handling failed for %s", sender_id)
                    turn.failed_actions.append("message handling")
                    output = KefuSocketIOOutput(sio, self.bot_message_evt)  # its held replies never happened
                else:
                    await output.release()
            await self._after_turn(sio, room, sender_id, turn, output)
        finally:
            if key:
                self._in_flight.discard(key)

    @property
    def _in_flight(self) -> set:
        if not hasattr(self, "_in_flight_set"):
            self._in_flight_set: set = set()
        return self._in_flight_set

    async def _answer_repeat(self, sio: AsyncServer, room: Text, sender_id: Text, client_id: Text) -> bool:
        """A message delivered again (same client_message_id) after the widget's socket dropped.

        Still being handled: its reply goes to the conversation's room, which the reconnected
        socket has joined — nothing to do. Handled: the reply may have been sent while the
        socket was gone, so it is sent again from the tracker. Returns False when the message
        was never processed (not in the tracker, or its turn was rewound): handle it then.
        """
        if (sender_id, client_id) in self._in_flight:
            logger.info("repeated message %s of %s is being handled: its reply goes to the room", client_id, sender_id)
            return True
        try:
            replies = await fanout.previous_replies(self._agent, sender_id, client_id)
        except fanout.Unknown:  # cannot tell: at most once, as before
            return True
        if replies is None:
            return False
        output = KefuSocketIOOutput(sio, self.bot_message_evt)
        for reply in replies:
            await output.send_response(room, reply)
        logger.info("repeated message %s of %s: its %d replies sent again", client_id, sender_id, len(replies))
        return True

    async def _after_turn(self, sio: AsyncServer, room: Text, sender_id: Text,
                          turn: "action_calls.TurnOutcome", output: KefuSocketIOOutput) -> None:
        """A failed turn: say so and ask to send again. A silent one: it was recorded, say that."""
        if turn.failed:
            text = reliability_config().turn_failed_reply
        elif output.sent == 0 and not await self._is_paused(sender_id):
            text = reliability_config().silent_reply
        else:
            return
        await sio.emit(self.bot_message_evt, {"text": text}, room=room, namespace=self.namespace)

    def _client_ips(self) -> Dict[str, Optional[str]]:
        if not hasattr(self, "_ips"):
            self._ips: Dict[str, Optional[str]] = {}
        return self._ips

    async def _rate_limited(self, sio: AsyncServer, sid: Text, data: Any) -> Optional[Dict[str, Any]]:
        """Rate limits (channels/guards.py): None if the message may be handled."""
        data = data if isinstance(data, dict) else {}
        sender_id = data.get("session_id") if self.session_persistence else sid
        if not sender_id or not isinstance(sender_id, str):
            return None
        guard = self._guard()
        is_new = not guard.known(sender_id) and not await self._tracker_exists(sender_id)
        verdict = guard.check(sender_id, self._client_ips().get(sid), is_new)
        if verdict.allowed:
            return None
        await sio.emit(self.bot_message_evt, {"text": guard.limited_text}, room=sid, namespace=self.namespace)
        return {"rate_limited": True, "retry_after": verdict.retry_after}

    async def _history_token(self, session_id: Text, keep: int = 50000) -> Optional[str]:
        """A signed history token for a conversation that starts now (no tracker yet, none
        issued before by this process); None for an existing conversation: whoever merely
        knows its id gets no token (issue 11, item 9)."""
        from kefu.tokens import sign_history_token

        if not isinstance(session_id, str) or not session_id:
            return None
        if not hasattr(self, "_issued_history"):
            self._issued_history: "OrderedDict[str, None]" = OrderedDict()
        if session_id in self._issued_history or await self._tracker_exists(session_id):
            return None
        self._issued_history[session_id] = None
        if len(self._issued_history) > keep:
            self._issued_history.popitem(last=False)
        return sign_history_token(session_id)

    async def _tracker_exists(self, sender_id: Text) -> bool:
        agent = self._agent
        if agent is None or agent.tracker_store is None:
            return False
        try:
            return await agent.tracker_store.exists(sender_id)
        except Exception:  # an unavailable store must not stop the customer here
            return True

    @property
    def _presence(self) -> presence.Presence:
        if not hasattr(self, "_presence_map"):
            self._presence_map = presence.Presence()
        return self._presence_map

    async def _agent_message(self, request: Request) -> HTTPResponse:
        """Deliver an agent's message (or joined/left notice) to the customer's widget."""
        header = request.headers.get("Authorization", "")
        supplied = header[7:] if header.startswith("Bearer ") else request.args.get("token", "")
        if not supplied or not hmac.compare_digest(supplied, _rasa_token()):
            return response.json({"error": "unauthorized"}, status=401)
        body = request.json if isinstance(request.json, dict) else {}
        sender_id, kind = body.get("sender_id"), body.get("kind", "text")
        agent_info = body.get("agent") or {}
        text = (body.get("text") or "").strip()
        if not sender_id or kind not in ("text", "joined", "left") or (kind == "text" and not text):
            return response.json({"error": "sender_id and text (or kind joined/left) are required"}, status=400)
        if not isinstance(agent_info, dict) or not agent_info.get("id"):
            return response.json({"error": "agent.id is required"}, status=400)
        agent_meta = {"id": str(agent_info["id"]), "name": str(agent_info.get("name") or agent_info["id"])}
        if kind == "text":
            payload: Dict[str, Any] = {"text": text, "agent": agent_meta}
            event = BotUttered(text, data={}, metadata={"agent": agent_meta})
        else:
            notice = AGENT_NOTICES[kind].format(name=agent_meta["name"])
            custom = {"type": f"agent_{kind}", "agent_name": agent_meta["name"]}
            payload = {"custom": custom}
            event = BotUttered(notice, data={"custom": custom}, metadata={"agent": agent_meta, "kind": kind})

        agent = request.app.ctx.agent
        async with agent.lock_store.lock(sender_id):
            tracker = await agent.processor.fetch_tracker_with_initial_session(sender_id)
            tracker.update(event)
            await agent.tracker_store.save(tracker)
        await self.sio.emit(self.bot_message_evt, payload, room=sender_id, namespace=self.namespace)
        return response.json({"delivered": True})
