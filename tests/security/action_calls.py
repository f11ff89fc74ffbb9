"""Action-server requests shaped like the ones Rasa 3.6 sends (POST /webhook)."""
from __future__ import annotations

import uuid
from typing import Any, Dict, List, Optional

import httpx

SECRET_HEADER = "X-Kefu-Action-Secret"
CUSTOMER_TOKEN_KEY = "customer-key-" + uuid.uuid4().hex  # the test action server's key


def user_event(text: str, intent: str, entities: Optional[List[Dict[str, Any]]] = None,
               metadata: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or [],
             "metadata": metadata or {}}
    return {"event": "user", "text": text, "parse_data": parse, "metadata": metadata or {}, "input_channel": "rest"}


def action_call(action: str, sender: str, latest: Dict[str, Any], slots: Optional[Dict[str, Any]] = None,
                events: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": slots or {},
            "latest_message": latest["parse_data"],
            "events": (events or []) + [latest],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def post(server, body: Dict[str, Any], secret: Optional[str] = "use-server") -> httpx.Response:
    headers = {}
    if secret == "use-server":
        secret = server.secret
    if secret is not None:
        headers[SECRET_HEADER] = secret
    return httpx.post(f"{server.url}/webhook", json=body, headers=headers, timeout=60)


def slot_values(result: Dict[str, Any]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in result.get("events", []) if e.get("event") == "slot"}


def followups(result: Dict[str, Any]) -> List[str]:
    return [e["name"] for e in result.get("events", []) if e.get("event") == "followup"]


def responses(result: Dict[str, Any]) -> List[str]:
    return [r.get("response") for r in result.get("responses", [])]
