"""What every form of the web UI shares: service errors shown next to their field."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext as _

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
    """A number typed the French way ("1 234,56", "1234.56") on any page, or the English way
    ("1,234.56") on an English page; exponents and ambiguous separators are refused with a
    message (`normalise_number`).

    A stored number is shown without trailing zeros ("2,5", not "2,5000"), with at least
    `min_places` decimals (2 for an amount of money: "120,00")."""

    min_places = 0

    def __init__(self, *args: Any, min_places: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if min_places is not None:
            self.min_places = min_places

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if isinstance(value, str) and value.strip():
            value = normalise_number(value, french=(get_language() or "fr").startswith("fr"))
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


_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_EXPONENT = re.compile(r"\d\s*[eE]\s*[-+]?\d")
_PLAIN = re.compile(r"[-+]?\d+([.,]\d+)?")
_ENGLISH_GROUPED = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")
# One mark after one to three digits and before exactly three: a thousands separator or a
# decimal mark? "1.234" may be 1234 to a French reader, "1,234" is 1234 to an English one.
_AMBIGUOUS = re.compile(r"[-+]?(?!0[.,])\d{1,3}[.,]\d{3}")


def normalise_number(text: str, *, french: bool = True) -> str:
    """The text of a number with a decimal point and no grouping, or ValidationError naming
    what is ambiguous. Spaces group thousands; one comma or one point marks the decimals
    ("1234,56", "1 234,56", "1234.56"); an English page also reads "12,345.67". Refused:
    exponents ("1e10"), a comma and a point together on a French page, several marks, and a
    lone mark before three digits where the other reading is the page's own ("1.234" on a
    French page, "1,234" on an English one).

    >>> normalise_number("1 234,5"), normalise_number("1234.50"), normalise_number("-3")
    ('1234.5', '1234.50', '-3')
    >>> normalise_number("12,345.67", french=False), normalise_number("1,234")
    ('12345.67', '1.234')
    """
    compact = _SPACES.sub("", text.strip())
    if _EXPONENT.search(compact):
        raise ValidationError(
            _("Write the number in full, without an exponent (for example 10 000 000)."),
            code="exponent",
        )
    if not french and _ENGLISH_GROUPED.fullmatch(compact):
        return compact.replace(",", "")
    if _PLAIN.fullmatch(compact) is None:
        if re.fullmatch(r"[-+]?[\d.,]+", compact):
            raise ValidationError(_ambiguous(text, french), code="ambiguous")
        return compact  # not a number at all: DecimalField says so
    mark = "." if french else ","
    if _AMBIGUOUS.fullmatch(compact) and mark in compact:
        raise ValidationError(_ambiguous(text, french), code="ambiguous")
    return compact.replace(",", ".")


def _ambiguous(text: str, french: bool) -> str:
    example = "1 234,56" if french else "1,234.56"
    return _(
        "“%(text)s” is ambiguous: group thousands with spaces and use one decimal mark "
        "(for example %(example)s)."
    ) % {"text": text.strip(), "example": example}


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
