"""Errors the service layer raises.

Every error has a stable ``code``; actions and the desk map codes to Chinese
messages, so the texts here are for logs and developers only.
"""

from __future__ import annotations

from typing import Any


class KefuError(Exception):
    """Base class: an error with a machine-readable ``code``."""

    code = "error"

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ConfigError(KefuError):
    """A configuration file is missing or invalid."""

    code = "config_invalid"


class RasaUnavailable(KefuError):
    """Rasa did not answer, or answered with an error (desk and widget HTTP clients)."""

    code = "rasa_unavailable"


class ServiceUnavailable(KefuError):
    """The database cannot be reached (connection refused, dropped, locked too long)."""

    code = "service_unavailable"


class InvalidRequest(KefuError):
    """The caller passed data the service cannot accept (see ``details``)."""

    code = "invalid_request"


class NotFound(KefuError):
    """Unknown record -- also raised for records owned by someone else (no leak)."""

    code = "not_found"


class InvalidPhone(KefuError):
    code = "invalid_phone"


class InvalidOrderNo(KefuError):
    code = "invalid_order_no"


class TicketError(KefuError):
    """Base class of ticket-specific errors."""

    code = "ticket_error"


class InvalidTicketNo(TicketError):
    code = "invalid_ticket_no"


class InvalidTransition(TicketError):
    code = "invalid_transition"


class NotCancellable(TicketError):
    code = "not_cancellable"


class NotUrgeable(TicketError):
    """Urging a ticket that is already resolved, closed or cancelled."""

    code = "not_urgeable"


class NotReschedulable(TicketError):
    code = "not_reschedulable"


class NotAmendable(TicketError):
    """Changing the address of a ticket that is resolved, closed or cancelled."""

    code = "not_amendable"


class NotResolved(TicketError):
    """A survey for a ticket that is not (yet) resolved."""

    code = "not_resolved"


class AlreadySurveyed(TicketError):
    code = "already_surveyed"
