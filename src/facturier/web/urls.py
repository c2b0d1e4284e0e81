"""The web UI's urls, in the "web" namespace. Each section's module keeps its own urlpatterns
and is included here with one line (see docs/web.md)."""

from __future__ import annotations

from django.urls import path

from facturier.web.views import auth, dashboard

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("dashboard/cash/", dashboard.dashboard_cash, name="dashboard_cash"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password_change"),
]
