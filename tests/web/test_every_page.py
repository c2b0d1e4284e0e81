"""Every page of the web UI declares its capability and sends strangers to the sign-in page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from facturier.billing.models import Company

# The sign-in pages themselves, reachable without an account.
PUBLIC = {"login", "logout"}
# Django's own view, for any signed-in user (a user without a company may change a password).
SIGNED_IN_ONLY = {"password_change"}


def _web_patterns() -> Iterator[tuple[str, str, Any]]:
    """(name, path with sample arguments, view) of every url in the "web" namespace."""

    def walk(
        patterns: list[Any], prefix: str, namespace: str | None
    ) -> Iterator[tuple[str, str, Any]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
            elif isinstance(p, URLPattern) and namespace == "web" and p.name:
                route = prefix + str(p.pattern)
                route = re.sub(r"<int:\w+>", "1", route)
                route = re.sub(r"<(?:str|slug):\w+>", "x", route)
                yield p.name, "/" + route, p.callback

    yield from walk(get_resolver().url_patterns, "", None)


PAGES = sorted(_web_patterns(), key=lambda item: item[0])


def test_the_walk_finds_the_pages() -> None:
    names = {name for name, _, _ in PAGES}
    assert {"dashboard", "customers", "customer", "settings", "mailbox"} <= names


@pytest.mark.parametrize(("name", "url", "view"), PAGES, ids=[p[0] for p in PAGES])
def test_each_view_declares_its_capability(name: str, url: str, view: Any) -> None:
    if name in PUBLIC | SIGNED_IN_ONLY:
        return
    assert hasattr(view, "required_capability"), f"{name} is not decorated with @requires"


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "url", "view"), PAGES, ids=[p[0] for p in PAGES])
def test_strangers_are_sent_to_sign_in(name: str, url: str, view: Any, company: Company) -> None:
    if name in PUBLIC:
        return
    for method in ("get", "post"):
        response = getattr(Client(), method)(url)
        if response.status_code == 405:  # a POST-only action refuses the GET first
            continue
        assert response.status_code == 302, (name, method)
        assert response["Location"].startswith("/login/?next="), (name, method)
