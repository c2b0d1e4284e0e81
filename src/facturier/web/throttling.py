"""Sign-in and password-change throttling (docs/web.md, Security).

Wrong passwords are counted per client address and username (THROTTLE_LOGIN_PER_USERNAME)
and per client address alone, whatever the usernames (THROTTLE_LOGIN_PER_ADDRESS), over
THROTTLE_WINDOW; wrong current passwords on the password-change form per user
(THROTTLE_PASSWORD_CHANGE). An account is never locked: the right password from another
address works while one address is throttled. Counts live in the database
(`facturier.billing.services.throttle`), so every web process sees them.

`LoginThrottleBackend`, first in AUTHENTICATION_BACKENDS, counts each sign-in attempt before
the password is checked (on /login/ and on the admin's sign-in alike) and stops it when over a
limit; a successful sign-in takes its attempt back (`forget_successful_login`, on
user_logged_in). `LoginThrottleMiddleware` answers a stopped sign-in with a 429 page.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from facturier.billing.services.throttle import throttle_clear, throttle_forget, throttle_hit
from facturier.core.addresses import client_address, throttle_key

SCOPE_ADDRESS = "login:address"
SCOPE_ADDRESS_USERNAME = "login:address+username"
SCOPE_PASSWORD_CHANGE = "password-change"

# Attributes this module leaves on the request of a sign-in attempt.
_HITS = "_facturier_login_hits"
_STOPPED = "_facturier_login_stopped"


def client_ip(request: HttpRequest) -> str:
    """The client's address, honouring FACTURIER_TRUSTED_PROXIES (core/addresses.py)."""
    return client_address(
        request.META.get("REMOTE_ADDR", ""),
        request.META.get("HTTP_X_FORWARDED_FOR", ""),
        trusted_proxies=settings.FACTURIER_TRUSTED_PROXIES,
    )


def _window_minutes() -> int:
    return int(settings.THROTTLE_WINDOW.total_seconds() // 60)


def _pair_key(address: str, username: str) -> str:
    return f"{address}\n{username}"


def login_attempt(request: HttpRequest, username: str) -> list[int] | str:
    """Count a sign-in attempt of `username` from the request's address: the ids of its hits,
    or the scope over its limit (and nothing counted)."""
    address = throttle_key(client_ip(request))
    window = settings.THROTTLE_WINDOW
    by_address = throttle_hit(
        scope=SCOPE_ADDRESS, key=address, limit=settings.THROTTLE_LOGIN_PER_ADDRESS, window=window
    )
    if by_address is None:
        return SCOPE_ADDRESS
    by_pair = throttle_hit(
        scope=SCOPE_ADDRESS_USERNAME,
        key=_pair_key(address, username),
        limit=settings.THROTTLE_LOGIN_PER_USERNAME,
        window=window,
    )
    if by_pair is None:
        throttle_forget([by_address])
        return SCOPE_ADDRESS_USERNAME
    return [by_address, by_pair]


class LoginThrottleBackend:
    """Never signs anyone in: counts the attempt, and stops it (PermissionDenied ends
    `authenticate`, before any password is checked) when over a limit.

    Not a BaseBackend: without `get_user` it is never the backend a session is tied to, nor
    asked for permissions."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None or username is None:
            return  # not a sign-in from a browser (a test client's login, a script)
        hits = login_attempt(request, username)
        if isinstance(hits, str):
            setattr(request, _STOPPED, hits)
            raise PermissionDenied
        setattr(request, _HITS, hits)


def forget_successful_login(sender: Any, request: HttpRequest | None, user: Any, **kw: Any) -> None:
    """On user_logged_in: the attempt was no failure, and the username's count starts again
    from this address (the address's own count keeps its other failures)."""
    if request is None:
        return
    throttle_forget(getattr(request, _HITS, []))
    address = throttle_key(client_ip(request))
    throttle_clear(scope=SCOPE_ADDRESS_USERNAME, key=_pair_key(address, user.get_username()))


def password_change_attempt(request: HttpRequest) -> int | None:
    """Count an attempt on the password-change form; None when over the limit."""
    return throttle_hit(
        scope=SCOPE_PASSWORD_CHANGE,
        key=str(request.user.pk),
        limit=settings.THROTTLE_PASSWORD_CHANGE,
        window=settings.THROTTLE_WINDOW,
    )


def locked_response(request: HttpRequest, message: str) -> HttpResponse:
    """429 Too Many Requests, with the page that says why and for how long at most."""
    response = render(request, "web/locked.html", {"message": message}, status=429)
    response["Retry-After"] = str(int(settings.THROTTLE_WINDOW.total_seconds()))
    return response


def login_locked_message(scope: str) -> str:
    if scope == SCOPE_ADDRESS_USERNAME:
        text = _(
            "Too many wrong passwords for this username from your address: signing in with it "
            "from there is paused for up to %(minutes)s minutes. Try again later."
        )
    else:
        text = _(
            "Too many wrong passwords from your address: signing in from it is paused for up "
            "to %(minutes)s minutes. Try again later."
        )
    return text % {"minutes": _window_minutes()}


def password_locked_message() -> str:
    return _(
        "Too many wrong current passwords: changing your password is paused for up to "
        "%(minutes)s minutes. Try again later."
    ) % {"minutes": _window_minutes()}


class LoginThrottleMiddleware:
    """Turns the answer to a sign-in stopped by LoginThrottleBackend into the 429 page
    (whatever the sign-in form: the web UI's or the admin's)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        stopped = getattr(request, _STOPPED, None)
        if stopped is not None:
            return locked_response(request, login_locked_message(stopped))
        return response
