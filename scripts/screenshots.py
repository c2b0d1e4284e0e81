"""`make screenshots`: PNGs of the main pages of the web app, from the demo company, written
to docs/screenshots/ (desktop width, plus the dashboard at phone width).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--keep]

What it does, as a new user would: in a fresh data directory (a temporary one, removed at
the end unless --keep), `facturier manage migrate`, `facturier demo load`, `facturier billing
run`, `facturier worker --until-idle` (the PDFs), then `facturier serve --no-worker` on a
free port; Debian's Chromium (through Playwright) signs in as the demo user and takes the
pictures. The browser is French, the UI's default language.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--lang=fr-FR",  # date fields as jj/mm/aaaa, as a French user sees them
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

# (file name, URL name, how to find its argument) — the argument lookups run in `_targets`.
PAGES: list[tuple[str, str, str | None]] = [
    ("dashboard", "web:dashboard", None),
    ("customers", "web:customers", None),
    ("customer-detail", "web:customer", "customer"),
    ("subscription-form", "web:subscription_create", None),
    ("invoices", "web:invoices", None),
    ("invoice-detail", "web:invoice", "invoice"),
    ("forecast", "web:forecast", None),
    ("billing-runs", "web:runs", None),
    ("mailbox", "web:mailbox", None),
    ("settings", "web:settings", None),
]


def say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _facturier() -> list[str]:
    script = Path(sys.executable).with_name("facturier")
    return [str(script)] if script.exists() else [sys.executable, "-m", "facturier"]


def _run(args: list[str], env: dict[str, str]) -> None:
    say("$ facturier " + " ".join(args))
    subprocess.run([*_facturier(), *args], env=env, cwd=ROOT, check=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer on {url} within {timeout:.0f} s")


def _targets(env: dict[str, str]) -> dict[str, Any]:
    """The path of each page and the demo user's credentials, from a child process with
    Django set up on the demo data (this process keeps Django out: Playwright's loop would
    make it refuse database calls)."""
    code = f"""
import json, django
django.setup()
from django.urls import reverse
from facturier.billing.demo import DEMO_PASSWORD, DEMO_USER
from facturier.billing.models import Customer, Invoice
customer = Customer.objects.order_by("pk").first()
invoice = Invoice.objects.filter(status="issued", archive__isnull=False).order_by("-pk").first()
objs = {{"customer": customer.pk, "invoice": invoice.pk}}
pages = {PAGES!r}
paths = {{name: reverse(view, args=[objs[arg]] if arg else []) for name, view, arg in pages}}
print(json.dumps({{"paths": paths, "user": DEMO_USER, "password": DEMO_PASSWORD}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"could not resolve the pages' URLs:\n{out.stderr[-3000:]}")
    import json

    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _shoot(base_url: str, paths: dict[str, str], out: Path, user: str, password: str) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for label, viewport, names in (
            ("desktop", DESKTOP, list(paths)),
            ("phone", PHONE, ["dashboard"]),
        ):
            context = browser.new_context(
                base_url=base_url, viewport=viewport, locale="fr-FR", timezone_id="Europe/Paris"
            )
            page = context.new_page()
            _sign_in(page, user, password)
            for name in names:
                response = page.goto(paths[name])
                if response is None or response.status != 200:
                    status = response.status if response else "no response"
                    raise SystemExit(f"{paths[name]} answered {status}")
                _settle(page, name)
                target = out / (f"{name}.png" if label == "desktop" else f"{name}-phone.png")
                page.screenshot(path=str(target), full_page=True)
                say(f"  {target}")
            context.close()
        browser.close()


def _sign_in(page: Any, user: str, password: str) -> None:
    page.goto("/login/")
    page.locator("input[name=username]").fill(user)
    page.locator("input[name=password]").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    if "/login/" in page.url:
        raise SystemExit("signing in as the demo user failed")


def _settle(page: Any, name: str) -> None:
    """Wait for what loads after the page: htmx fragments, the charts' animation."""
    page.wait_for_load_state("networkidle")
    if name == "subscription-form":
        _fill_subscription(page)
    page.wait_for_timeout(600)  # Chart.js animates for 400 ms by default


def _fill_subscription(page: Any) -> None:
    """Pick a customer, a name and a first line, so the live preview lists the next
    invoices (the form asks the server for it after each change)."""
    form = page.locator("main form").first
    customer = form.locator("select[name=customer]")
    values = customer.locator("option").evaluate_all(
        "opts => opts.map(o => o.value).filter(v => v)"
    )
    customer.select_option(values[0])
    form.locator("input[name=name]").fill("Hébergement et maintenance")
    form.locator("select[name=frequency]").select_option("monthly")
    form.locator("input[name$='-description']").first.fill("Hébergement mensuel")
    form.locator("input[name$='-unit_price']").first.fill("49,90")
    form.locator("input[name$='-unit_price']").first.blur()
    page.locator("#preview table tbody tr").first.wait_for()
    page.wait_for_load_state("networkidle")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        say(f"{CHROMIUM} is missing: run `make browser` (or apt-get install -y chromium)")
        return 2
    data = Path(tempfile.mkdtemp(prefix="facturier-screenshots-"))
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "FACTURIER_DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "facturier.settings",
        "FACTURIER_LOG_LEVEL": "WARNING",
    }
    server = None
    try:
        _run(["manage", "migrate", "--no-input", "--verbosity", "0"], env)
        _run(["manage", "collectstatic", "--no-input", "--verbosity", "0"], env)
        _run(["demo", "load"], env)
        _run(["billing", "run", "--quiet"], env)
        _run(["worker", "--until-idle"], env)
        targets = _targets(env)
        port = _free_port()
        log = (data / "server.log").open("wb")
        server = subprocess.Popen(
            [*_facturier(), "serve", "--no-worker", "--workers", "1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        _wait_http(base_url + targets["paths"]["dashboard"], server)
        _shoot(base_url, targets["paths"], Path(args.out), targets["user"], targets["password"])
    except BaseException:
        if server is not None:
            say("server log (last lines):\n" + (data / "server.log").read_text()[-3000:])
        raise
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
            log.close()
        if args.keep:
            say(f"data directory kept: {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
