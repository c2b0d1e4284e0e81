"""Sign in and out, throttling, security headers, and the permission matrix."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from facturier.billing.models import Company, Role
from facturier.web.access import ROLE_CAPABILITIES, Can
from facturier.web.nav import NAV
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_the_login_page() -> None:
    response = Client().get("/customers/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/customers/"


def test_sign_in_then_out(owner: User) -> None:
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200
    assert b'name="username"' in page.content
    response = client.post("/login/", {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_explained_and_does_not_sign_in(owner: User) -> None:
    client = Client()
    response = client.post("/login/", {"username": "olivia", "password": "nope"})
    assert response.status_code == 200
    assert b"Wrong username or password" in response.content
    assert client.get("/").status_code == 302


def test_sign_in_is_blocked_after_five_failures(owner: User) -> None:
    client = Client()
    for _ in range(5):
        client.post("/login/", {"username": "olivia", "password": "nope"})
    response = client.post("/login/", {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert client.get("/").status_code == 302
    # Another username from the same address is not blocked.
    other = User.objects.create_user("bob", password=PASSWORD)
    assert (
        Client().post("/login/", {"username": other.username, "password": PASSWORD}).status_code
        == 302
    )


def test_password_change(owner_client: Client, owner: User) -> None:
    new = "An0ther-long-pass!"
    response = owner_client.post(
        "/password/", {"old_password": "wrong", "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 200
    assert b'class="errors"' in response.content
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
    response = owner_client.post(
        "/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(new)


def test_security_headers_and_cookies(owner: User) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    cookie = response.cookies["csrftoken"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    # A form posted without its CSRF token is refused with an explanation.
    refused = client.post("/login/", {"username": "olivia", "password": PASSWORD})
    assert refused.status_code == 403
    assert b"Form expired" in refused.content


def test_session_cookie_is_httponly(owner: User) -> None:
    client = Client()
    response = client.post("/login/", {"username": "olivia", "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_a_user_without_a_company_gets_a_clear_refusal(db: None) -> None:
    user = User.objects.create_user("lonely", password=PASSWORD)
    client = Client()
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 403
    assert b"not attached to a company" in response.content


def test_the_matrix_gives_each_role_what_docs_web_md_says() -> None:
    assert ROLE_CAPABILITIES[Role.OWNER] == frozenset(Can)
    assert Can.MANAGE_SETTINGS not in ROLE_CAPABILITIES[Role.ACCOUNTANT]
    assert Can.RECORD_PAYMENTS in ROLE_CAPABILITIES[Role.ACCOUNTANT]
    assert Can.RECORD_PAYMENTS not in ROLE_CAPABILITIES[Role.SALES]
    assert Can.MANAGE_CUSTOMERS in ROLE_CAPABILITIES[Role.SALES]
    assert ROLE_CAPABILITIES[Role.READONLY] == {Can.VIEW, Can.VIEW_MAILBOX}


def test_menu_shows_only_what_the_role_may_open(
    owner_client: Client, readonly_client: Client
) -> None:
    settings_link = f'href="{reverse("web:settings")}"'.encode()
    assert settings_link in owner_client.get("/").content
    assert settings_link not in readonly_client.get("/").content


def test_every_menu_entry_resolves(company: Company) -> None:
    missing = []
    for item in NAV:
        try:
            reverse(f"web:{item.url_name}")
        except Exception:
            missing.append(item.url_name)
    assert missing == []


def test_language_switch_to_english(owner_client: Client) -> None:
    response = owner_client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    page = owner_client.get("/")
    assert b'<html lang="en">' in page.content


@pytest.mark.parametrize("new", ["Atelier-Test-2026", "ateliertest", "olivia-2026"])
def test_the_new_password_is_not_the_company_name_nor_the_username(
    owner_client: Client, owner: User, new: str
) -> None:
    response = owner_client.post(
        "/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 200
    assert b"too similar to the" in response.content
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
