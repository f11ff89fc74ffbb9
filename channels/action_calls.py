"""No lost turns between Rasa 3.6 and the action server (issue 17).

Installed when Rasa loads Kefu's channel (channels/socketio.py calls ``install()``):

- ``RemoteAction.run`` retries a failed call within the budget of config/reliability.yml:
  any action when the connection was never established (the server cannot have run it),
  the "safe" ones (validation, look-ups, idempotent ticket submissions) after any
  connection failure or a 502/503/504. A 400 (action rejected) or a 500 (a bug in the
  action) is never retried.
- When the call still fails, ``MessageProcessor._run_action`` stops the turn at once and
  rewinds the conversation to before the customer's message (``UserUtteranceReverted``,
  saved by Rasa with the tracker, under the conversation's lock): slots, the active form
  and the requested slot are exactly as before, so the next answer can never be taken for
  the previous question. Rasa itself would log "Bot will continue, but the actions events
  are lost" and carry on with a half-applied turn.
- The calls share one pool of keep-alive connections (channels/action_pool.py, issue 13).
- ``track_turn()`` lets the channel know that the turn failed, so that it tells the
  customer plainly to send the message again instead of claiming it was recorded.
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional

import aiohttp
import jsonschema
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import ActionExecuted, UserUttered, UserUtteranceReverted
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import ClientResponseError

from channels import action_pool
from kefu.runtime.reliability import UNCERTAIN, UNSENT, reliability_config

logger = logging.getLogger(__name__)


class ActionCallFailed(RasaException):
    """A custom action could not be run, retries included."""

    def __init__(self, action_name: str, failure: Optional[str], attempts: int) -> None:
        super().__init__(f"custom action '{action_name}' failed after {attempts} attempt(s) ({failure or 'not retryable'})")
        self.action_name, self.failure, self.attempts = action_name, failure, attempts


@dataclass
class TurnOutcome:
    """What happened to one customer message (read by the channel)."""

    failed_actions: List[str] = field(default_factory=list)
    rewound: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.failed_actions)


_turn: contextvars.ContextVar[Optional[TurnOutcome]] = contextvars.ContextVar("kefu_turn", default=None)
_action_failures: contextvars.ContextVar[Optional[List[str]]] = contextvars.ContextVar("kefu_action_failures", default=None)


@contextlib.contextmanager
def track_turn() -> Iterator[TurnOutcome]:
    """The outcome of the message handled inside the block (same task, awaited)."""
    outcome = TurnOutcome()
    token = _turn.set(outcome)
    try:
        yield outcome
    finally:
        _turn.reset(token)


def classify(error: BaseException) -> Optional[str]:
    """UNSENT, UNCERTAIN or None (do not retry) for what Rasa's RemoteAction raised."""
    if isinstance(error, ActionExecutionRejection):
        return None
    cause = error.__cause__ or error.__context__ or error
    if isinstance(cause, aiohttp.ClientConnectorError):
        return UNSENT  # refused / unreachable: nothing was sent
    if isinstance(cause, ClientResponseError):
        return UNCERTAIN if cause.status in reliability_config().action_calls.retry_statuses else None
    if isinstance(cause, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        return UNCERTAIN  # reset, closed, disconnected: the request may have reached the server
    return None


async def run_with_retry(original, action: RemoteAction, *args: Any, **kwargs: Any):
    """Call ``original(action, ...)``, retrying within the configured budget."""
    policy = reliability_config().action_calls
    name = action.name()
    started = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        try:
            with action_pool.action_call(action.action_endpoint):  # keep-alive connections (issue 13)
                return await original(action, *args, **kwargs)
        except ActionExecutionRejection:
            raise
        except (RasaException, aiohttp.ClientError) as error:
            failure = classify(error)
            if policy.should_retry(name, failure, attempts, time.monotonic() - started):
                delay = policy.delay(attempts)
                cause = error.__cause__ or error.__context__ or error
                logger.warning("action %s failed (%s: %s: %s), retry %d in %.1fs",
                               name, failure, type(cause).__name__, cause, attempts, delay)
                await asyncio.sleep(delay)
                continue
            failures = _action_failures.get()
            if failures is not None:
                failures.append(name)
            raise ActionCallFailed(name, failure, attempts) from error


async def run_action_or_rewind(original, processor: MessageProcessor, action, tracker, *args: Any, **kwargs: Any) -> bool:
    """Rasa's ``_run_action``; if a custom action failed, stop and rewind the customer's turn."""
    failures: List[str] = []
    token = _action_failures.set(failures)
    try:
        predict_more = await original(processor, action, tracker, *args, **kwargs)
    finally:
        _action_failures.reset(token)
    if not failures:
        return predict_more
    turn = _turn.get()
    if turn is None:  # not a customer message (e.g. /execute via the HTTP API): just stop
        logger.error("%s failed for %s; no further action predicted", ", ".join(failures), tracker.sender_id)
        return False
    turn.failed_actions.extend(failures)
    if any(isinstance(event, UserUttered) for event in tracker.events):
        # UserUtteranceReverted also undoes the action_listen before the message: listen again,
        # so that the conversation is exactly as it was while waiting for this message.
        tracker.update(UserUtteranceReverted())
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        turn.rewound = True
    logger.error("turn of %s not processed (%s failed); conversation rewound to before the message",
                 tracker.sender_id, ", ".join(failures))
    return False  # predict nothing more in this turn


_response_validators: dict = {}


def validate_action_result(action: RemoteAction, result: Dict[str, Any]) -> bool:
    """Rasa's ``RemoteAction._validate_action_result`` with the validator built once.

    Rasa calls ``jsonschema.validate`` for every action response, which first checks the
    response *schema* against the JSON-Schema meta-schema: under load that check alone was a
    sixth of the event loop's time (docs/performance.md). Same schema, same validation, same
    error (jsonschema's best match, with Rasa's explanation appended)."""
    schema = action.action_response_format_spec()
    key = json.dumps(schema, sort_keys=True)
    validator = _response_validators.get(key)
    if validator is None:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        validator = _response_validators[key] = cls(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(result))
    if error is not None:
        error.message += (". Failed to validate Action server response from API, make sure your response from the "
                          f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions")
        raise error
    return True


_installed = False


def install() -> None:
    """Hook the retry and the rewind into Rasa (idempotent)."""
    global _installed
    if _installed:
        return
    original_run = RemoteAction.run
    original_run_action = MessageProcessor._run_action
    original_handle = MessageProcessor.handle_message

    async def run(self, *args: Any, **kwargs: Any):
        return await run_with_retry(original_run, self, *args, **kwargs)

    async def _run_action(self, action, tracker, *args: Any, **kwargs: Any) -> bool:
        return await run_action_or_rewind(original_run_action, self, action, tracker, *args, **kwargs)

    async def handle_message(self, message):
        if _turn.get() is not None:
            return await original_handle(self, message)
        with track_turn():  # REST and other channels: rewind a failed turn too
            return await original_handle(self, message)

    action_pool.install()
    RemoteAction.run = run
    RemoteAction._validate_action_result = validate_action_result
    MessageProcessor._run_action = _run_action
    MessageProcessor.handle_message = handle_message
    _installed = True
