"""Event classes looked up once per type name (issue 13).

Rasa 3.6 finds the class of every stored event (``Event.resolve_by_type``) by walking all
subclasses of ``Event`` and checking each for abstract methods. Every turn deserialises the
conversation's events from the tracker store and from action results, so this walk was a
seventh of a tracker load (docs/performance.md). The
classes do not change once Rasa is imported: a found class is remembered per type name;
an unknown name still goes through Rasa's own lookup (its default or its error).
"""
from __future__ import annotations

from typing import Dict, Optional, Text, Type

from rasa.shared.core.events import Event

_rasa_resolve = Event.resolve_by_type
_found: Dict[Text, Type[Event]] = {}


def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """``Event.resolve_by_type`` with the classes found so far remembered."""
    found = _found.get(type_name)
    if found is not None:
        return found
    resolved = _rasa_resolve(type_name, default)
    if resolved is not None and resolved is not default and resolved.type_name == type_name:
        _found[type_name] = resolved
    return resolved


def install() -> None:
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


def uninstall() -> None:
    Event.resolve_by_type = staticmethod(_rasa_resolve)  # type: ignore[method-assign]
    _found.clear()
