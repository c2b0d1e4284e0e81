"""The issuer of invoices (LEGAL-FR §1.1) and who may act for it."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from facturier.billing import validators as v
from facturier.core.layouts import DEFAULT_LAYOUT, LAYOUTS


class LegalForm(models.TextChoices):
    SAS = "SAS", "SAS"
    SASU = "SASU", "SASU"
    SARL = "SARL", "SARL"
    EURL = "EURL", "EURL"
    SA = "SA", "SA"
    SNC = "SNC", "SNC"
    SCOP = "SCOP", "SCOP"
    EI = "EI", _("Individual entrepreneur (EI)")
    ASSOCIATION = "ASSO", _("Association")
    OTHER = "OTHER", _("Other")


# Legal forms whose documents must state the share capital (R123-237 C. com.).
FORMS_WITH_CAPITAL = {"SAS", "SASU", "SARL", "EURL", "SA", "SNC", "SCOP"}


class VatRegime(models.TextChoices):
    NORMAL = "normal", _("Normal (VAT charged)")
    FRANCHISE = "franchise", _("Franchise en base (art. 293 B du CGI)")


class Company(models.Model):
    # Identity printed on every invoice (LEGAL-FR INV-01..04) and copied into its snapshot.
    legal_name = models.CharField(_("legal name"), max_length=200)
    trade_name = models.CharField(_("trade name"), max_length=200, blank=True)
    legal_form = models.CharField(_("legal form"), max_length=10, choices=LegalForm.choices)
    # Required for commercial companies (R123-237); null for an EI or an association.
    share_capital = models.DecimalField(
        _("share capital"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    capital_variable = models.BooleanField(_("variable capital"), default=False)
    address_line1 = models.CharField(_("address"), max_length=200)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="FR")
    siren = models.CharField("SIREN", max_length=9, validators=[v.validate_siren])
    siret = models.CharField("SIRET", max_length=14, blank=True, validators=[v.validate_siret])
    # "RCS Paris": the registry city; blank for businesses not registered at the RCS.
    rcs_city = models.CharField(_("RCS registry city"), max_length=100, blank=True)
    vat_number = models.CharField(
        _("VAT number"), max_length=20, blank=True, validators=[v.validate_eu_vat]
    )
    vat_regime = models.CharField(
        _("VAT regime"), max_length=10, choices=VatRegime.choices, default=VatRegime.NORMAL
    )
    # Printing "option pour les débits" without having opted is itself fined (LEGAL-FR VATM-05).
    vat_on_debits = models.BooleanField(_("opted to pay VAT on debits"), default=False)
    iban = models.CharField("IBAN", max_length=34, blank=True, validators=[v.validate_iban])
    bic = models.CharField("BIC", max_length=11, blank=True, validators=[v.validate_bic])
    sepa_creditor_id = models.CharField(
        _("SEPA creditor identifier (ICS)"),
        max_length=35,
        blank=True,
        validators=[v.validate_creditor_id],
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    # Billing dates are calendar dates in this zone; DST never moves them.
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"), default=30, validators=[MaxValueValidator(60)]
    )
    # Annual rate of late penalties printed on invoices (L441-10: at least 3 × legal rate).
    late_penalty_rate = models.DecimalField(
        _("late-payment penalty rate (% per year)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("12.15"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    early_payment_discount = models.CharField(
        _("early-payment discount terms"),
        max_length=300,
        default="Pas d'escompte pour paiement anticipé.",
    )
    email = models.EmailField(_("sender email"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    accounting_email = models.EmailField(_("accounting email (BCC)"), blank=True)
    logo = models.FileField(_("logo"), upload_to="logos/", blank=True)
    # Branding of the invoice documents (the legal mentions are never optional).
    accent_colour = models.CharField(
        _("accent colour"),
        max_length=7,
        default="#1f4e79",
        validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}$", _("A colour such as #1f4e79."))],
    )
    invoice_footer = models.CharField(_("invoice footer"), max_length=300, blank=True)
    # One of the built-in document layouts (facturier.core.layouts, which documents implements).
    invoice_layout = models.CharField(
        _("invoice layout"),
        max_length=20,
        default=DEFAULT_LAYOUT,
        choices=[(name, _(label)) for name, label in LAYOUTS.items()],
    )
    # When set, users with the sales role only see the customers they are in charge of.
    sales_see_own_customers_only = models.BooleanField(
        _("sales reps only see their own customers"), default=False
    )
    # The worker bills due subscriptions from this local hour on (a run catches up anything
    # missed, whatever the hour).
    billing_hour = models.PositiveSmallIntegerField(
        _("billing hour"), default=6, validators=[MaxValueValidator(23)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return self.legal_name

    def clean(self) -> None:
        errors, self.country, self.postcode = v.address_errors(self.country, self.postcode)
        if self.share_capital is not None and self.share_capital < 0:
            errors["share_capital"] = str(_("The share capital cannot be negative."))
        if self.legal_form in FORMS_WITH_CAPITAL and self.share_capital is None:
            errors["share_capital"] = str(_("A company of this legal form must state its capital."))
        if self.siret and self.siren and not self.siret.startswith(self.siren):
            errors["siret"] = str(_("The SIRET must start with the SIREN."))
        if self.vat_regime == VatRegime.NORMAL and not self.vat_number:
            errors["vat_number"] = str(_("A VAT-registered company needs its VAT number."))
        if self.vat_regime == VatRegime.FRANCHISE and self.vat_on_debits:
            errors["vat_on_debits"] = str(
                _("A company under franchise en base cannot opt for VAT on debits.")
            )
        if errors:
            raise ValidationError(errors)


class Role(models.TextChoices):
    OWNER = "owner", _("Owner / administrator")
    ACCOUNTANT = "accountant", _("Accountant")
    SALES = "sales", _("Sales")
    READONLY = "readonly", _("Read-only")


class Membership(models.Model):
    # A user acts for one company with one role; what the role may do is the web UI's
    # capability matrix (web/access.py). A user with a Membership is never Django staff:
    # the admin is for operators, who have none (billing/admin_site.py).
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) @ {self.company}"
