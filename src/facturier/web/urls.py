"""The web UI's urls, in the "web" namespace. Each section's module keeps its own urlpatterns
and is included here with one line (see docs/web.md)."""

from __future__ import annotations

from django.urls import include, path

from facturier.web.views import auth, dashboard

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("dashboard/cash/", dashboard.dashboard_cash, name="dashboard_cash"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("customers/", include("facturier.web.views.customers")),
    path("mailbox/", include("facturier.web.views.mailbox")),
    path("settings/", include("facturier.web.views.settings")),
    path("subscriptions/", include("facturier.web.views.subscriptions")),
    path("invoices/", include("facturier.web.views.invoices")),
    path("payments/", include("facturier.web.views.payments")),
    path("forecast/", include("facturier.web.views.forecast")),
    path("runs/", include("facturier.web.views.runs")),
    path("exports/", include("facturier.web.views.exports")),
]
