"""Forms for the company and its customers: identifiers checked and normalised in place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.core import validators
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from facturier.billing.models import Company, Customer
from facturier.billing.services.parties import Duplicate, customer_duplicates
from facturier.core import identifiers

# Field → (normaliser, what a valid value looks like). The normaliser's own reason
# ("wrong check digits", "wrong length"...) is appended.
IDENTIFIERS: dict[str, tuple[Callable[[str], str], str | Promise]] = {
    "siren": (identifiers.clean_siren, _("A SIREN has 9 digits, such as 732 829 320.")),
    "siret": (identifiers.clean_siret, _("A SIRET has 14 digits, such as 732 829 320 00074.")),
    "vat_number": (
        identifiers.clean_eu_vat,
        _("An EU VAT number starts with its country code, such as FR44732829320."),
    ),
    "iban": (identifiers.clean_iban, _("An IBAN such as FR76 3000 6000 0112 3456 7890 189.")),
    "bic": (identifiers.clean_bic, _("A BIC has 8 or 11 characters, such as AGRIFRPP.")),
    "sepa_creditor_id": (
        identifiers.clean_creditor_id,
        _("A SEPA creditor identifier such as FR72ZZZ123456."),
    ),
}


# The checks' reasons (plain English from core), in the page's language.
REASONS: dict[str, str | Promise] = {
    "empty": _("Empty."),
    "wrong length": _("Wrong length."),
    "wrong check digits": _("Wrong check digits."),
    "wrong national check digits": _("Wrong national check digits."),
    "unknown country": _("Unknown country."),
    "unknown country or component": _("Unknown country."),
    "invalid format": _("Invalid format."),
    "must have 8 or 11 characters": _("Must have 8 or 11 characters."),
}


def _reason(exc: ValueError) -> str:
    """ "SIREN: wrong check digits: '732829321'" → "Wrong check digits." (translated)."""
    parts = str(exc).split(": ")
    reason = parts[1] if len(parts) > 1 else str(exc)
    if reason.startswith("does not start with SIREN"):
        return str(_("Does not start with the SIREN."))
    return str(REASONS.get(reason, reason[:1].upper() + reason[1:] + "."))


class IdentifierFieldsMixin(forms.BaseForm):
    """Checks and normalises SIREN, SIRET, VAT number, IBAN, BIC and creditor id fields,
    so that "732 829 320" is accepted and a wrong one is explained next to its field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # People type "732 829 320": the length is checked on the compact value.
        for name in IDENTIFIERS.keys() & self.fields.keys():
            field = self.fields[name]
            field.validators = [
                v for v in field.validators if not isinstance(v, validators.MaxLengthValidator)
            ]
            field.widget.attrs.pop("maxlength", None)
            field.widget.attrs["maxlength"] = "50"

    def add_error(self, field: str | None, error: Any) -> None:
        # The model's own checks run on what is left after a refused field and would add
        # "needs its SIREN" under "wrong check digits", or "not a postcode of FR" under
        # "This field is required": one message per field is clearer.
        if field is None and isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            done = set(self.errors)
            kept = {name: errs for name, errs in error.error_dict.items() if name not in done}
            if not kept:
                return
            error = ValidationError(kept)
        super().add_error(field, error)

    def clean(self) -> dict[str, Any] | None:
        # Runs before a ModelForm's model validation, which then sees the compact values.
        super().clean()
        for name, (normalise, example) in IDENTIFIERS.items():
            value = self.cleaned_data.get(name)
            if name not in self.fields or not value:
                continue
            try:
                self.cleaned_data[name] = normalise(str(value))
            except ValueError as exc:
                self.add_error(name, f"{_reason(exc)} {example}")
        return self.cleaned_data


class EmailListField(forms.CharField):
    """Emails one per line (commas and semicolons also separate them)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        text = super().to_python(value) or ""
        parts = text.replace(";", ",").replace("\n", ",").split(",")
        return [p.strip() for p in parts if p.strip()]

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        for email in value:
            try:
                identifiers.clean_email(email)
            except ValueError:
                raise forms.ValidationError(
                    _("“%(email)s” is not a valid email address."), params={"email": email}
                ) from None


class CustomerForm(IdentifierFieldsMixin, forms.ModelForm):  # type: ignore[type-arg]
    billing_emails = EmailListField(
        label=_("Billing emails"),
        help_text=_("One per line. Invoices and reminders go to all of them."),
    )

    class Meta:
        model = Customer
        fields = [
            "kind", "legal_name", "code", "siren", "siret", "vat_number",
            "address_line1", "address_line2", "postcode", "city", "country",
            "billing_emails", "language", "payment_terms_days", "sales_rep",
            "reminders_paused",
            "delivery_line1", "delivery_line2", "delivery_postcode", "delivery_city",
            "delivery_country",
        ]  # fmt: skip
        help_texts = {
            "code": _("Leave empty for the next number (C00001, C00002…)."),
            "siren": _("Required for a French business."),
            "payment_terms_days": _("Leave empty for the company's terms."),
            "reminders_paused": _("No automatic reminder is sent while this is ticked."),
            "country": _("Two-letter code, such as FR, BE, DE."),
        }

    def __init__(
        self, *args: Any, company: Company, only_rep: User | None = None, **kwargs: Any
    ) -> None:
        """`only_rep`: the one sales rep allowed (a sales user who only sees their customers
        must stay in charge of the customers they create or edit)."""
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False
        reps = User.objects.filter(membership__company=company, is_active=True)
        sales_rep = self.fields["sales_rep"]
        assert isinstance(sales_rep, forms.ModelChoiceField)
        if only_rep is not None:
            reps = reps.filter(pk=only_rep.pk)
            sales_rep.required = True
            sales_rep.empty_label = None
        sales_rep.queryset = reps.order_by("username")

    # Shown only once the customer was found to match another one (see `duplicates`).
    allow_duplicate = forms.BooleanField(
        required=False, label=_("This is another customer: save it anyway")
    )

    def duplicates(self, company: Company) -> list[Duplicate]:
        """Customers (or the company itself) this form's SIREN, VAT number or billing emails
        match, unless they are unchanged (an edit) or the user said "save it anyway"."""
        data = self.cleaned_data
        keys = ("siren", "siret", "vat_number", "billing_emails")
        customer = self.instance
        # The stored values: validation has already copied the input onto the instance.
        stored = Customer.objects.filter(pk=customer.pk).values(*keys).first()
        if stored is not None and all((data.get(k) or "") == (stored[k] or "") for k in keys):
            return []
        if data.get("allow_duplicate"):
            return []
        return customer_duplicates(
            company=company,
            siren=data.get("siren") or "",
            siret=data.get("siret") or "",
            vat_number=data.get("vat_number") or "",
            billing_emails=data.get("billing_emails") or [],
            exclude=customer,
        )

    def clean_country(self) -> str:
        return str(self.cleaned_data["country"]).strip().upper()

    def clean_delivery_country(self) -> str:
        return str(self.cleaned_data.get("delivery_country") or "").strip().upper()

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values, as the customer services take them."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
