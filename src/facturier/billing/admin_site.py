"""The Django admin's site: for operators only, never for the members of a company.

A member acts through the web UI, within their company and role. The admin sees every
company at once, so it is open only to an active superuser without a Membership (an
operator, made with `facturier manage createsuperuser`), and it is mounted at all only when
FACTURIER_ADMIN=1 (facturier/urls.py)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from facturier.billing.models import Membership


class OperatorAdminSite(admin.AdminSite):
    site_header = "Facturier (operators)"
    site_title = "Facturier admin"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff and user.is_superuser):
            return False
        # Checked even for superusers: a member's flags may predate the members_not_staff migration.
        return not Membership.objects.filter(user_id=user.pk).exists()
