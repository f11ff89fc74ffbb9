"""What both input channels (socket.io and REST) keep per process, in one place.

``ChannelState`` is mixed into ``KefuSocketIOInput`` and ``KefuRestInput``: Rasa's Agent
(remembered when the server starts), the delivery ledger of repeated messages
(channels/fanout.py), the message guard (channels/guards.py), and whether a conversation is
paused for an agent (a silent turn then gets no "recorded" notice).
"""
from __future__ import annotations

from typing import Any, Text

from channels import fanout, guards

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
