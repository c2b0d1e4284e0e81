"""Sign-in and password-change throttling: per address and username, per address, per user
for the password form; behind trusted proxies; never an account lock (docs/web.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from facturier.billing.models import ThrottleHit
from tests.web.conftest import PASSWORD
from tests.web.test_admin import admin_mounted  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_hasher(settings: Any) -> None:
    """Dozens of sign-ins per test: a fast hash (set before the users are made)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _login(username: str, password: str, **meta: str) -> Any:
    return Client().post("/login/", {"username": username, "password": password}, **meta)


def _fail(times: int, username: str = "olivia", **meta: str) -> None:
    for _ in range(times):
        assert _login(username, "nope", **meta).status_code == 200


def test_the_error_message_tells_the_rule(owner: User) -> None:
    page = _login("olivia", "nope").content.decode()
    assert (
        "After 5 wrong passwords within 15 minutes, signing in with this username from your "
        "address is paused for up to 15 minutes." in page
    )


def test_a_throttled_address_never_locks_the_account(owner: User) -> None:
    _fail(5, REMOTE_ADDR="198.51.100.9")
    blocked = _login("olivia", PASSWORD, REMOTE_ADDR="198.51.100.9")
    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "900"
    assert b"Too many wrong passwords for this username from your address" in blocked.content
    # A new session from that address is no better: the count is in the database.
    assert _login("olivia", PASSWORD, REMOTE_ADDR="198.51.100.9").status_code == 429
    # The owner, from her own address, signs in.
    assert _login("olivia", PASSWORD, REMOTE_ADDR="203.0.113.5").status_code == 302


def test_behind_the_proxy_each_client_has_its_own_count(owner: User, settings: Any) -> None:
    settings.FACTURIER_TRUSTED_PROXIES = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    # The attacker also writes addresses of his own on the left: only the proxy's entry counts.
    attacker = {**proxy, "HTTP_X_FORWARDED_FOR": "1.1.1.1, 198.51.100.9"}
    for forged in range(5):
        forwarded = f"192.0.2.{forged}, 198.51.100.9"
        _fail(1, **{**proxy, "HTTP_X_FORWARDED_FOR": forwarded})
    assert _login("olivia", PASSWORD, **attacker).status_code == 429
    real = {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    assert _login("olivia", PASSWORD, **real).status_code == 302


def test_without_trusted_proxies_the_header_is_ignored(owner: User) -> None:
    for forged in range(5):
        _fail(1, REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{forged}")
    blocked = _login("olivia", PASSWORD, REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert blocked.status_code == 429


def test_a_garbage_header_counts_as_the_peer(owner: User, settings: Any) -> None:
    settings.FACTURIER_TRUSTED_PROXIES = 2
    for garbage in ("", "nonsense", "203.0.113.5", "999.1.1.1, 10.0.0.7", "x" * 5000):
        _fail(1, REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=garbage)
    assert _login("olivia", PASSWORD, REMOTE_ADDR="198.51.100.9").status_code == 429


def test_guessing_over_many_usernames_is_throttled_per_address(owner: User, settings: Any) -> None:
    assert settings.THROTTLE_LOGIN_PER_ADDRESS == 25
    for n in range(25):
        _fail(1, username=f"user{n}", REMOTE_ADDR="198.51.100.9")
    blocked = _login("olivia", PASSWORD, REMOTE_ADDR="198.51.100.9")
    assert blocked.status_code == 429
    assert b"Too many wrong passwords from your address: signing in" in blocked.content
    assert _login("olivia", PASSWORD, REMOTE_ADDR="203.0.113.5").status_code == 302


def test_ipv6_clients_are_counted_per_64(owner: User) -> None:
    for n in range(5):
        _fail(1, REMOTE_ADDR=f"2001:db8:1:2::{n + 1}")
    assert _login("olivia", PASSWORD, REMOTE_ADDR="2001:db8:1:2::99").status_code == 429
    assert _login("olivia", PASSWORD, REMOTE_ADDR="2001:db8:1:3::1").status_code == 302


def test_a_success_resets_the_username_count_not_the_address_count(owner: User) -> None:
    _fail(4)
    assert _login("olivia", PASSWORD).status_code == 302
    _fail(4)  # four more: still below five since the success
    assert _login("olivia", PASSWORD).status_code == 302
    # Successful sign-ins leave nothing; the 8 failures still count for the address.
    assert ThrottleHit.objects.filter(scope="login:address").count() == 8
    assert ThrottleHit.objects.filter(scope="login:address+username").count() == 0


def test_the_block_lifts_after_the_window(owner: User) -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        _fail(5)
        assert _login("olivia", PASSWORD).status_code == 429
        clock.shift(timedelta(minutes=14))
        assert _login("olivia", PASSWORD).status_code == 429
        clock.shift(timedelta(minutes=1, seconds=1))
        assert _login("olivia", PASSWORD).status_code == 302


@pytest.mark.usefixtures("admin_mounted")
def test_the_admin_sign_in_is_throttled_too(db: None) -> None:
    User.objects.create_superuser("operator", "ops@example.com", PASSWORD)
    client = Client()
    for _ in range(5):
        response = client.post("/admin/login/", {"username": "operator", "password": "nope"})
        assert response.status_code == 200
    response = client.post("/admin/login/", {"username": "operator", "password": PASSWORD})
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302  # not signed in


def _change(client: Client, old: str, new: str = "An0ther-long-pass!") -> Any:
    return client.post(
        "/password/", {"old_password": old, "new_password1": new, "new_password2": new}
    )


def test_wrong_current_passwords_are_throttled_per_user(
    owner_client: Client, owner: User, make_user: Callable[..., User]
) -> None:
    for _ in range(5):
        assert _change(owner_client, "wrong").status_code == 200
    blocked = _change(owner_client, PASSWORD)
    assert blocked.status_code == 429
    assert b"changing your password is paused for up to 15 minutes" in blocked.content
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
    # Per user: another member changes theirs.
    other = Client()
    other.force_login(make_user("bob", "sales"))
    assert _change(other, PASSWORD).status_code == 302


def test_a_right_current_password_is_not_counted(owner_client: Client, owner: User) -> None:
    for _ in range(6):  # the new password is refused, the current one was right
        assert _change(owner_client, PASSWORD, new="short").status_code == 200
    assert not ThrottleHit.objects.filter(scope="password-change").exists()
    assert _change(owner_client, PASSWORD).status_code == 302
