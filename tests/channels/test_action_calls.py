"""Retry and failed-turn rewind for custom-action calls (channels/action_calls.py, issue 17).

Real Rasa objects: a tracker of Kefu's domain, Rasa's own RemoteAction against a real
local port, and the same hooks Rasa runs with (installed by channels.socketio).
"""
from __future__ import annotations

import asyncio
import fnmatch
import socket

import aiohttp
import pytest
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

import channels.socketio  # noqa: F401  (installs the hooks, as Rasa does when it loads the channel)
from channels import action_calls
from kefu import settings
from kefu.runtime import reliability
from kefu.runtime.reliability import UNCERTAIN, UNSENT

DOMAIN = Domain.load(str(settings.repo_root() / "domain.yml"))


def fast_policy(monkeypatch, **changes):
    config = reliability.reliability_config()
    calls = config.action_calls.copy(update={"backoff_s": [0.01], "budget_s": 2.0, **changes})
    patched = config.copy(update={"action_calls": calls})
    monkeypatch.setattr(action_calls, "reliability_config", lambda: patched)
    return calls


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket is closed


def failure(cause: BaseException) -> RasaException:
    try:
        raise cause
    except BaseException:
        try:
            raise RasaException("Failed to run custom action")  # like RemoteAction.run: raised while handling
        except RasaException as error:
            return error


def test_failures_are_classified_by_whether_the_request_can_have_reached_the_server():
    refused = aiohttp.ClientConnectorError(None, OSError(111, "Connection refused"))  # type: ignore[arg-type]
    assert action_calls.classify(failure(refused)) == UNSENT
    assert action_calls.classify(failure(aiohttp.ClientOSError(32, "Can not write request body"))) == UNCERTAIN
    assert action_calls.classify(failure(aiohttp.ServerDisconnectedError())) == UNCERTAIN
    assert action_calls.classify(failure(ClientResponseError(503, "Service Unavailable", ""))) == UNCERTAIN
    assert action_calls.classify(failure(ClientResponseError(500, "Internal Server Error", ""))) is None  # a bug: no retry
    assert action_calls.classify(ActionExecutionRejection("validate_repair_form")) is None


def test_policy_retries_safe_actions_after_any_connection_failure_and_others_only_when_unsent():
    policy = reliability.reliability_config().action_calls
    assert policy.is_safe("validate_repair_form") and policy.is_safe("action_submit_repair")
    assert not policy.is_safe("action_escalate")
    assert policy.should_retry("validate_repair_form", UNCERTAIN, 1, 0.0)
    assert not policy.should_retry("action_escalate", UNCERTAIN, 1, 0.0)
    assert policy.should_retry("action_escalate", UNSENT, 1, 0.0)
    assert not policy.should_retry("validate_repair_form", None, 1, 0.0)
    assert not policy.should_retry("validate_repair_form", UNSENT, policy.max_attempts, 0.0)
    assert not policy.should_retry("validate_repair_form", UNSENT, 1, policy.budget_s)


def test_configured_safe_actions_exist_in_the_domain():
    policy = reliability.reliability_config().action_calls
    for pattern in policy.safe_actions:
        assert any(fnmatch.fnmatchcase(name, pattern) for name in DOMAIN.user_actions), pattern


def test_a_transient_failure_is_retried_until_the_call_succeeds(monkeypatch):
    fast_policy(monkeypatch)
    calls = []

    async def flaky(action, *args):
        calls.append(action.name())
        if len(calls) < 3:
            raise failure(aiohttp.ClientOSError(104, "Cannot write to closing transport"))
        return ["ok"]

    action = RemoteAction("validate_repair_form", EndpointConfig("http://127.0.0.1:1/webhook"))
    assert asyncio.run(action_calls.run_with_retry(flaky, action)) == ["ok"]
    assert calls == ["validate_repair_form"] * 3


def test_an_unsafe_action_is_not_repeated_when_the_request_may_have_arrived(monkeypatch):
    fast_policy(monkeypatch)
    calls = []

    async def disconnected(action, *args):
        calls.append(1)
        raise failure(aiohttp.ServerDisconnectedError())

    action = RemoteAction("action_escalate", EndpointConfig("http://127.0.0.1:1/webhook"))
    with pytest.raises(action_calls.ActionCallFailed):
        asyncio.run(action_calls.run_with_retry(disconnected, action))
    assert calls == [1]


def waiting_for_address() -> DialogueStateTracker:
    """A repair form waiting for the customer's address."""
    return DialogueStateTracker.from_events("t-1", [
        ActionExecuted("action_listen"),
        UserUttered("我家空调不制冷了", {"name": "report_repair", "confidence": 0.99}),
        ActionExecuted("repair_form"), ActiveLoop("repair_form"),
        SlotSet("product", "空调"), SlotSet("product_model", "未知"), SlotSet("fault_description", "空调不制冷了"),
        SlotSet("requested_slot", "address"),
        ActionExecuted("action_listen"),
    ], slots=DOMAIN.slots)


def tracker_in_address_step() -> DialogueStateTracker:
    """... and the customer answers it."""
    tracker = waiting_for_address()
    tracker.update(UserUttered("北京市海淀区中关村大街27号3单元501", {"name": "inform", "confidence": 0.99}))
    tracker.update(SlotSet("address", "北京市海淀区中关村大街27号3单元501"))  # action_extract_slots
    return tracker


def test_a_failed_turn_is_rewound_to_before_the_message(monkeypatch):
    """Rasa's real _run_action with a real RemoteAction to a port nobody listens on."""
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.core.processor import MessageProcessor

    fast_policy(monkeypatch)
    processor = MessageProcessor.__new__(MessageProcessor)  # what _run_action uses of it
    processor.domain = DOMAIN
    tracker = tracker_in_address_step()
    action = RemoteAction("validate_repair_form", EndpointConfig(f"http://127.0.0.1:{closed_port()}/webhook"))
    output = CollectingOutputChannel()

    async def turn():
        with action_calls.track_turn() as outcome:
            predict_more = await MessageProcessor._run_action(
                processor, action, tracker, output, TemplatedNaturalLanguageGenerator(DOMAIN.responses),
                PolicyPrediction.for_action_name(DOMAIN, "validate_repair_form"))
        return predict_more, outcome

    predict_more, outcome = asyncio.run(turn())
    assert predict_more is False  # nothing more is predicted in a failed turn
    assert outcome.failed and outcome.rewound and outcome.failed_actions == ["validate_repair_form"]
    assert tracker.get_slot("address") is None  # the answer was not taken ...
    assert tracker.get_slot("requested_slot") == "address"  # ... and the form still asks for it
    before = waiting_for_address()
    assert tracker.latest_message.text == before.latest_message.text  # the failed message is not in the state
    assert tracker.current_slot_values() == before.current_slot_values()
    assert tracker.active_loop_name == "repair_form" == before.active_loop_name
    assert tracker.latest_action_name == "action_listen"  # waiting for the customer, as before
    assert tracker.past_states(DOMAIN) == before.past_states(DOMAIN)  # what the policies see


def test_without_a_failure_the_turn_is_untouched(monkeypatch):
    from rasa.core.processor import MessageProcessor

    processor = MessageProcessor.__new__(MessageProcessor)
    processor.domain = DOMAIN
    tracker = tracker_in_address_step()

    async def fine(self, action, tracker, *args):
        return True

    async def turn():
        with action_calls.track_turn() as outcome:
            result = await action_calls.run_action_or_rewind(fine, processor, None, tracker)
        return result, outcome

    result, outcome = asyncio.run(turn())
    assert result is True and not outcome.failed
    assert tracker.get_slot("address") == "北京市海淀区中关村大街27号3单元501"


def test_action_responses_are_validated_against_rasas_schema_with_one_schema_check(monkeypatch):
    """channels/action_calls.validate_action_result: Rasa's validation (same schema, same error
    with Rasa's explanation) without re-checking the schema against the meta-schema per call."""
    import jsonschema

    action = RemoteAction("action_submit_repair", EndpointConfig("http://127.0.0.1:1/webhook"))
    assert RemoteAction._validate_action_result is action_calls.validate_action_result  # installed
    action_calls._response_validators.clear()
    checks = []
    cls = jsonschema.validators.validator_for(action.action_response_format_spec())
    original = cls.check_schema
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, s, *a, **k: checks.append(1) or original(s)))
    good = {"events": [{"event": "slot", "name": "phone", "value": "13912345678"}], "responses": [{"text": "好的"}]}
    for _ in range(3):
        assert action._validate_action_result(good) is True
    assert len(checks) == 1
    for bad in ({"events": "not a list"}, {"events": [{"event": 5}]}, {"events": [{"name": "phone"}]}, {"responses": "好的"}):
        with pytest.raises(jsonschema.ValidationError) as mine:
            action._validate_action_result(bad)
        with pytest.raises(jsonschema.ValidationError) as rasas:
            jsonschema.validate(bad, action.action_response_format_spec())
        assert mine.value.message.startswith(rasas.value.message) and "custom-actions" in mine.value.message
