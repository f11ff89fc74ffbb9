"""Model inference off Rasa's event loop (issue 17).

Rasa 3.6 runs the NLU pipeline (``MessageProcessor._parse_message_with_graph``) and the
dialogue policies (``predict_next_with_tracker_if_should``) synchronously inside its async
message handling: while a model runs, the event loop serves nothing else. With many
customers at once the loop was busy for seconds on end, so engine.io heartbeats, WebSocket
frames and action-server calls waited, and socket.io clients gave up on the server.

``install()`` (called by channels/socketio.py when Rasa loads Kefu's channel) makes both
steps run on a small pool of worker threads (config/reliability.yml ``inference``; one
thread by default: one model run at a time, exactly as before, so no component has to be
thread-safe). The conversation's lock is held by the awaiting handler as before, so its
tracker is not touched by anyone else meanwhile. TensorFlow and NumPy release the GIL in
their kernels, so the event loop keeps answering sockets while a model runs.
"""
from __future__ import annotations

import asyncio
import contextvars
import copy
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Optional, Text, TypeVar

import structlog
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.exceptions import ActionLimitReached
from rasa.shared.core.trackers import DialogueStateTracker

from kefu.runtime.reliability import reliability_config

logger = logging.getLogger("rasa.core.processor")  # Rasa's own messages, under its logger
structlogger = structlog.get_logger()
T = TypeVar("T")

_executor: Optional[ThreadPoolExecutor] = None
_installed = False


def executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        threads = reliability_config().inference.threads
        _executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kefu-inference")
    return _executor


async def run_off_loop(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on the inference thread(s), with the caller's context variables."""
    context = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor(), functools.partial(context.run, fn, *args))


def install() -> bool:
    """Patch Rasa's processor (idempotent). Returns False when the configuration keeps
    inference on the event loop."""
    global _installed
    if _installed:
        return True
    if not reliability_config().inference.off_event_loop:
        return False
    MessageProcessor.parse_message = parse_message
    MessageProcessor._run_prediction_loop = run_prediction_loop
    _installed = True
    return True


async def parse_message(self: MessageProcessor, message: UserMessage,
                        tracker: Optional[DialogueStateTracker] = None,
                        only_output_properties: bool = True) -> Dict[Text, Any]:
    """Rasa 3.6's ``MessageProcessor.parse_message``, the graph run awaited off the loop."""
    if self.http_interpreter:
        parse_data = await self.http_interpreter.parse(message)
    else:
        if tracker is None:
            tracker = DialogueStateTracker.from_events(message.sender_id, [])
        parse_data = await run_off_loop(self._parse_message_with_graph, message, tracker, only_output_properties)
    self._update_full_retrieval_intent(parse_data)
    structlogger.debug("processor.message.parse", parse_data_text=copy.deepcopy(parse_data["text"]),
                       parse_data_intent=parse_data["intent"], parse_data_entities=copy.deepcopy(parse_data["entities"]))
    self._check_for_unseen_features(parse_data)
    return parse_data


async def run_prediction_loop(self: MessageProcessor, output_channel: OutputChannel,
                              tracker: DialogueStateTracker) -> None:
    """Rasa 3.6's ``MessageProcessor._run_prediction_loop``, each prediction awaited off the loop."""
    should_predict_another_action = True
    while should_predict_another_action and self._should_handle_message(tracker):
        try:
            action, prediction = await run_off_loop(self.predict_next_with_tracker_if_should, tracker)
        except ActionLimitReached:
            logger.warning(f"Circuit breaker tripped. Stopped predicting more actions for sender '{tracker.sender_id}'.")
            if self.on_circuit_break:
                self.on_circuit_break(tracker, output_channel, self.nlg)
            break
        if prediction.is_end_to_end_prediction:
            tracker = await self.run_action_extract_slots(output_channel, tracker)
        should_predict_another_action = await self._run_action(action, tracker, output_channel, self.nlg, prediction)
