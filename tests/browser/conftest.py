"""Browser tests: Playwright's sync API driving Debian's Chromium against a live server.

Playwright never downloads a browser here: it launches `/usr/bin/chromium` (installed by
`make browser`, a prerequisite of `make test`). Without Chromium or the `playwright`
package every test of this folder is skipped, and says why.

Threads. The live server (pytest-django's `live_server`) answers from its own thread. The
test drives the browser from the test thread; while Playwright runs, that thread has a
running asyncio loop (Playwright's dispatcher lives in a greenlet of the same thread), so
Django would refuse ORM calls from it (SynchronousOnlyOperation). Hence:

- Playwright starts per test, in the `page` fixture, after the database fixtures it depends
  on, and stops before the test database is flushed;
- inside a test, database work goes through `orm(fn, ...)`, which runs it in a short-lived
  thread (its own connection, closed at the end). DJANGO_ALLOW_ASYNC_UNSAFE is not needed.
- A test requests `page` after any fixture that touches the database.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless, no sandbox (CI runs as root), and no traffic to anywhere but the live server.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
# Long enough for a cold page on a busy 2-core machine; a missing element fails in seconds.
TIMEOUT_MS = 15_000
PASSWORD = "Correct-Horse-42"

T = TypeVar("T")


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make install-dev)"
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        return f"{CHROMIUM} is missing (make browser, or apt-get install -y chromium)"
    return None


def chromium_path() -> str:
    return str(CHROMIUM) if CHROMIUM.exists() else str(shutil.which("chromium"))


def orm(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn(*args, **kwargs)` in a fresh thread (see the module docstring) and return its
    result; an exception is raised again here."""
    box: dict[str, Any] = {}

    def run() -> None:
        from django.db import connections

        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="orm")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def fr(text: str) -> str:
    """`text` as the French UI shows it (the English text until the catalog has it)."""
    from django.utils import translation

    with translation.override("fr"):
        return translation.gettext(text)


def fr_label(model: Any, field: str) -> str:
    """The French label Django gives a model field's form field (its verbose name)."""
    from django.utils import translation
    from django.utils.text import capfirst

    with translation.override("fr"):
        return str(capfirst(model._meta.get_field(field).verbose_name))


def field(scope: Any, label: str) -> Any:
    """The form field whose label is exactly `label` (a required field's label ends with a
    " *" hidden from screen readers)."""
    return scope.get_by_label(re.compile("^" + re.escape(label) + r"( \*)?$"))


def sign_in(page: Any, username: str, password: str) -> None:
    """Fill the sign-in form the page is on, and send it."""
    from django.contrib.auth.models import User

    field(page, fr_label(User, "username")).fill(username)
    field(page, fr_label(User, "password")).fill(password)
    page.get_by_role("button", name=fr("Sign in")).click()


def kpi(page: Any, label: str) -> str:
    """The value shown under a key figure's label (dashboard, customer page)."""
    box = page.locator(".kpi").filter(has=page.get_by_text(label, exact=True))
    return str(box.locator(".value").inner_text()).strip()


@pytest.fixture
def newcomer(company: Any) -> Any:
    """The company's owner, who has never signed in."""
    from facturier.billing.services import user_create

    return user_create(
        company=company, username="nina", password=PASSWORD, role="owner", email="nina@example.com"
    )


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    """What a new browser context looks like; a test overrides it (e.g. a phone viewport)."""
    return {"viewport": DESKTOP, "locale": "fr-FR", "timezone_id": "Europe/Paris"}


@pytest.fixture
def page(live_server: Any, transactional_db: None, browser_context_args: dict[str, Any]) -> Any:
    """A fresh page in a fresh Chromium, pointed at the live server (`page.base_url`)."""
    reason = browser_unavailable()
    if reason:
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url, **browser_context_args)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        try:
            yield page
        finally:
            context.close()
            browser.close()
    assert not errors, f"JavaScript errors on the pages: {errors}"


@pytest.fixture
def browser_ready() -> Iterator[None]:
    """Skips early (before any data is made) when no browser can run."""
    reason = browser_unavailable()
    if reason:
        pytest.skip(f"browser tests skipped: {reason}")
    yield
