"""The Django admin: a back office until the web UI lands. Issued documents are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from facturier.billing import models as m


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


@admin.register(m.Invoice)
class InvoiceAdmin(admin.ModelAdmin[m.Invoice]):
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

    # Writes go through the services (CLI, later the UI): the admin only shows documents.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(m.Payment)
class PaymentAdmin(admin.ModelAdmin[m.Payment]):
    list_display = ("received_on", "customer", "amount", "method", "reference")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(m.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[m.AuditEvent]):
    list_display = ("at", "actor", "action", "object_type", "object_id")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.register(m.NumberingSeries)
admin.site.register(m.Membership)
