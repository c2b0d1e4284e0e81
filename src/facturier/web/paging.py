"""Pagination of the long lists (customers, invoices...): a fixed page size, SQL LIMIT/OFFSET."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PER_PAGE = 50


def paginate(
    request: HttpRequest, qs: QuerySet[Any], *, per_page: int = PER_PAGE
) -> dict[str, Any]:
    """Context for ``web/includes/pagination.html``: ``page_obj`` and the query to keep."""
    page = Paginator(qs, per_page).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    encoded = params.urlencode()
    return {"page_obj": page, "query_without_page": f"{encoded}&" if encoded else ""}
