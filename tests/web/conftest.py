"""Signed-in clients of each role, for the web UI tests (see docs/web.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import Resolver404, resolve

from facturier.billing.models import Company
from facturier.billing.services import user_create
from facturier.web.once import FIELD, once_token

PASSWORD = "Ut7!long-enough-pass"


@pytest.fixture(autouse=True)
def _english(settings: Any) -> None:
    """Pages in English: assertions on messages must not depend on the French catalog.
    A test that checks the French display asks for it (HTTP_ACCEPT_LANGUAGE="fr")."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _empty_cache() -> Any:
    """The dashboard keeps its cash chart in the cache: no test may see another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_user(company: Company) -> Callable[..., User]:
    def make(username: str, role: str, *, of: Company | None = None) -> User:
        return user_create(
            company=of or company,
            username=username,
            password=PASSWORD,
            role=role,
            email=f"{username}@example.com",
        )

    return make


class OnceClient(Client):
    """A test client that fills a create form's one-time token (web/once.py) as the page
    does, when the test posts to a view decorated with @once without giving one. A test that
    checks the tokens passes its own `once` value (or reads it from the page)."""

    def post(self, path: str, data: Any = None, *args: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and FIELD not in data:
            try:
                form = getattr(resolve(urlsplit(path).path).func, "once_form", None)
            except Resolver404:
                form = None
            user_id = self.session.get("_auth_user_id")
            if form and user_id:
                data = {**data, FIELD: once_token(int(user_id), form)}
        return super().post(path, data, *args, **kwargs)


def _client(user: User) -> Client:
    client = OnceClient()
    client.force_login(user)
    return client


@pytest.fixture
def owner(make_user: Callable[..., User]) -> User:
    return make_user("olivia", "owner")


@pytest.fixture
def accountant(make_user: Callable[..., User]) -> User:
    return make_user("alex", "accountant")


@pytest.fixture
def sales(make_user: Callable[..., User]) -> User:
    return make_user("sam", "sales")


@pytest.fixture
def readonly(make_user: Callable[..., User]) -> User:
    return make_user("rita", "readonly")


@pytest.fixture
def owner_client(owner: User) -> Client:
    return _client(owner)


@pytest.fixture
def accountant_client(accountant: User) -> Client:
    return _client(accountant)


@pytest.fixture
def sales_client(sales: User) -> Client:
    return _client(sales)


@pytest.fixture
def readonly_client(readonly: User) -> Client:
    return _client(readonly)


@pytest.fixture
def role_client(request: pytest.FixtureRequest) -> Client:
    """Parametrise indirectly with a role name: owner, accountant, sales, readonly."""
    return request.getfixturevalue(f"{request.param}_client")  # type: ignore[no-any-return]
