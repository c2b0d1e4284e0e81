"""Errors a service raises for a user's mistake: a clear message, and nothing changed."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class ServiceError(Exception):
    """A refused request. `field` names the input at fault when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidInput(ServiceError):
    """The input is malformed or inconsistent."""


class NotAllowed(ServiceError):
    """The input is fine but the state forbids the change (e.g. editing an issued invoice)."""


class MissingMentions(NotAllowed):
    """A document cannot be issued: mandatory mentions are missing (LEGAL-FR §1)."""

    def __init__(self, message: str, *, codes: list[str]) -> None:
        super().__init__(message)
        self.codes = codes


def from_validation_error(exc: ValidationError) -> InvalidInput:
    """One readable message from a model's full_clean() errors, naming each field."""
    if hasattr(exc, "message_dict"):
        items = [(f, " ".join(m)) for f, m in exc.message_dict.items()]
        first, first_text = items[0]
        # The first field is the error's `field` (printed as its prefix); others follow.
        rest = "".join(f"; {f}: {text}" for f, text in items[1:])
        return InvalidInput(first_text + rest, field=None if first == "__all__" else first)
    return InvalidInput(" ".join(exc.messages))
