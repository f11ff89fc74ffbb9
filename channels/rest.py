"""Kefu's REST input channel (replaces Rasa's `rest` channel; same name and route,
POST /webhooks/rest/webhook, same request and answer format).

Issue 11, item 4: the webhook is never open to anyone.
- It is authenticated: callers send ``Authorization: Bearer <KEFU_REST_TOKEN>`` (a secret
  from the environment or ``var/secrets.json``, like the others); anything else is 401.
- It can be switched off (config/security.yml ``rest_channel.enabled: false`` or
  ``KEFU_REST_CHANNEL=off``): then the webhook answers 404. The widget uses socket.io only.
- Wherever it is on it applies the socket.io channel's guards (channels/guards.py): rate
  limits per conversation, per client IP and for new conversations (429 with the Chinese
  notice and ``Retry-After``), the size limit (over-long text cut for the NLU, the full
  text kept in ``original_text`` within its bound), empty input answered without the model,
  only allow-listed metadata keys, and typed "/…" text is plain text
  (kefu.dialogue_config.customer_text).

A caller that did not get an answer may send the same message again with the same
``metadata.client_message_id`` (a timeout, an instance that died behind the load balancer):
the message is handled once and the repeat gets the replies already given (channels/fanout.py).
"""
from __future__ import annotations

import hmac
import logging
import os
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import action_calls, fanout, guards
from channels.shared import EMPTY_MESSAGE_REPLY, ChannelState
from kefu.dialogue_config import customer_text
from kefu.runtime.reliability import reliability_config
from kefu.security.config import security_config

logger = logging.getLogger(__name__)
MAX_SENDER_CHARS = 128


def rest_channel_enabled() -> bool:
    switch = (os.environ.get("KEFU_REST_CHANNEL") or "").strip().lower()
    if switch in ("off", "false", "0", "no"):
        return False
    if switch in ("on", "true", "1", "yes"):
        return True
    return security_config().rest_channel.enabled


def rest_token() -> str:
    from kefu import settings

    return settings.get_secret("KEFU_REST_TOKEN")


class KefuRestInput(ChannelState, RestInput):
    max_message_chars = 500

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "KefuRestInput":
        channel = cls()
        channel.max_message_chars = int((credentials or {}).get("max_message_chars", 500))
        return channel

    async def _repeated(self, sender: str, client_id: str) -> Optional[list]:
        """The answer to a message delivered before, or None to handle it (never processed)."""
        try:
            replies = await fanout.previous_replies(self._agent, sender, client_id)
        except fanout.Unknown:  # cannot tell: at most once, with an honest answer
            return [{"recipient_id": sender, "text": reliability_config().silent_reply}]
        if replies is None:
            logger.info("message %s of %s was not processed before: handling it now", client_id, sender)
            return None
        logger.info("repeated message %s of %s: its %d replies sent again", client_id, sender, len(replies))
        collector = CollectingOutputChannel()  # the same format as the first answer
        for reply in replies:
            await collector.send_response(sender, dict(reply))
        return collector.messages

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        bp = Blueprint("kefu_rest_webhook", __name__)
        enabled = rest_channel_enabled()
        token = rest_token() if enabled else ""

        @bp.listener("after_server_start")
        async def remember_agent(app: Any, _loop: Any) -> None:
            self._agent = app.ctx.agent  # to answer a repeated message from the tracker

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if enabled else "off"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not enabled:
                return response.json({"error": "the REST channel is off"}, status=404)
            given = request.headers.get("Authorization", "")
            if not (given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode())):
                return response.json({"error": "unauthorised"}, status=401)
            return await self._receive(request, on_new_message)

        return bp

    async def _receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> HTTPResponse:
        try:
            body = request.json
        except Exception:  # Sanic raises on malformed JSON
            body = None
        if not isinstance(body, dict):
            return response.json({"error": "a JSON object is expected"}, status=400)
        sender = body.get("sender")
        if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
            return response.json({"error": f"sender: 1-{MAX_SENDER_CHARS} characters"}, status=400)
        ip = guards.request_ip(request)
        guard = self._guard()
        verdict = guard.check(sender, ip, is_new=not guard.known(sender))
        if not verdict.allowed:
            return response.json(
                [{"recipient_id": sender, "text": guard.limited_text, "rate_limited": True,
                  "retry_after": verdict.retry_after}],
                status=429, headers={"Retry-After": str(verdict.retry_after)})
        from kefu.nlp.normalize import clean_user_text

        raw = body.get("message")
        raw = raw if isinstance(raw, str) else ""
        text, truncated = clean_user_text(raw, max_len=self.max_message_chars)
        if not text:
            return response.json([{"recipient_id": sender, "text": EMPTY_MESSAGE_REPLY}])
        metadata = guards.client_metadata(body.get("metadata"))  # allow-listed keys only
        if ip:
            metadata["client_ip"] = ip  # set by the channel only (per-IP limits in actions)
        if truncated:
            metadata["original_text"] = guards.original_text(raw)
        text = await self._typed_confirmation(sender, text, metadata)  # "嗯" to "您是要…吗？" = its button
        text = customer_text(text, metadata)  # typed "/restart" is text, not a command
        client_id = str(metadata.get("client_message_id") or "")
        if client_id and not await self._ledger.first_delivery(sender, client_id):
            repeated = await self._repeated(sender, client_id)
            if repeated is not None:
                return response.json(repeated)
        collector = CollectingOutputChannel()
        with action_calls.track_turn() as turn:
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
            except Exception:  # nothing was saved: the message was not processed
                logger.exception("REST message handling failed for %s", sender)
                turn.failed_actions.append("message handling")
        notice = await self._notice(sender, turn, collector)
        if notice:  # as on socket.io: a failed turn asks to send again, a silent one says it was recorded
            collector.messages.append({"recipient_id": sender, "text": notice})
        return response.json(collector.messages)

    async def _notice(self, sender: str, turn: "action_calls.TurnOutcome",
                      collector: CollectingOutputChannel) -> Optional[str]:
        if turn.failed:
            return reliability_config().turn_failed_reply
        if collector.messages or await self._is_paused(sender):
            return None
        return reliability_config().silent_reply
