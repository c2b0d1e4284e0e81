"""Sign in, sign out and password change (Django's auth views with our templates).

Both forms are throttled (web/throttling.py): sign-ins by LoginThrottleBackend, wrong current
passwords on the password-change form here."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from facturier.billing.services.throttle import throttle_forget
from facturier.web.throttling import (
    locked_response,
    password_change_attempt,
    password_locked_message,
)


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _(
            "Wrong username or password. After %(limit)s wrong passwords within %(minutes)s "
            "minutes, signing in with this username from your address is paused for up to "
            "%(minutes)s minutes."
        ),
        "inactive": _("This account is disabled."),
    }

    def get_invalid_login_error(self) -> ValidationError:
        return ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={
                "limit": settings.THROTTLE_LOGIN_PER_USERNAME,
                "minutes": int(settings.THROTTLE_WINDOW.total_seconds() // 60),
            },
        )


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "web/password_change.html"
    success_url = reverse_lazy("web:dashboard")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Counted before the current password is checked, taken back unless it was wrong:
        # someone on an unattended session cannot try passwords one after the other.
        attempt = password_change_attempt(request)
        if attempt is None:
            return locked_response(request, password_locked_message())
        form = self.get_form()
        valid = form.is_valid()
        if valid or not form.has_error("old_password", "password_incorrect"):
            throttle_forget([attempt])
        return self.form_valid(form) if valid else self.form_invalid(form)

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        return response
