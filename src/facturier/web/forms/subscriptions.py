"""Forms of the subscription pages: the one form that sets up a recurring invoice (with its
lines), and the pause, resume, cancel and change forms of the detail page."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from facturier.billing.models import Customer, Product, SubscriptionLine
from facturier.billing.models.catalog import UNIT_CHOICES, VAT_CHOICES, LineKindChoices
from facturier.billing.models.subscription import EndKind, LineMode, Timing
from facturier.billing.services.errors import ServiceError
from facturier.billing.services.subscription_edit import LineChange
from facturier.billing.services.subscriptions import SubscriptionLineData
from facturier.core.money import format_amount
from facturier.core.recurrence import PRESETS
from facturier.web.forms.common import DateInput, decimal_field, require

CUSTOM = "custom"

# The usual French names (DOMAIN "Recurrence"); the catalogue translates them.
FREQUENCY_CHOICES = [
    ("weekly", _("Weekly")),
    ("biweekly", _("Every two weeks")),
    ("semi_monthly", _("Twice a month")),
    ("monthly", _("Monthly")),
    ("bimonthly", _("Every two months")),
    ("quarterly", _("Quarterly")),
    ("half_yearly", _("Every six months")),
    ("yearly", _("Yearly")),
    (CUSTOM, _("Every N days, weeks, months or years")),
]

UNIT_OF_CUSTOM = [
    ("day", _("days")),
    ("week", _("weeks")),
    ("month", _("months")),
    ("year", _("years")),
]


class _SubscriptionFields(forms.Form):
    """What the creation and the edit forms share: name, end rule, invoicing and copies."""

    name = forms.CharField(
        label=_("Name"), max_length=200, help_text=_("Shown in lists, e.g. “Hosting Pro”.")
    )
    end_kind = forms.ChoiceField(label=_("Ends"), choices=EndKind.choices, initial="never")
    end_count = forms.IntegerField(
        label=_("Number of invoices"), min_value=1, max_value=10000, required=False
    )
    end_date = forms.DateField(label=_("Last day of service"), widget=DateInput(), required=False)
    prorate_last = forms.BooleanField(label=_("Prorate the last period"), required=False)
    sales_rep = forms.ModelChoiceField(
        queryset=User.objects.none(), label=_("Sales rep"), required=False
    )
    copy_sales_rep = forms.BooleanField(
        label=_("Copy the sales rep on each invoice email"), required=False, initial=True
    )
    send_invoices = forms.BooleanField(
        label=_("Email the invoices to the customer"), required=False, initial=True
    )
    review_before_issue = forms.BooleanField(
        label=_("Review each invoice before it is issued"),
        required=False,
        help_text=_("Invoices wait as drafts until someone confirms them."),
    )
    payment_terms_days = forms.IntegerField(
        label=_("Payment terms (days)"), min_value=0, max_value=60, required=False
    )
    customer_po = forms.CharField(label=_("Purchase order"), max_length=50, required=False)

    def __init__(self, *args: Any, users: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sales_rep"].queryset = users  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("end_kind") == EndKind.COUNT and not data.get("end_count"):
            require(self, "end_count", _("Give the number of invoices."))
        if data.get("end_kind") == EndKind.UNTIL and not data.get("end_date"):
            require(self, "end_date", _("Give the last day of service."))
        return data

    def options(self) -> dict[str, Any]:
        """The invoicing options the services take beside the schedule."""
        data = self.cleaned_data
        return {
            "sales_rep": data.get("sales_rep"),
            "copy_sales_rep": bool(data.get("copy_sales_rep")),
            "send_invoices": bool(data.get("send_invoices")),
            "review_before_issue": bool(data.get("review_before_issue")),
            "payment_terms_days": data.get("payment_terms_days"),
            "customer_po": data.get("customer_po") or "",
        }


class SubscriptionForm(_SubscriptionFields):
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), label=_("Customer"))
    frequency = forms.ChoiceField(label=_("Frequency"), choices=FREQUENCY_CHOICES)
    every = forms.IntegerField(label=_("Every"), min_value=1, max_value=366, required=False)
    unit = forms.ChoiceField(label=_("Unit"), choices=UNIT_OF_CUSTOM, required=False)
    semi_monthly_day1 = forms.IntegerField(
        label=_("First day of the month"), min_value=1, max_value=27, initial=1, required=False
    )
    semi_monthly_day2 = forms.IntegerField(
        label=_("Second day of the month"), min_value=2, max_value=31, initial=15, required=False
    )
    anchor = forms.DateField(
        label=_("First period starts on"),
        widget=DateInput(),
        help_text=_("Every later period is computed from this date (31st → end of month)."),
    )
    start = forms.DateField(
        label=_("Service starts earlier, on"),
        widget=DateInput(),
        required=False,
        help_text=_("Optional: the days before the first period are billed first, prorated."),
    )
    timing = forms.ChoiceField(label=_("Billing"), choices=Timing.choices, initial="advance")
    days_before = forms.IntegerField(
        label=_("Days before the period (in advance)"), min_value=0, max_value=90, initial=0
    )

    def __init__(
        self, *args: Any, customers: QuerySet[Customer], users: QuerySet[User], **kwargs: Any
    ) -> None:
        super().__init__(*args, users=users, **kwargs)
        self.fields["customer"].queryset = customers  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("frequency") == CUSTOM:
            if not data.get("every"):
                require(self, "every", _("Give the number of days, weeks, months or years."))
            if not data.get("unit"):
                require(self, "unit", _("Choose days, weeks, months or years."))
        return data

    def schedule(self) -> dict[str, Any]:
        """The schedule as `subscription_preview` and `subscription_create` take it."""
        data = self.cleaned_data
        if data["frequency"] == CUSTOM:
            unit, interval = data["unit"], data["every"]
        else:
            preset = PRESETS[data["frequency"]]
            unit, interval = str(preset.unit), preset.interval
        schedule: dict[str, Any] = {
            "frequency_unit": unit,
            "interval": interval,
            "anchor": data["anchor"],
            "start": data.get("start"),
            "timing": data["timing"],
            # Read in advance only (a hidden field keeps what was typed before "in arrears").
            "days_before": (data.get("days_before") or 0) if data["timing"] == "advance" else 0,
            "end_kind": data["end_kind"],
            "prorate_last": bool(data.get("prorate_last")),
        }
        if unit == "semi_monthly":
            schedule["semi_monthly_day1"] = data.get("semi_monthly_day1") or 1
            schedule["semi_monthly_day2"] = data.get("semi_monthly_day2") or 15
        if data["end_kind"] == EndKind.COUNT:
            schedule["end_count"] = data["end_count"]
        if data["end_kind"] == EndKind.UNTIL:
            schedule["end_date"] = data["end_date"]
        return schedule


# A service's field name → this form's.
SCHEDULE_FIELDS = {
    "frequency_unit": "frequency",
    "interval": "every",
    "frequency": "frequency",
}


class LineForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), label=_("Product"), required=False
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=500,
        required=False,
        help_text=_("Blank: the product's name."),
    )
    quantity = decimal_field(_("Quantity"), initial=Decimal(1), max_digits=16, decimal_places=4)
    unit_price = decimal_field(
        _("Unit price excl. VAT"),
        required=False,
        max_digits=18,
        decimal_places=6,
        help_text=_("Blank: the product's price."),
    )
    vat_code = forms.ChoiceField(label=_("VAT"), choices=VAT_CHOICES, initial="FR-20")
    unit_code = forms.ChoiceField(label=_("Unit"), choices=UNIT_CHOICES, initial="C62")
    discount_percent = decimal_field(
        _("Discount %"), initial=Decimal(0), max_digits=5, decimal_places=2, min_value=0
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=LineKindChoices.choices, initial=LineKindChoices.SERVICES
    )
    mode = forms.ChoiceField(label=_("Amount"), choices=LineMode.choices, initial="fixed")

    def __init__(self, *args: Any, products: QuerySet[Product] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if products is not None:
            self.fields["product"].queryset = products  # type: ignore[attr-defined]

    def line_data(self) -> SubscriptionLineData:
        data = self.cleaned_data
        product = data.get("product")
        return SubscriptionLineData(
            description=data.get("description") or "",
            quantity=data["quantity"],
            unit_price=data.get("unit_price"),
            # The product's VAT and unit apply unless the line says otherwise.
            vat_code=data["vat_code"] if product is None or self._changed("vat_code") else None,
            unit_code=data["unit_code"] if product is None or self._changed("unit_code") else None,
            discount_percent=data.get("discount_percent") or Decimal(0),
            mode=data["mode"],
            kind=data["kind"] if product is None or self._changed("kind") else None,
            product=product,
        )

    def _changed(self, name: str) -> bool:
        return name in self.changed_data


class BaseLineFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    """Lines of a form; build it with ``form_kwargs={"products": ...}``."""

    def filled(self) -> list[LineForm]:
        """The lines given, in order (untouched blank rows and removed lines are left out)."""
        return [f for i, f in enumerate(self.forms) if self._kept(i, f) and f.is_valid()]  # type: ignore[misc]

    def _kept(self, index: int, form: forms.Form) -> bool:
        # A line the form started with (editing a draft) stays until it is removed; a blank
        # row counts once something was typed in it.
        if index < self.initial_form_count():
            return not (self.can_delete and self._should_delete_form(form))  # type: ignore[attr-defined]
        return form.has_changed()

    # Set by clean() when a line is above settings.LINE_CONFIRM_ABOVE and not confirmed:
    # the template then offers the box that confirms it (the field "confirm_large").
    needs_large_confirmation = False

    def clean(self) -> None:
        if any(self.errors):
            return
        if not any(self._kept(i, f) for i, f in enumerate(self.forms)):
            raise forms.ValidationError(_("Give at least one line."))
        self._check_large_amounts()

    def _check_large_amounts(self) -> None:
        """A line above the ceiling (1 000 000 € excl. VAT by default) is saved only once the
        person confirms it: "1e10" or "1.234.567" typed for 1 234,567 is caught here."""
        ceiling = Decimal(settings.LINE_CONFIRM_ABOVE)
        if not ceiling or self.data.get("confirm_large"):
            return
        large = []
        for n, form in enumerate(self.filled(), start=1):
            data = form.cleaned_data
            price = data.get("unit_price")
            if price is None and data.get("product") is not None:
                price = data["product"].unit_price
            discount = data.get("discount_percent") or Decimal(0)
            net = (data.get("quantity") or Decimal(0)) * (price or Decimal(0))
            net = net * (100 - discount) / 100
            if abs(net) > ceiling:
                large.append((n, net))
        if large:
            self.needs_large_confirmation = True
            locale = "fr" if (get_language() or "fr").startswith("fr") else "en"
            raise forms.ValidationError(
                [
                    _(
                        "Line %(n)s comes to %(amount)s excl. VAT, more than %(ceiling)s: "
                        "check its quantity and price, then tick “I confirm these amounts”."
                    )
                    % {
                        "n": n,
                        "amount": format_amount(net.quantize(Decimal("0.01")), locale=locale),
                        "ceiling": format_amount(ceiling, locale=locale),
                    }
                    for n, net in large
                ],
                code="large",
            )


# One line block to start with: "Add a line" adds more.
LineFormSet = forms.formset_factory(LineForm, formset=BaseLineFormSet, extra=1, max_num=50)


class _NewLines(BaseLineFormSet):
    """Lines added by an edit: none is fine (an edit may change only the header)."""

    def clean(self) -> None:
        return None


NewLineFormSet = forms.formset_factory(LineForm, formset=_NewLines, extra=0, max_num=50)


class SubscriptionEditForm(_SubscriptionFields):
    """The header and end rule of a saved subscription, and the date its lines change from."""

    effective = forms.DateField(
        label=_("Line changes take effect from"), widget=DateInput(), required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["name"] = data.get("name") or ""
        return data

    def changes(self) -> dict[str, Any]:
        """Every header and end field as `subscription_update` takes them (it keeps what
        differs from the subscription)."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            **self.options(),
            "end_kind": data["end_kind"],
            "end_count": data.get("end_count"),
            "end_date": data.get("end_date"),
            "prorate_last": bool(data.get("prorate_last")),
        }


class CurrentLineForm(forms.Form):
    """A line of the subscription: its quantity and price from the edit's date, or removed.
    The values shown travel with the form (hidden initial): only what was changed counts."""

    position = forms.IntegerField(widget=forms.HiddenInput())
    quantity = decimal_field(_("Quantity"), max_digits=16, decimal_places=4, min_value=0)
    unit_price = decimal_field(
        _("Unit price excl. VAT"), max_digits=18, decimal_places=6, min_value=0
    )
    remove = forms.BooleanField(label=_("Remove from that date"), required=False)
    line: SubscriptionLine | None = None  # the line shown (the view sets it)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("quantity", "unit_price"):
            self.fields[name].show_hidden_initial = True

    def change(self) -> LineChange | None:
        changed = self.changed_data
        data = self.cleaned_data
        quantity = data["quantity"] if "quantity" in changed else None
        price = data["unit_price"] if "unit_price" in changed else None
        if quantity is None and price is None:
            return None
        return LineChange(data["position"], quantity, price)


CurrentLineFormSet = forms.formset_factory(CurrentLineForm, extra=0, max_num=200)

_LINE_FIELD = re.compile(r"^lines\[(\d+)\](?:\.(\w+))?$")


def add_line_error(formset: BaseLineFormSet, lines: list[LineForm], exc: ServiceError) -> bool:
    """Show a service error about `lines[i].field` next to that line's field; False when the
    error is not about a line."""
    if exc.field == "lines":
        formset._non_form_errors = formset.error_class([exc.message])  # type: ignore[attr-defined]
        return True
    match = _LINE_FIELD.match(exc.field or "")
    if match is None:
        return False
    index, name = int(match.group(1)) - 1, match.group(2)
    if not 0 <= index < len(lines):
        return False
    form = lines[index]
    form.add_error(name if name in form.fields else None, exc.message)
    return True


class PauseForm(forms.Form):
    start = forms.DateField(label=_("Pause from"), widget=DateInput())
    end = forms.DateField(
        label=_("Until"),
        widget=DateInput(),
        required=False,
        help_text=_("Blank: until resumed."),
    )


class ResumeForm(forms.Form):
    on = forms.DateField(label=_("Resume on"), widget=DateInput())


class CancelForm(forms.Form):
    WHEN = [
        ("period_end", _("At the end of the current period")),
        ("now", _("From a date (default: today)")),
    ]
    when = forms.ChoiceField(
        label=pgettext_lazy("ending a subscription", "Cancel"), choices=WHEN, initial="period_end"
    )
    on = forms.DateField(label=_("From"), widget=DateInput(), required=False)
    credit = forms.BooleanField(
        label=_("Issue a credit note for the days already invoiced after that date"),
        required=False,
    )

    def __init__(self, *args: Any, may_credit: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_credit:  # the service refuses it too: no field to tick in vain
            del self.fields["credit"]


class ChangeForm(forms.Form):
    line = forms.ModelChoiceField(queryset=SubscriptionLine.objects.none(), label=_("Line"))
    effective = forms.DateField(label=_("From"), widget=DateInput())
    quantity = decimal_field(
        _("New quantity"), required=False, max_digits=16, decimal_places=4, min_value=0
    )
    unit_price = decimal_field(
        _("New unit price excl. VAT"),
        required=False,
        max_digits=18,
        decimal_places=6,
        min_value=0,
    )

    def __init__(self, *args: Any, lines: QuerySet[SubscriptionLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = lines  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        missing = data.get("quantity") is None and data.get("unit_price") is None
        # A value refused on its own (not a number...) is not said to be missing as well.
        if missing and "quantity" not in self.errors and "unit_price" not in self.errors:
            self.add_error("quantity", _("Give a new quantity, a new price, or both."))
        return data
