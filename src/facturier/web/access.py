"""Who may do what in the web UI: the decorator every view uses.

The capabilities of each role are one table, `facturier.core.roles`, that the billing
services check too: hiding a button here is a convenience, the service is the guard.

A view declares the one capability it needs with ``@requires(Can.X)``. The decorator signs the
user in if needed, finds the user's company (one Membership per user), refuses with a clear
403 page when the role lacks the capability, and hands the view a :class:`WebRequest` that
carries ``membership``, ``company``, ``can`` and ``actor`` (what services are given). Reads
of customers and of anything attached to a customer go through :func:`visible_customers` /
:func:`restrict_to_visible`, which apply the company's "sales reps only see their own
customers" switch.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar, cast

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from facturier.billing.models import Company, Customer, Membership, Role
from facturier.billing.services.actors import Actor, refusal
from facturier.core.roles import ROLE_CAPABILITIES, Can, capabilities

__all__ = [
    "ROLE_CAPABILITIES",
    "Can",
    "WebRequest",
    "attach",
    "ensure",
    "get_visible",
    "refusal",
    "requires",
    "restrict_to_visible",
    "sees_own_customers_only",
    "visible_customers",
]

P = ParamSpec("P")
M = TypeVar("M", bound=Model)


class WebRequest(HttpRequest):
    """The request a view receives from :func:`requires`: a signed-in member of a company."""

    user: User
    membership: Membership
    company: Company
    can: frozenset[Can]
    actor: Actor


def membership_of(user: User) -> Membership | None:
    try:
        return Membership.objects.select_related("company").get(user=user)
    except Membership.DoesNotExist:
        return None


def attach(request: HttpRequest) -> WebRequest | None:
    """Give a signed-in request its membership, company and capabilities (None: no company)."""
    if hasattr(request, "membership"):
        return cast(WebRequest, request)
    user = request.user
    if not user.is_authenticated:
        return None
    membership = membership_of(user)
    if membership is None:
        return None
    web = cast(WebRequest, request)
    web.membership = membership
    web.company = membership.company
    web.can = capabilities(membership.role)
    web.actor = Actor.member(membership)
    return web


def requires(
    capability: Can,
) -> Callable[
    [Callable[Concatenate[WebRequest, P], HttpResponseBase]],
    Callable[Concatenate[HttpRequest, P], HttpResponseBase],
]:
    """Decorate a view that needs `capability`; a refusal is a 403 page that says why."""

    def decorate(
        view: Callable[Concatenate[WebRequest, P], HttpResponseBase],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            web = attach(request)
            if web is None:
                raise PermissionDenied(
                    _("Your account is not attached to a company. Ask the owner to add you.")
                )
            if capability not in web.can:
                raise PermissionDenied(refusal(capability))
            return view(web, *args, **kwargs)

        wrapper.required_capability = capability  # type: ignore[attr-defined]
        return cast(Callable[Concatenate[HttpRequest, P], HttpResponseBase], wrapper)

    return decorate


def sees_own_customers_only(request: WebRequest) -> bool:
    return request.membership.role == Role.SALES and request.company.sales_see_own_customers_only


def visible_customers(request: WebRequest) -> QuerySet[Customer]:
    """The company's customers this user may see."""
    qs = Customer.objects.filter(company=request.company)
    if sees_own_customers_only(request):
        qs = qs.filter(sales_rep=request.user)
    return qs


def restrict_to_visible(
    qs: QuerySet[M], request: WebRequest, *, customer_field: str = "customer"
) -> QuerySet[M]:
    """Rows of the company attached to a customer this user may see (invoices, payments...)."""
    qs = qs.filter(**{f"{customer_field}__company": request.company})
    if sees_own_customers_only(request):
        qs = qs.filter(**{f"{customer_field}__sales_rep": request.user})
    return qs


def get_visible(qs: QuerySet[M], **lookup: object) -> M:
    """One row of an already restricted queryset, or a 404 (hidden rows do not exist)."""
    try:
        return qs.get(**lookup)
    except ObjectDoesNotExist as exc:
        raise Http404(_("Not found.")) from exc


def ensure(request: WebRequest, capability: Can) -> None:
    """Refuse inside a view (e.g. a POST branch of a page anyone may view)."""
    if capability not in request.can:
        raise PermissionDenied(refusal(capability))
