"""The admin app's configuration, listed in INSTALLED_APPS instead of django.contrib.admin.

Its own module: INSTALLED_APPS imports it before the models are ready, so it must not
import the site (which reads Membership)."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class OperatorAdminConfig(AdminConfig):
    """`admin.site` is the operators' site (billing/admin_site.py), so every ModelAdmin, ours
    and django.contrib.auth's, is registered on it and obeys its permission check."""

    default_site = "facturier.billing.admin_site.OperatorAdminSite"
