"""What both input channels (socket.io and REST) keep per process, in one place.

``ChannelState`` is mixed into ``KefuSocketIOInput`` and ``KefuRestInput``: Rasa's Agent
(remembered when the server starts), the delivery ledger of repeated messages
(channels/fanout.py), the message guard (channels/guards.py), and whether a conversation is
paused for an agent (a silent turn then gets no "recorded" notice), and the typed yes to the
two-stage fallback's question (``_typed_confirmation``).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Text

from channels import fanout, guards
from kefu.dialogue_config import is_affirmation, typed_confirmation

logger = logging.getLogger(__name__)

EMPTY_MESSAGE_REPLY = "您好像发送了一条空消息，请输入您想咨询的问题。"


class ChannelState:
    _agent: Any = None  # Rasa's Agent, remembered when the server starts

    @property
    def _ledger(self) -> fanout.DeliveryLedger:
        """Which client message ids were delivered before (Redis when scaled out)."""
        if not hasattr(self, "_delivery_ledger"):
            self._delivery_ledger = fanout.DeliveryLedger()
        return self._delivery_ledger

    def _guard(self) -> guards.MessageGuard:
        if not hasattr(self, "_message_guard"):
            self._message_guard = guards.MessageGuard()
        return self._message_guard

    async def _is_paused(self, sender_id: Text) -> bool:
        """The conversation is paused (an agent has it); False when that cannot be read."""
        agent = self._agent
        if agent is None or agent.tracker_store is None:
            return False
        try:
            tracker = await agent.tracker_store.retrieve(sender_id)
        except Exception:  # tracker store down (channels/tracker_store.py): the customer is still told
            return False
        return bool(tracker and tracker.is_paused())

    async def _typed_confirmation(self, sender_id: Text, text: Text, metadata: Dict[str, Any]) -> Text:
        """A typed "嗯" / "好的" / "是的" in reply to "您是要…吗？" (the two-stage fallback's
        question) presses its first button: the button's payload goes to Rasa, with the typed
        text as ``display_text`` (what the widget sends for a click; transcripts show it).

        Rasa's two-stage fallback only understands the button: a typed yes was read as a
        bare affirm, which clarified nothing, and the request was lost. The tracker is read
        only for a message that is a bare yes; if it cannot be read the text goes on as typed."""
        if metadata.get("display_text") or not is_affirmation(text):
            return text
        agent = self._agent
        if agent is None or agent.tracker_store is None:
            return text
        try:
            tracker = await agent.tracker_store.retrieve(sender_id)
        except Exception:  # tracker store down: the message goes on as typed
            return text
        if tracker is None:
            return text
        latest = []  # the events since the customer's latest message, as dicts
        for event in reversed(tracker.events):
            latest.append(event.as_dict())
            if event.type_name == "user":
                break
        latest.reverse()
        button = typed_confirmation(text, latest)
        if button is None:
            return text
        logger.info("%s typed %r to the two-stage question: pressing %s", sender_id, text, button["payload"])
        metadata["display_text"] = text
        return button["payload"]
