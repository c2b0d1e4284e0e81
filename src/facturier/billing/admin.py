"""The Django admin's pages, for operators (billing/admin_site.py). Issued documents
are read-only."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from facturier.billing import models as m

M = TypeVar("M", bound=models.Model)


@admin.register(m.Company)
class CompanyAdmin(admin.ModelAdmin[m.Company]):
    list_display = ("legal_name", "siren", "vat_regime", "currency")


@admin.register(m.Customer)
class CustomerAdmin(admin.ModelAdmin[m.Customer]):
    list_display = ("code", "legal_name", "kind", "city", "sales_rep")
    search_fields = ("legal_name", "code", "siren")
    list_filter = ("kind", "company")


@admin.register(m.Product)
class ProductAdmin(admin.ModelAdmin[m.Product]):
    list_display = ("sku", "name", "unit_price", "vat_code", "active")


class InvoiceLineInline(admin.TabularInline[m.InvoiceLine, m.Invoice]):
    model = m.InvoiceLine
    extra = 0
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin[M]):
    """Shows records whose writes go through the services (CLI, later the UI): issued
    documents, payments and the audit trail are never edited or deleted here."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(m.Invoice)
class InvoiceAdmin(ReadOnlyAdmin[m.Invoice]):
    list_display = (
        "__str__",
        "doc_type",
        "status",
        "customer",
        "issue_date",
        "total_gross",
        "settlement",
    )
    list_filter = ("status", "doc_type", "settlement")
    search_fields = ("number", "customer__legal_name")
    inlines = [InvoiceLineInline]


@admin.register(m.Payment)
class PaymentAdmin(ReadOnlyAdmin[m.Payment]):
    list_display = ("received_on", "customer", "amount", "method", "reference")


@admin.register(m.PaymentReversal)
class PaymentReversalAdmin(ReadOnlyAdmin[m.PaymentReversal]):
    list_display = ("reversed_on", "payment", "amount", "reason", "recorded_by")


@admin.register(m.Refund)
class RefundAdmin(ReadOnlyAdmin[m.Refund]):
    list_display = ("refunded_on", "customer", "amount", "method", "reference")


@admin.register(m.AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin[m.AuditEvent]):
    list_display = ("at", "actor", "action", "object_type", "object_id")


admin.site.register(m.NumberingSeries)
admin.site.register(m.Membership)


@admin.register(m.Subscription)
class SubscriptionAdmin(ReadOnlyAdmin[m.Subscription]):
    # The next billing date is derived by the services: create and change subscriptions
    # with `facturier subscriptions …` (the web UI comes with issue 6).
    list_display = ("name", "customer", "status", "frequency_unit", "interval", "next_billing_date")
    list_filter = ("status", "frequency_unit")


@admin.register(m.BillingRun)
class BillingRunAdmin(ReadOnlyAdmin[m.BillingRun]):
    list_display = ("started_at", "finished_at", "worker", "due", "issued", "drafted", "failed")
