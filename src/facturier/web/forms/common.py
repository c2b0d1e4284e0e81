"""What every form of the web UI shares: service errors shown next to their field."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import get_language

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


class NumberField(forms.DecimalField):
    """A number typed the French way ("1 234,56") or the English way ("1,234.56"), whatever
    the page's language: the last "," or "." is the decimal point, spaces are ignored."""

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if isinstance(value, str):
            value = normalise_number(value)
        return super().to_python(value)  # type: ignore[no-any-return]

    def prepare_value(self, value: Any) -> Any:
        # A stored number shown with the page's decimal mark ("10000,00" in French).
        if isinstance(value, Decimal) and (get_language() or "fr").startswith("fr"):
            return str(value).replace(".", ",")
        return value


def normalise_number(text: str) -> str:
    """The text of a number with a decimal point and no grouping.

    >>> normalise_number("1 234,5"), normalise_number("1,234.50"), normalise_number("-3")
    ('1234.5', '1234.50', '-3')
    """
    text = "".join(text.split()).replace("\u00a0", "").replace("\u202f", "")
    point = max(text.rfind(","), text.rfind("."))
    if point < 0:
        return text
    whole = text[:point].replace(",", "").replace(".", "")
    return f"{whole}.{text[point + 1 :]}"


def decimal_field(label: Any, *, required: bool = True, **kwargs: Any) -> NumberField:
    """A number field with a numeric keyboard on phones."""
    field = NumberField(label=label, required=required, **kwargs)
    field.widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
    return field


def with_one_more_line(
    data: Any, build: Callable[[Any], tuple[forms.Form, Any]], *, limit: int
) -> tuple[forms.Form, Any]:
    """The form and its line formset rebuilt from the posted `data` with one more empty line
    (at most `limit`), without errors: adding a line is not an attempt to save."""
    data = data.copy()
    total = int(data.get("lines-TOTAL_FORMS") or 0)
    data["lines-TOTAL_FORMS"] = str(min(total + 1, limit))
    form, formset = build(data)
    form.errors.clear()
    for line in formset.forms:
        line.errors.clear()
    formset._non_form_errors = formset.error_class()
    return form, formset
