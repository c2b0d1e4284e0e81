"""What every form of the web UI shares: service errors shown next to their field."""

from __future__ import annotations

from django import forms

from facturier.billing.services.errors import ServiceError


def add_service_error(form: forms.BaseForm, exc: ServiceError) -> None:
    """Show a refused service call on the form: next to its field when the form has it.

    Call it in the view's ``except ServiceError as exc:`` branch, then re-render the form
    (the service changed nothing).
    """
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


class DateInput(forms.DateInput):
    """A native date picker (the browser shows it in the user's format, posts ISO dates)."""

    input_type = "date"

    def __init__(self, attrs: dict[str, str] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def emails_text(emails: list[str]) -> str:
    """A list of emails as the one-per-line text a textarea shows."""
    return "\n".join(emails)
