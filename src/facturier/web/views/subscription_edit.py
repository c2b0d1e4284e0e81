"""The subscription edit page: header, end rule and lines from a date, with the live preview
of the next invoices as the edit leaves them. One service writes it all
(`subscription_update`); what was invoiced never changes."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from facturier.billing import clock
from facturier.billing.models import Product, Subscription
from facturier.billing.preview import subscription_edit_preview
from facturier.billing.services import recurring_lines as rl
from facturier.billing.services.errors import ServiceError
from facturier.billing.services.subscription_edit import first_open_start, subscription_update
from facturier.core import subscription_lines as sl
from facturier.web.access import Can, WebRequest, get_visible, requires, restrict_to_visible
from facturier.web.forms.common import add_service_error, with_one_more_line
from facturier.web.forms.subscriptions import (
    CurrentLineFormSet,
    NewLineFormSet,
    SubscriptionEditForm,
    add_line_error,
)

_LINE_FIELD = re.compile(r"^line\[(\d+)\](?:\.(\w+))?$")
HEADER = ("name", "sales_rep", "copy_sales_rep", "send_invoices", "payment_terms_days",
          "customer_po", "review_before_issue", "end_kind", "end_count", "end_date",
          "prorate_last")  # fmt: skip


def _sub(request: WebRequest, pk: int) -> Subscription:
    qs = restrict_to_visible(Subscription.objects.all(), request)
    return get_visible(qs.select_related("customer", "company", "sales_rep"), pk=pk)


def _users(request: WebRequest) -> QuerySet[User]:
    return User.objects.filter(membership__company=request.company, is_active=True).order_by(
        "username"
    )


def _products(request: WebRequest) -> QuerySet[Product]:
    return Product.objects.filter(company=request.company, active=True).order_by("sku")


class EditForms:
    """The three parts of the page: header, the lines as they are, the lines added."""

    def __init__(self, request: WebRequest, sub: Subscription, data: Any = None) -> None:
        self.sub = sub
        self.open_start = first_open_start(sub)
        initial = {name: getattr(sub, name) for name in HEADER}
        initial["effective"] = self.open_start
        self.form: Any = SubscriptionEditForm(data, users=_users(request), initial=initial)
        self.lines = [
            line
            for line in sub.lines.select_related("product").prefetch_related("changes")
            if line.ends_on is None or line.ends_on >= self.open_start
        ]
        current = []
        for line in self.lines:
            quantity, price = sl.values_at(
                rl.plan_line(line, line.pk), rl.plan_changes_of(line), self.open_start
            )
            current.append({"position": line.position, "quantity": quantity, "unit_price": price})
        self.current: Any = CurrentLineFormSet(data, prefix="current", initial=current)
        for form, line in zip(self.current.forms, self.lines, strict=False):
            form.line = line  # shown beside the inputs
        self.added: Any = NewLineFormSet(
            data, prefix="lines", form_kwargs={"products": _products(request)}
        )

    def valid(self) -> bool:
        return all([self.form.is_valid(), self.current.is_valid(), self.added.is_valid()])

    def edit(self) -> dict[str, Any]:
        """What `subscription_update` and the preview take."""
        current = [f for f in self.current.forms if f.is_valid()]
        return {
            "effective": self.form.cleaned_data.get("effective"),
            "add_lines": [line.line_data() for line in self.added.filled()],
            "remove_lines": [
                f.cleaned_data["position"] for f in current if f.cleaned_data["remove"]
            ],
            "line_changes": [c for f in current if (c := f.change()) is not None],
            **self.form.changes(),
        }

    def route(self, exc: ServiceError) -> None:
        """A refusal shown next to the field or line at fault."""
        name = exc.field or ""
        if name.startswith("add_lines"):
            exc.field = name.removeprefix("add_")
            if add_line_error(self.added, self.added.filled(), exc):
                return
        match = _LINE_FIELD.match(name)
        if match:
            position, field = int(match.group(1)), match.group(2) or None
            form = next(
                (f for f in self.current.forms if f.initial.get("position") == position), None
            )
            if form is not None:
                form.add_error(field if field in form.fields else None, exc.message)
                return
        if name == "remove_lines":
            self.current._non_form_errors = self.current.error_class([exc.message])
            return
        add_service_error(self.form, exc)

    def context(self) -> dict[str, Any]:
        from facturier.web.views.subscriptions import frequency_label  # (it imports this module)

        return {
            "sub": self.sub,
            "frequency": frequency_label(self.sub),
            "form": self.form,
            "current": self.current,
            "lines": self.added,
            "open_start": self.open_start,
        }


@requires(Can.MANAGE_SUBSCRIPTIONS)
def subscription_edit_view(request: WebRequest, pk: int) -> HttpResponse:
    sub = _sub(request, pk)
    if request.method != "POST":
        return _page(request, EditForms(request, sub))
    if "add_line" in request.POST:
        return _with_one_more_line(request, sub)
    forms = EditForms(request, sub, request.POST)
    if forms.valid():
        try:
            subscription_update(sub, actor=request.actor, **forms.edit())
        except ServiceError as exc:
            forms.route(exc)
        else:
            messages.success(request, _("Subscription “%(name)s” saved.") % {"name": sub.name})
            return redirect("web:subscription", pk=sub.pk)
    return _page(request, forms)


def _page(request: WebRequest, forms: EditForms) -> HttpResponse:
    return render(request, "web/subscriptions/edit.html", forms.context())


def _with_one_more_line(request: WebRequest, sub: Subscription) -> HttpResponse:
    holder: dict[str, EditForms] = {}

    def build(data: Any) -> tuple[Any, Any]:
        holder["forms"] = EditForms(request, sub, data)
        return holder["forms"].form, holder["forms"].added

    form, added = with_one_more_line(request.POST, build, limit=50)
    forms = holder["forms"]
    forms.form, forms.added = form, added
    for line in forms.current.forms:
        line.errors.clear()
    return _page(request, forms)


@requires(Can.MANAGE_SUBSCRIPTIONS)
@require_POST
def subscription_edit_preview_view(request: WebRequest, pk: int) -> HttpResponse:
    """The live preview (htmx): the next invoices as the edit would leave them."""
    sub = _sub(request, pk)
    forms = EditForms(request, sub, request.POST)
    context: dict[str, Any] = {"currency": request.company.currency, "editing": True}
    if forms.valid():
        try:
            context["items"] = subscription_edit_preview(
                sub, today=clock.company_today(request.company), **forms.edit()
            )
            edit = forms.edit()
            lines_changed = edit["add_lines"] or edit["remove_lines"] or edit["line_changes"]
            context["needs_approval"] = Can.ISSUE_INVOICES not in request.can and bool(
                lines_changed or any(i.was is not None for i in context["items"])
            )
        except ServiceError as exc:
            forms.route(exc)
    context["problems"] = _problems(forms)
    return render(request, "web/subscriptions/preview.html", context)


def _problems(forms: EditForms) -> list[str]:
    """What keeps the preview from showing, in words."""
    out = []
    for name, errors in forms.form.errors.items():
        label = forms.form.fields[name].label if name in forms.form.fields else ""
        out += [f"{label}: {e}" if label else str(e) for e in errors]
    for form in forms.current.forms:
        for errors in form.errors.values():
            out += [_("Line %(n)s: %(e)s") % {"n": form.initial.get("position"), "e": e}
                    for e in errors]  # fmt: skip
    out += [str(e) for e in forms.current.non_form_errors()]
    for i, line_errors in enumerate(forms.added.errors, start=1):
        for errors in line_errors.values():
            out += [_("New line %(n)s: %(e)s") % {"n": i, "e": e} for e in errors]
    return out
