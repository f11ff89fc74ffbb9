"""Kefu's one client of Rasa's HTTP API (core: httpx only, no Rasa import). The desk, the
widget's history API, the trainer's rollout and the health checks all call Rasa through it:
one URL default (``settings.rasa_url()``), one token (``KEFU_RASA_TOKEN``), one error
(``RasaUnavailable``), and the token never in a log line.

The desk's side of the Rasa contract (docs/design.md, handoff):

- transcript:  GET  /conversations/{id}/tracker?token=...
- agent notice/message: POST /webhooks/socketio/agent (Bearer token)
  {"sender_id", "kind": text|joined|left, "text", "agent": {"id", "name"}}
- release:     POST /conversations/{id}/tracker/events?token=...  [resume, action_listen, handoff_active=false]
- hand back:   POST /conversations/{id}/tracker/events?token=...  [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
               POST /conversations/{id}/trigger_intent?output_channel=latest&token=...
                    {"name": "EXTERNAL_handoff_resolved", "entities": {"ticket_no": ...}}

- model:       GET /status?token=...  (which model is loaded); PUT /model?token=... {"model_file"}
               (the trainer's rollout, kefu/training/deploy.py; health checks, kefu/runtime/health.py)

``RasaClient`` is synchronous on purpose: the desk calls it inside a database transaction
running in a worker thread, so a failed call rolls the desk's change back. The widget's
history API reads trackers on its event loop: ``fetch_tracker`` (async).
"""

from __future__ import annotations

import functools
import logging
import ssl
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import quote

import httpx

from kefu import settings
from kefu.errors import RasaUnavailable

log = logging.getLogger(__name__)

RESOLVED_INTENT = "EXTERNAL_handoff_resolved"
AGENT_KINDS = ("text", "joined", "left")


RESUME_EVENTS = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
# The customer left the queue: the bot answers them again if they come back (no survey).
RELEASE_EVENTS = RESUME_EVENTS + [{"event": "slot", "name": "handoff_active", "value": False}]


@functools.lru_cache(maxsize=None)
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once: building it reads the CA bundle (~40 ms)."""
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class AgentInfo:
    id: str
    name: str


class RasaClient:
    def __init__(
        self,
        base_url: Optional[str] = None,
        token: Optional[str] = None,
        timeout: float = 5.0,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        self.base_url = (base_url or settings.rasa_url()).rstrip("/")
        self._token = token
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport, verify=_tls_context())

    @property
    def token(self) -> str:
        # Read lazily: the secret may be generated on first use by another process.
        if self._token is None:
            self._token = settings.get_secret("KEFU_RASA_TOKEN")
        return self._token

    def close(self) -> None:
        self._client.close()

    def _request(
        self, method: str, path: str, *, params: Optional[dict[str, Any]] = None, **kwargs: Any
    ) -> httpx.Response:
        try:
            response = self._client.request(method, path, params=params, **kwargs)
        except httpx.HTTPError as error:
            # Never log the URL: it carries the token.
            log.warning("Rasa %s %s failed: %s", method, path, type(error).__name__)
            raise RasaUnavailable(f"Rasa unreachable ({type(error).__name__})") from None
        if response.status_code >= 400:
            log.warning("Rasa %s %s answered HTTP %s", method, path, response.status_code)
            raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}", status=response.status_code)
        return response

    @staticmethod
    def _conversation(conversation_id: str) -> str:
        return f"/conversations/{quote(conversation_id, safe='')}"

    def tracker(self, conversation_id: str) -> dict[str, Any]:
        """Rasa's tracker of the conversation (``events`` in order)."""
        # ALL: the agent reads the whole conversation, also before a restart or a new session
        # (Rasa's default starts after the last restart), and event indexes stay stable for polling.
        response = self._request(
            "GET",
            f"{self._conversation(conversation_id)}/tracker",
            params={"token": self.token, "include_events": "ALL"},
        )
        return response.json()

    def send_agent(self, conversation_id: str, kind: str, agent: AgentInfo, text: str = "") -> None:
        """Push an agent message or a joined/left notice to the customer's widget."""
        if kind not in AGENT_KINDS:
            raise ValueError(f"kind must be one of {AGENT_KINDS}")
        self._request(
            "POST",
            "/webhooks/socketio/agent",
            headers={"Authorization": f"Bearer {self.token}"},
            json={
                "sender_id": conversation_id,
                "kind": kind,
                "text": text,
                "agent": {"id": agent.id, "name": agent.name},
            },
        )

    def release(self, conversation_id: str) -> None:
        """Unpause a conversation whose customer left the queue (nobody talks to them)."""
        self._request(
            "POST",
            f"{self._conversation(conversation_id)}/tracker/events",
            params={"token": self.token},
            json=RELEASE_EVENTS,
        )

    def hand_back(self, conversation_id: str, ticket_no: Optional[str] = None) -> None:
        """Resume the paused conversation and let the bot close it (thanks + survey)."""
        base = self._conversation(conversation_id)
        # `action_listen` after `resume`: the bot was paused in the middle of its turn, and the
        # hand-back rule (like every rule) starts from a listening bot.
        self._request("POST", f"{base}/tracker/events", params={"token": self.token}, json=RESUME_EVENTS)
        self._request(
            "POST",
            f"{base}/trigger_intent",
            params={"output_channel": "latest", "token": self.token},
            json={"name": RESOLVED_INTENT, "entities": {"ticket_no": ticket_no} if ticket_no else {}},
        )

    def status(self) -> dict[str, Any]:
        """Rasa's ``/status`` (``model_file``: the loaded model)."""
        return self._request("GET", "/status", params={"token": self.token}).json()

    def load_model(self, model_file: str) -> None:
        """Make the server load ``model_file`` (a path the server can read); Rasa answers 204."""
        try:
            response = self._client.put("/model", params={"token": self.token}, json={"model_file": model_file})
        except httpx.HTTPError as error:
            log.warning("Rasa PUT /model failed: %s", type(error).__name__)
            raise RasaUnavailable(f"Rasa unreachable ({type(error).__name__})") from None
        if response.status_code != 204:
            try:
                detail = response.json().get("message", "")
            except ValueError:
                detail = response.text[:200]
            raise RasaUnavailable(
                f"PUT /model answered HTTP {response.status_code} {detail}", status=response.status_code
            )


async def fetch_tracker(
    session_id: str, *, base_url: Optional[str] = None, client: Optional[httpx.AsyncClient] = None
) -> Optional[dict[str, Any]]:
    """Rasa's tracker for ``session_id`` (all events), or None when Rasa has none (the widget's history)."""
    url = f"{(base_url or settings.rasa_url()).rstrip('/')}/conversations/{quote(session_id, safe='')}/tracker"
    params = {"include_events": "ALL", "token": settings.get_secret("KEFU_RASA_TOKEN")}
    own_client = client is None
    client = client or httpx.AsyncClient(timeout=5.0, verify=_tls_context())
    try:
        response = await client.get(url, params=params)
    except httpx.HTTPError as exc:
        # Never log the exception text: it contains the URL with the token.
        log.warning("Rasa tracker request failed: %s", type(exc).__name__)
        raise RasaUnavailable() from None
    finally:
        if own_client:
            await client.aclose()
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        log.warning("Rasa tracker request answered HTTP %s", response.status_code)
        raise RasaUnavailable()
    return response.json()
