"""The buyer (LEGAL-FR INV-05/06/07)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from facturier.billing import validators as v
from facturier.billing.models.company import Company


class CustomerKind(models.TextChoices):
    BUSINESS = "business", _("Business")
    CONSUMER = "consumer", _("Consumer")


class Language(models.TextChoices):
    FR = "fr", "Français"
    EN = "en", "English"


class Customer(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="customers")
    # Accounting code of the customer (auxiliary account in the sales journal).
    code = models.CharField(_("customer code"), max_length=30)
    kind = models.CharField(_("kind"), max_length=10, choices=CustomerKind.choices)
    legal_name = models.CharField(_("name"), max_length=200)
    siren = models.CharField("SIREN", max_length=9, blank=True, validators=[v.validate_siren])
    siret = models.CharField("SIRET", max_length=14, blank=True, validators=[v.validate_siret])
    vat_number = models.CharField(
        _("VAT number"), max_length=20, blank=True, validators=[v.validate_eu_vat]
    )
    address_line1 = models.CharField(_("billing address"), max_length=200)
    address_line2 = models.CharField(_("billing address (line 2)"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="FR")
    # Delivery address, printed when it differs from the billing address (EINV-M-02).
    delivery_line1 = models.CharField(_("delivery address"), max_length=200, blank=True)
    delivery_line2 = models.CharField(_("delivery address (line 2)"), max_length=200, blank=True)
    delivery_postcode = models.CharField(_("delivery postcode"), max_length=20, blank=True)
    delivery_city = models.CharField(_("delivery city"), max_length=100, blank=True)
    delivery_country = models.CharField(_("delivery country"), max_length=2, blank=True)
    billing_emails = models.JSONField(
        _("billing contact emails"), default=list, validators=[v.validate_email_list]
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.FR
    )
    # Overrides the company's default payment terms when set.
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"), null=True, blank=True, validators=[MaxValueValidator(60)]
    )
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("sales rep"),
    )
    # No automatic reminders while set (a negotiated schedule, a dispute in progress...).
    reminders_paused = models.BooleanField(_("reminders paused"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="customer_code_unique")
        ]
        indexes = [models.Index(fields=["company", "legal_name"])]

    def __str__(self) -> str:
        return self.legal_name

    @property
    def is_business(self) -> bool:
        return self.kind == CustomerKind.BUSINESS

    def clean(self) -> None:
        errors, self.country, self.postcode = v.address_errors(self.country, self.postcode)
        delivery, self.delivery_country, self.delivery_postcode = v.address_errors(
            self.delivery_country or (self.country if self.delivery_postcode else ""),
            self.delivery_postcode, prefix="delivery_", required=False,
        )  # fmt: skip
        errors.update(delivery)
        if self.kind == CustomerKind.BUSINESS and self.country == "FR" and not self.siren:
            errors["siren"] = str(_("A French business customer needs its SIREN."))
        if self.siret and self.siren and not self.siret.startswith(self.siren):
            errors["siret"] = str(_("The SIRET must start with the SIREN."))
        if not self.billing_emails:
            errors["billing_emails"] = str(_("Give at least one billing email."))
        if errors:
            raise ValidationError(errors)
