"""The main navigation: one entry per section, shown when the user's role may see it.

To add a section, append a :class:`NavItem` here (url name in the ``web`` namespace, label,
capability). Entries whose url is not defined yet are left out of the menu.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from facturier.web.access import Can


@dataclass(frozen=True)
class NavItem:
    url_name: str  # in the "web" namespace
    label: str | Promise
    capability: Can
    section: str  # matched against the first segment of the current path


NAV: list[NavItem] = [
    NavItem("dashboard", _("Dashboard"), Can.VIEW, ""),
    NavItem("customers", _("Customers"), Can.VIEW, "customers"),
    NavItem("subscriptions", _("Subscriptions"), Can.VIEW, "subscriptions"),
    NavItem("invoices", _("Invoices"), Can.VIEW, "invoices"),
    NavItem("payments", _("Payments"), Can.VIEW, "payments"),
    NavItem("forecast", _("Forecast"), Can.VIEW, "forecast"),
    NavItem("runs", _("Billing runs"), Can.VIEW, "runs"),
    NavItem("exports", _("Exports"), Can.EXPORT, "exports"),
    NavItem("mailbox", _("Mailbox"), Can.VIEW_MAILBOX, "mailbox"),
    NavItem("settings", _("Settings"), Can.MANAGE_SETTINGS, "settings"),
]


@dataclass(frozen=True)
class NavLink:
    url: str
    label: str | Promise
    current: bool


def nav_links(path: str, can: frozenset[Can]) -> list[NavLink]:
    section = path.strip("/").split("/")[0]
    links = []
    for item in NAV:
        if item.capability not in can:
            continue
        try:
            url = reverse(f"web:{item.url_name}")
        except NoReverseMatch:
            continue
        links.append(NavLink(url, item.label, item.section == section))
    return links
