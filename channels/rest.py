"""Kefu's REST input channel: Rasa's `rest` channel, except that customer text starting
with "/" is plain text to the NLU, never an intent or a command (kefu.dialogue_config.customer_text).
Same name ("rest") and route (/webhooks/rest/webhook) as Rasa's channel.
"""
from __future__ import annotations

from typing import Optional, Text

from rasa.core.channels.rest import RestInput
from sanic.request import Request

from kefu.dialogue_config import customer_text


class KefuRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def _extract_message(self, req: Request) -> Optional[Text]:
        text = super()._extract_message(req)
        if not isinstance(text, str):
            return text
        return customer_text(text, self.get_metadata(req))
