"""Forms of the settings pages: company, terms, branding, numbering, reminders, emails, users."""

from __future__ import annotations

from io import BytesIO
from pathlib import PurePosixPath
from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from facturier.billing.models import Company, NumberingSeries, Role
from facturier.web.forms.common import MoneyField
from facturier.web.forms.parties import IdentifierFieldsMixin

LOGO_MAX_BYTES = 1_000_000
LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg"}
# A logo is printed at most 60 × 20 mm (about 700 × 240 pixels at 300 dpi). A few hundred
# bytes of PNG can declare 20,000 × 20,000 pixels, which decoding (verifying, rendering the
# PDF) would unpack into gigabytes: the size an image declares is checked before that.
LOGO_MAX_PIXELS = 16_000_000  # 4000 × 4000


class ServiceFieldsMixin(forms.BaseForm):
    groups: list[tuple[Any, list[str]]] = []  # none: the fields in order, without fieldsets

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class CompanyForm(ServiceFieldsMixin, IdentifierFieldsMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Company
        fields = [
            "legal_name", "trade_name", "legal_form", "share_capital", "capital_variable",
            "address_line1", "address_line2", "postcode", "city", "country",
            "siren", "siret", "rcs_city", "vat_number", "vat_regime", "vat_on_debits",
            "iban", "bic", "sepa_creditor_id", "email", "phone", "accounting_email",
            "sales_see_own_customers_only", "billing_hour",
        ]  # fmt: skip
        help_texts = {
            "share_capital": _("Required for SAS, SARL, SA… (printed on invoices)."),
            "rcs_city": _("The city of your RCS registration, e.g. Paris."),
            "accounting_email": _("Receives a hidden copy of every invoice sent."),
            "billing_hour": _("Local hour from which the day's invoices are issued."),
        }
        # The capital typed and shown with the page's decimal mark ("10 000,00").
        field_classes = {"share_capital": MoneyField}
        widgets = {"share_capital": forms.TextInput(attrs={"inputmode": "decimal"})}

    # How the page groups the fields (legend, field names).
    groups = [
        (_("Identity"), ["legal_name", "trade_name", "legal_form", "share_capital",
                         "capital_variable", "siren", "siret", "rcs_city"]),
        (_("Address"), ["address_line1", "address_line2", "postcode", "city", "country"]),
        (_("VAT"), ["vat_number", "vat_regime", "vat_on_debits"]),
        (_("Bank"), ["iban", "bic", "sepa_creditor_id"]),
        (_("Contact"), ["email", "phone", "accounting_email"]),
        (_("Working"), ["sales_see_own_customers_only", "billing_hour"]),
    ]  # fmt: skip

    def clean_country(self) -> str:
        return str(self.cleaned_data["country"]).strip().upper()


class TermsForm(ServiceFieldsMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Company
        fields = ["payment_terms_days", "late_penalty_rate", "early_payment_discount"]
        help_texts = {
            "payment_terms_days": _("At most 60 days after the invoice date (French law)."),
            "late_penalty_rate": _(
                "Printed on every invoice; at least three times the legal interest rate."
            ),
        }


class CurrentLogo:
    """The logo a ClearableFileInput shows as "Currently: …": its file name, linked to the
    logo page (the storage has no public URL: the media are not served)."""

    def __init__(self, name: str) -> None:
        self.name = PurePosixPath(name).name
        self.url = reverse("web:company_logo")

    def __str__(self) -> str:
        return self.name


class LogoInput(forms.ClearableFileInput):
    def format_value(self, value: Any) -> Any:
        if self.is_initial(value):
            return CurrentLogo(str(value.name))
        return None


class BrandingForm(ServiceFieldsMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Company
        fields = ["logo", "accent_colour", "invoice_layout", "invoice_footer"]
        widgets = {
            "logo": LogoInput(),
            "accent_colour": forms.TextInput(attrs={"type": "color"}),
        }
        help_texts = {"logo": _("PNG or JPEG, at most 1 MB and 16 million pixels.")}

    def clean_logo(self) -> Any:
        logo = self.cleaned_data.get("logo")
        if not isinstance(logo, UploadedFile):
            return logo  # unchanged, or cleared
        if logo.size is not None and logo.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(_("The logo must weigh at most 1 MB."))
        data = logo.read()
        logo.seek(0)
        too_large = forms.ValidationError(
            _("The logo must have at most %(max)s million pixels (such as 4000 × 4000).")
            % {"max": LOGO_MAX_PIXELS // 1_000_000}
        )
        try:
            # Opening reads the header only; nothing is decoded before the size is checked.
            with Image.open(BytesIO(data)) as image:
                width, height = image.size
                if width * height > LOGO_MAX_PIXELS:
                    raise too_large
                image.verify()
                kind = image.format
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            # Pillow's own limit (far above ours): refused before its header is even read.
            raise too_large from None
        except (UnidentifiedImageError, OSError, SyntaxError):
            raise forms.ValidationError(_("This file is not a PNG or JPEG image.")) from None
        if kind not in LOGO_FORMATS:
            raise forms.ValidationError(_("This file is not a PNG or JPEG image."))
        logo.name = f"logo.{LOGO_FORMATS[kind]}"
        return logo

    def service_fields(self) -> dict[str, Any]:
        fields = super().service_fields()
        if fields["logo"] is False:  # "clear" ticked
            fields["logo"] = ""
        elif not isinstance(fields["logo"], UploadedFile):  # nothing uploaded: unchanged
            fields.pop("logo")
        return fields


class SeriesForm(forms.Form):
    pattern = forms.CharField(
        label=_("Pattern"),
        max_length=35,
        help_text=_(
            "Tokens: {YYYY} or {YY} for the year, {SEQ:05} for the counter on 5 digits. "
            "Example: F{YYYY}-{SEQ:05} gives F2026-00001."
        ),
    )
    yearly_reset = forms.BooleanField(label=_("Start again at 1 each year"), required=False)

    @classmethod
    def for_series(cls, series: NumberingSeries, data: Any = None) -> SeriesForm:
        return cls(
            data,
            prefix=f"s{series.pk}",
            initial={"pattern": series.pattern, "yearly_reset": series.yearly_reset},
        )


class LevelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    days = forms.IntegerField(
        label=_("Days after the due date"),
        min_value=-60,
        max_value=365,
        help_text=_("Negative: before the due date."),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    attach_invoice = forms.BooleanField(label=_("Attach the invoice"), required=False)
    copy_sales_rep = forms.BooleanField(label=_("Copy the sales rep"), required=False)
    formal_notice = forms.BooleanField(label=_("Formal notice"), required=False)


class BaseLevelFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        if any(self.errors):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not kept:
            raise forms.ValidationError(_("Keep at least one level."))


LevelFormSet = forms.formset_factory(
    LevelForm, formset=BaseLevelFormSet, extra=1, can_delete=True, max_num=10
)


class EmailTemplateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(label=_("Body"), widget=forms.Textarea(attrs={"rows": 14}))


class UserForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.EmailField(label=_("Email"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput)

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        # A password refused on its own (too short...) is not said to differ as well.
        first, second = (data or {}).get("password1"), (data or {}).get("password2")
        if first is not None and second is not None and first != second:
            self.add_error("password2", _("The two passwords differ."))
        return data

    def clean_password1(self) -> str:
        password = str(self.cleaned_data["password1"])
        validate_password(password)
        return password


class MemberForm(forms.Form):
    """A member's role and whether their account may sign in."""

    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    active = forms.BooleanField(label=_("Account enabled"), required=False)
