"""Settings (owner only): company, terms, branding, numbering, reminders, emails, users."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from facturier.billing.models import Company, EmailTemplate, NumberingSeries
from facturier.billing.services import company_update, membership_update, user_create
from facturier.billing.services.dunning import LevelData, reminder_policy, reminder_policy_set
from facturier.billing.services.errors import ServiceError
from facturier.billing.services.parties import series_update
from facturier.mail import texts
from facturier.mail.templates import email_template_reset, email_template_save, text_for
from facturier.web.access import Can, WebRequest, requires
from facturier.web.forms.common import add_service_error
from facturier.web.forms.settings import (
    BrandingForm,
    CompanyForm,
    EmailTemplateForm,
    LevelFormSet,
    MemberForm,
    SeriesForm,
    TermsForm,
    UserForm,
)
from facturier.web.once import once

TABS = [
    ("settings", gettext_lazy("Company")),
    ("settings_terms", gettext_lazy("Payment terms")),
    ("settings_branding", gettext_lazy("Branding")),
    ("settings_numbering", gettext_lazy("Numbering")),
    ("settings_reminders", gettext_lazy("Reminders")),
    ("settings_emails", gettext_lazy("Emails")),
    ("settings_users", gettext_lazy("Users and roles")),
]


def _page(request: WebRequest, template: str, tab: str, **context: Any) -> HttpResponse:
    return render(request, f"web/settings/{template}", {"tabs": TABS, "tab": tab, **context})


def _company_form_view(
    request: WebRequest, form_class: type[Any], tab: str, title: str
) -> HttpResponse:
    """One form over some of the company's fields, saved through company_update."""
    fresh = Company.objects.get(pk=request.company.pk)  # the form edits its own copy
    form = form_class(request.POST or None, request.FILES or None, instance=fresh)
    if request.method == "POST" and form.is_valid():
        try:
            company_update(
                Company.objects.get(pk=fresh.pk), actor=request.user.username,
                **form.service_fields(),
            )  # fmt: skip
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect(f"web:{tab}")
    groups = [(legend, [form[name] for name in names]) for legend, names in form_class.groups]
    return _page(request, "company.html", tab, form=form, title=title, groups=groups)


@requires(Can.MANAGE_SETTINGS)
def company_settings(request: WebRequest) -> HttpResponse:
    return _company_form_view(request, CompanyForm, "settings", _("Company identity"))


@requires(Can.MANAGE_SETTINGS)
def terms_settings(request: WebRequest) -> HttpResponse:
    return _company_form_view(request, TermsForm, "settings_terms", _("Payment terms"))


@requires(Can.MANAGE_SETTINGS)
def branding_settings(request: WebRequest) -> HttpResponse:
    return _company_form_view(request, BrandingForm, "settings_branding", _("Branding"))


@requires(Can.VIEW)
def company_logo(request: WebRequest) -> FileResponse:
    logo = request.company.logo
    if not logo:
        raise Http404(_("No logo."))
    return FileResponse(logo.open("rb"))


@requires(Can.MANAGE_SETTINGS)
def numbering_settings(request: WebRequest) -> HttpResponse:
    all_series = list(NumberingSeries.objects.filter(company=request.company).order_by("pk"))
    posted = request.POST.get("series") if request.method == "POST" else None
    rows = []
    for series in all_series:
        form = SeriesForm.for_series(series, request.POST if str(series.pk) == posted else None)
        if form.is_bound and form.is_valid():
            try:
                series_update(series, **form.cleaned_data)
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Numbering saved."))
                return redirect("web:settings_numbering")
        rows.append((series, form))
    return _page(request, "numbering.html", "settings_numbering", rows=rows)


def _levels_initial(request: WebRequest) -> list[dict[str, Any]]:
    return [
        {
            "name": lv.name, "days": lv.days, "enabled": lv.enabled,
            "attach_invoice": lv.attach_invoice, "copy_sales_rep": lv.copy_sales_rep,
            "formal_notice": lv.formal_notice,
        }
        for lv in reminder_policy(request.company)
    ]  # fmt: skip


@requires(Can.MANAGE_SETTINGS)
def reminder_settings(request: WebRequest) -> HttpResponse:
    initial = _levels_initial(request)
    formset = LevelFormSet(request.POST or None, initial=initial, prefix="levels")
    refused = ""
    if request.method == "POST" and formset.is_valid():
        kept = [
            f.cleaned_data
            for f in formset.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        # Levels are numbered in the order of their days.
        kept.sort(key=lambda d: d["days"])
        levels = [
            LevelData(
                level=i, name=d["name"], days=d["days"], enabled=d["enabled"],
                attach_invoice=d["attach_invoice"], copy_sales_rep=d["copy_sales_rep"],
                formal_notice=d["formal_notice"],
            )
            for i, d in enumerate(kept, start=1)
        ]  # fmt: skip
        try:
            reminder_policy_set(request.company, levels, by=request.actor)
        except ServiceError as exc:
            refused = exc.message  # about the policy as a whole: shown above the levels
        else:
            messages.success(request, _("Reminder policy saved."))
            return redirect("web:settings_reminders")
    return _page(request, "reminders.html", "settings_reminders", formset=formset, refused=refused)


def _template_kinds(request: WebRequest) -> list[tuple[str, str]]:
    kinds = [(name, _(kind.label)) for name, kind in texts.KINDS.items()]
    for level in reminder_policy(request.company):
        label = _("Reminder, level %(level)s (%(name)s)") % {
            "level": level.level,
            "name": level.name,
        }
        kinds.append((f"reminder.{level.level}", label))
    return kinds


@requires(Can.MANAGE_SETTINGS)
def email_settings(request: WebRequest) -> HttpResponse:
    own = set(EmailTemplate.objects.filter(company=request.company).values_list("kind", "language"))
    rows = [
        (name, label, [(lang, (name, lang) in own) for lang in texts.LANGUAGES])
        for name, label in _template_kinds(request)
    ]
    return _page(request, "emails.html", "settings_emails", rows=rows)


@requires(Can.MANAGE_SETTINGS)
def email_template_edit(request: WebRequest, kind: str, language: str) -> HttpResponse:
    if kind not in dict(_template_kinds(request)) or language not in texts.LANGUAGES:
        raise Http404(_("Unknown message."))
    current = text_for(request.company, kind, language)
    form = EmailTemplateForm(
        request.POST or None, initial={"subject": current.subject, "body": current.body}
    )
    if request.method == "POST" and form.is_valid():
        try:
            email_template_save(
                request.company, kind=kind, language=language,
                subject=form.cleaned_data["subject"], body=form.cleaned_data["body"],
                actor=request.user.username,
            )  # fmt: skip
        except ServiceError as exc:
            if exc.field in ("template", None):
                form.add_error("body", exc.message)
            else:
                add_service_error(form, exc)
        else:
            messages.success(request, _("Email wording saved."))
            return redirect("web:settings_emails")
    context = {
        "form": form,
        "kind": kind,
        "language": language,
        "label": dict(_template_kinds(request))[kind],
        "custom": current.custom and current.kind == kind,
        "placeholders": sorted(texts.kind_of(kind).placeholders),
    }
    return _page(request, "email_template.html", "settings_emails", **context)


@requires(Can.MANAGE_SETTINGS)
@require_POST
def email_template_reset_view(request: WebRequest, kind: str, language: str) -> HttpResponse:
    if email_template_reset(
        request.company, kind=kind, language=language, actor=request.user.username
    ):
        messages.success(request, _("The built-in wording is used again."))
    return redirect("web:settings_emails")


@requires(Can.MANAGE_USERS)
@once("user")  # the "Add a user" form is sent once (web/once.py)
def user_settings(request: WebRequest) -> HttpResponse:
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = user_create(
                company=request.company, username=data["username"], password=data["password1"],
                role=data["role"], email=data["email"],
            )  # fmt: skip
        except ServiceError as exc:
            if exc.field == "password":  # checked with the username, email and company
                form.add_error("password1", exc.message)
            else:
                add_service_error(form, exc)
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.username})
            return redirect("web:settings_users")
    members = (
        User.objects.filter(membership__company=request.company)
        .select_related("membership")
        .order_by("username")
    )
    rows = [
        (
            u,
            MemberForm(
                initial={"role": u.membership.role, "active": u.is_active}, prefix=str(u.pk)
            ),
        )
        for u in members
    ]
    return _page(request, "users.html", "settings_users", form=form, members=rows)


@require_POST
@requires(Can.MANAGE_USERS)
def member_update(request: WebRequest, pk: int) -> HttpResponse:
    """Change a member's role or disable their account; a refusal changes nothing.

    The member is named by id in the url: a username may hold characters a url cannot
    carry (accounts made before usernames were checked, e.g. "../x")."""
    target = User.objects.filter(pk=pk, membership__company=request.company).first()
    if target is None:
        raise Http404
    username = target.username
    form = MemberForm(request.POST, prefix=str(target.pk))
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("web:settings_users")
    try:
        membership_update(
            company=request.company, username=username, actor=request.user.username,
            role=form.cleaned_data["role"], active=form.cleaned_data["active"],
        )  # fmt: skip
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("User %(name)s updated.") % {"name": username})
    return redirect("web:settings_users")


urlpatterns = [
    path("", company_settings, name="settings"),
    path("terms/", terms_settings, name="settings_terms"),
    path("branding/", branding_settings, name="settings_branding"),
    path("logo/", company_logo, name="company_logo"),
    path("numbering/", numbering_settings, name="settings_numbering"),
    path("reminders/", reminder_settings, name="settings_reminders"),
    path("emails/", email_settings, name="settings_emails"),
    path("emails/<str:kind>/<str:language>/", email_template_edit, name="settings_email"),
    path(
        "emails/<str:kind>/<str:language>/reset/",
        email_template_reset_view,
        name="settings_email_reset",
    ),
    path("users/", user_settings, name="settings_users"),
    path("users/<int:pk>/", member_update, name="settings_member"),
]
