"""What every page's template can read: the user's company, capabilities and menu."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from facturier.web.access import attach
from facturier.web.nav import nav_links


def web(request: HttpRequest) -> dict[str, Any]:
    member = attach(request)
    if member is None:
        return {"nav": [], "can": {}}
    return {
        "company": member.company,
        "membership": member.membership,
        # {"manage_customers": True, ...}: templates test {% if can.manage_customers %}.
        "can": {c.value: True for c in member.can},
        "nav": nav_links(request.path, member.can),
    }
