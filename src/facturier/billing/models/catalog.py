"""Products and services sold (LEGAL-FR INV-20)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from facturier.billing.models.company import Company
from facturier.core.units import UNITS
from facturier.core.vat import FRENCH_VAT_RATES


class LineKindChoices(models.TextChoices):
    # Goods or services decides the BT-23 framework letter (B/S/M, LEGAL-FR EINV-M-03).
    SERVICES = "services", _("Service")
    GOODS = "goods", _("Goods")


UNIT_CHOICES = [(code, f"{code} – {labels[0]}") for code, labels in UNITS.items()]
VAT_CHOICES = [(r.code, r.label_fr) for r in FRENCH_VAT_RATES]


class Product(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="products")
    sku = models.CharField(_("reference"), max_length=50)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=LineKindChoices.choices, default="services"
    )
    unit_code = models.CharField(_("unit"), max_length=3, choices=UNIT_CHOICES, default="C62")
    # Up to 6 decimals, as EN 16931 allows for unit prices (BR-FR-DEC-03).
    unit_price = models.DecimalField(_("unit price excl. VAT"), max_digits=18, decimal_places=6)
    vat_code = models.CharField(_("VAT"), max_length=20, choices=VAT_CHOICES, default="FR-20")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(fields=["company", "sku"], name="product_sku_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sku} – {self.name}"
