"""Signed-in sessions: never cached, signed out when idle or too old (docs/web.md, Security)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from facturier.billing import clock

Handler = Callable[[HttpRequest], HttpResponse]

# Session keys: when the user signed in, and when the session was last used (epoch seconds).
SIGNED_IN_AT = "facturier_signed_in_at"
SEEN_AT = "facturier_seen_at"
# The last-use time is written at most this often: not a session write per request.
SEEN_RESOLUTION = 60


def _now() -> int:
    return int(clock.now().timestamp())


def session_started(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """On user_logged_in: the session's two clocks start."""
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = request.session[SEEN_AT] = _now()


class NoStoreMiddleware:
    """`Cache-Control: no-store` (and private, no-cache, max-age=0) on every response to a
    signed-in user, pages and downloads (PDF, XML, CSV) alike: no browser cache nor shared
    proxy keeps a copy of invoices, exports or settings for the next person at the screen."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        signed_in = request.user.is_authenticated
        response = self.get_response(request)
        if signed_in or request.user.is_authenticated:
            add_never_cache_headers(response)
        return response


class SessionTimeoutMiddleware:
    """Signs a session out on its next request when it was idle longer than
    FACTURIER_SESSION_IDLE_MINUTES, or signed in longer ago than SESSION_COOKIE_AGE (the
    cookie alone would be renewed by each session write). After MessageMiddleware."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        session, now = request.session, _now()
        signed_in, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
        if not isinstance(signed_in, int) or not isinstance(seen, int):
            # A session from before these keys: its clocks start now.
            session[SIGNED_IN_AT] = session[SEEN_AT] = now
            return
        idle_minutes = settings.FACTURIER_SESSION_IDLE_MINUTES
        if now - seen > idle_minutes * 60:
            logout(request)
            messages.info(
                request,
                _("You were signed out after %(minutes)s minutes without activity.")
                % {"minutes": idle_minutes},
            )
        elif now - signed_in > settings.SESSION_COOKIE_AGE:
            logout(request)
            messages.info(
                request,
                _("You were signed out %(hours)s hours after signing in: please sign in again.")
                % {"hours": settings.SESSION_COOKIE_AGE // 3600},
            )
        elif now - seen >= SEEN_RESOLUTION:
            session[SEEN_AT] = now
