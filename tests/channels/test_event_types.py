"""channels/event_types.py: event classes remembered per type name, same answers as Rasa's."""
from __future__ import annotations

import pytest
import rasa.shared.utils.common
from rasa.shared.core.events import Event, SlotSet

from channels import event_types


@pytest.fixture
def installed():
    event_types.install()
    yield
    event_types.uninstall()


def every_event_class():
    return [cls for cls in rasa.shared.utils.common.all_subclasses(Event)]


def test_every_type_name_resolves_to_rasas_class(installed):
    for cls in every_event_class():
        expected = event_types._rasa_resolve(cls.type_name)
        assert Event.resolve_by_type(cls.type_name) is expected
        assert Event.resolve_by_type(cls.type_name) is expected  # remembered


def test_the_subclass_walk_happens_once_per_name(installed, monkeypatch):
    walks = []
    walk = rasa.shared.utils.common.all_subclasses
    monkeypatch.setattr(rasa.shared.utils.common, "all_subclasses", lambda cls: walks.append(cls) or walk(cls))
    for _ in range(3):
        assert Event.resolve_by_type("slot") is SlotSet
        assert Event.from_parameters({"event": "user", "text": "你好", "parse_data": {}}).text == "你好"
    assert walks.count(Event) == 2  # one walk for "slot", one for "user"


def test_unknown_names_keep_rasas_answers(installed):
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    # a default is not remembered as the class of that name
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
