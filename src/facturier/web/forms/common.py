"""What every form of the web UI shares: service errors shown next to their field."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language

from facturier.billing.services.errors import ServiceError


def add_service_error(form: forms.BaseForm, exc: ServiceError) -> None:
    """Show a refused service call on the form: next to its field when the form has it.

    Call it in the view's ``except ServiceError as exc:`` branch, then re-render the form
    (the service changed nothing).
    """
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def require(form: forms.BaseForm, name: str, message: Any) -> None:
    """In a form's ``clean``: `message` next to `name` (a value missing), unless the field
    already says what is wrong with it (one clear message, not two)."""
    if name not in form.errors:
        form.add_error(name, message)


class DateInput(forms.DateInput):
    """A native date picker (the browser shows it in the user's format, posts ISO dates)."""

    input_type = "date"

    def __init__(self, attrs: dict[str, str] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def emails_text(emails: list[str]) -> str:
    """A list of emails as the one-per-line text a textarea shows."""
    return "\n".join(emails)


def shown_places(value: Decimal, min_places: int = 0) -> int:
    """How many decimals show `value` without trailing zeros, at least `min_places`.

    >>> shown_places(Decimal("2.5000")), shown_places(Decimal("100.00"))
    (1, 0)
    >>> shown_places(Decimal(1), 2)
    2
    """
    exponent = value.normalize().as_tuple().exponent
    return max(min_places, -exponent if isinstance(exponent, int) else 0, 0)


def decimal_text(value: Decimal, *, min_places: int = 0, point: str = ".") -> str:
    """`value` as typed in a form: no grouping, no trailing zeros beyond `min_places`.

    >>> decimal_text(Decimal("-50.000000"), point=","), decimal_text(Decimal("2.5000"))
    ('-50', '2.5')
    >>> decimal_text(Decimal("120"), min_places=2)
    '120.00'
    """
    if not value.is_finite():
        return str(value)
    text = format(value, f".{shown_places(value, min_places)}f")
    if value.is_zero():
        text = text.lstrip("-")
    return text.replace(".", point)


class NumberField(forms.DecimalField):
    """A number typed the French way ("1 234,56") or the English way ("1,234.56"), whatever
    the page's language: the last "," or "." is the decimal point, spaces are ignored.

    A stored number is shown without trailing zeros ("2,5", not "2,5000"), with at least
    `min_places` decimals (2 for an amount of money: "120,00")."""

    min_places = 0

    def __init__(self, *args: Any, min_places: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if min_places is not None:
            self.min_places = min_places

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if isinstance(value, str):
            value = normalise_number(value)
        number: Decimal | None = super().to_python(value)
        # Decimal reads "NaN", "Infinity" and "sNaN"; a signalling NaN then raises on the
        # first comparison (has the line changed? is it at least 0?): refused here, first.
        if number is not None and not number.is_finite():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number

    def prepare_value(self, value: Any) -> Any:
        # A stored number shown with the page's decimal mark ("10000,50" in French).
        if isinstance(value, Decimal):
            french = (get_language() or "fr").startswith("fr")
            return decimal_text(value, min_places=self.min_places, point="," if french else ".")
        return value


# The largest id a query string may name: primary keys are 64-bit integers (BigAutoField);
# a larger one cannot be compared with them (SQLite refuses it).
MAX_ID = 2**63 - 1


def id_filter() -> forms.IntegerField:
    """A list's filter naming an object by its id (`?customer=12`): a value that is not an
    id ("abc", -1, 99999999999999999999) is a form error, and the filter is left out."""
    return forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )


def object_id(value: object) -> int | None:
    """The id a query string gives, or None when it is not one.

    >>> object_id("12"), object_id("99999999999999999999"), object_id("²"), object_id("-1")
    (12, None, None, None)
    """
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


class MoneyField(NumberField):
    """An amount of money: shown with at least its 2 decimals ("10000,00")."""

    min_places = 2


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
    (at most `limit`), without errors: adding a line is not an attempt to save.

    The added line gets its fields' initial values (quantity 1, discount 0, VAT…) as if the
    browser had posted them: it is an untouched blank row, like the form's first rows, and
    left blank it is not counted as a line when the form is saved."""
    data = data.copy()
    try:
        total = max(int(data.get("lines-TOTAL_FORMS") or 0), 0)
    except ValueError:
        total = 0
    data["lines-TOTAL_FORMS"] = str(min(total + 1, limit))
    form, formset = build(data)
    if total < limit and total < len(formset.forms):
        added = formset.forms[total]
        missing = {
            added.add_prefix(name): field.prepare_value(initial)
            for name, field in added.fields.items()
            if (initial := added.get_initial_for_field(field, name)) is not None
            and added.add_prefix(name) not in data
        }
        if missing:
            for key, value in missing.items():
                data[key] = str(value)
            form, formset = build(data)
    form.errors.clear()
    for line in formset.forms:
        line.errors.clear()
    formset._non_form_errors = formset.error_class()
    return form, formset
