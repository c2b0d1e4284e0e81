"""Forms that create something are sent once (a double click, back and send again, a retry).

A create form carries a one-time token in a hidden field: ``{% include
"web/includes/once.html" with once="payment" %}`` inside the ``<form>``. The token is signed
(user, form name, random key, time) and expires after 24 hours; the view that handles the
form is decorated with the same name::

    @requires(Can.RECORD_PAYMENTS)
    @once("payment")
    def payment_new(request): ...

On a POST, the decorator records the token as used (`billing/services/form_tokens.py`, a
unique row in the database, so it holds across every web process) inside one transaction
with the view: the view's redirect after a creation commits both; a form sent back with its
errors (any answer other than a redirect) releases the token, so it can be sent again. A
replay creates nothing and is sent to what the first submission created, with a message
saying so; a missing, altered, foreign or expired token is refused with a message, and
nothing is saved. A view may name what it created (`once_created`) when its redirect goes
elsewhere, or say that a redirect created nothing (`once_nothing_created`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from facturier.billing.models import FormToken
from facturier.billing.services.form_tokens import (
    TOKEN_LIFETIME,
    form_token_done,
    form_token_release,
    form_token_use,
)

FIELD = "once"  # the hidden field's name
_SALT = "facturier.web.once"
_RESULT = "_facturier_once_result"  # set on the request by once_created / once_nothing_created

V = TypeVar("V", bound=Callable[..., HttpResponseBase])


def once_token(user_id: int, form: str) -> str:
    """A new token for `form`, shown to user `user_id`."""
    payload = {"u": user_id, "f": form, "k": secrets.token_urlsafe(18)}
    return signing.dumps(payload, salt=_SALT, compress=False)


def token_key(token: str, *, user_id: int, form: str) -> str | None:
    """The token's key when it is genuine, this user's, for this form and not expired."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=TOKEN_LIFETIME)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(payload, dict) or payload.get("u") != user_id or payload.get("f") != form:
        return None
    key = payload.get("k")
    return key if isinstance(key, str) else None


def once_created(request: HttpRequest, url: str, label: str = "") -> None:
    """The page of what the view just created (where a replay is sent), and its name."""
    setattr(request, _RESULT, (url, label))


def once_nothing_created(request: HttpRequest) -> None:
    """The view answers with a redirect but created nothing: the form may be sent again."""
    setattr(request, _RESULT, None)


def once(form: str) -> Callable[[V], V]:
    """Let the POSTs of this view's form through once (see the module docstring)."""

    def decorate(view: V) -> V:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method != "POST":
                return view(request, *args, **kwargs)
            user_id = int(request.user.pk or 0)  # signed in: @requires runs first
            key = token_key(request.POST.get(FIELD, ""), user_id=user_id, form=form)
            if key is None:
                return _stale(request)
            with transaction.atomic():
                earlier = form_token_use(key=key, user_id=user_id, form=form)
                if earlier is not None:
                    return _replayed(request, earlier)
                response = view(request, *args, **kwargs)
                result = getattr(request, _RESULT, "redirect")
                if result == "redirect" and isinstance(response, HttpResponseRedirect):
                    result = (response["Location"], "")
                if isinstance(result, tuple):
                    form_token_done(key=key, url=result[0], label=result[1])
                else:
                    form_token_release(key=key)
            return response

        # The tests' client reads it to fill the token as the page does.
        setattr(wrapper, "once_form", form)  # noqa: B010
        return cast(V, wrapper)

    return decorate


def _back(request: HttpRequest) -> str:
    referer = request.META.get("HTTP_REFERER", "")
    safe = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return referer if safe else request.get_full_path()


def _stale(request: HttpRequest) -> HttpResponseBase:
    stale = _(
        "This form could not be accepted: it is more than a day old or was opened for "
        "another user. Nothing was saved; please fill it in again."
    )
    messages.error(request, stale)
    return HttpResponseRedirect(_back(request))


def _replayed(request: HttpRequest, earlier: FormToken) -> HttpResponseBase:
    from facturier.web.templatetags.facturier_web import moment

    when = moment(earlier.used_at)
    if not earlier.result_url:
        messages.warning(
            request, _("This form was already sent (%(when)s): nothing new was created.")
            % {"when": when},
        )  # fmt: skip
        return HttpResponseRedirect(_back(request))
    messages.warning(
        request,
        format_html(
            '{} <a href="{}">{}</a>',
            _("This form was already sent (%(when)s): nothing new was created.") % {"when": when},
            earlier.result_url,
            earlier.result_label or _("See what it created."),
        ),
    )
    return HttpResponseRedirect(earlier.result_url)
