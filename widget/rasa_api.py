"""Server-side access to Rasa's HTTP API for the widget (tracker reads only)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from kefu import settings
from kefu.errors import RasaUnavailable

logger = logging.getLogger(__name__)


def rasa_url() -> str:
    return settings.rasa_url()


def rasa_token() -> str:
    """The Rasa HTTP API token: env KEFU_RASA_TOKEN, else Kefu's generated secret."""
    from kefu import settings

    return settings.get_secret("KEFU_RASA_TOKEN")


async def fetch_tracker(
    session_id: str, *, base_url: str | None = None, client: httpx.AsyncClient | None = None
) -> dict[str, Any] | None:
    """Returns Rasa's tracker for `session_id`, or None when Rasa has none."""
    url = f"{base_url or rasa_url()}/conversations/{quote(session_id, safe='')}/tracker"
    params = {"include_events": "ALL", "token": rasa_token()}
    own_client = client is None
    client = client or httpx.AsyncClient(timeout=5.0)
    try:
        response = await client.get(url, params=params)
    except httpx.HTTPError as exc:
        # Never log the exception text: it contains the URL with the token.
        logger.warning("Rasa tracker request failed: %s", type(exc).__name__)
        raise RasaUnavailable() from None
    finally:
        if own_client:
            await client.aclose()
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        logger.warning("Rasa tracker request answered HTTP %s", response.status_code)
        raise RasaUnavailable()
    return response.json()
