"""Page benchmark: the dashboard, the invoice list and a customer's page with 10,000
customers and 100,000 issued invoices, on SQLite and PostgreSQL; p50 / p95 per page.

    .venv/bin/python bench/pages.py [--backends sqlite,postgres] [--requests 50] [--reuse]

Per backend: a database is migrated and seeded by bench/_pages_seed.py (customers through the
services, ten months of weekly billing runs by the real engine under a moved clock, then
payments: see that file), then each page is requested `--warmup` + `--requests` times
through Django's test Client by the owner, signed in, in one warm process. The figures, the
number of SQL queries of one request and its three slowest queries are written to
bench/results/pages-*.json, and the table to the "Web pages" section of docs/benchmarks.md
(between its own markers; the rest of the file is left as it is).

Like bench/billing_run.py, this process never sets Django up: seeding and measuring run in a
child process with the case's DATABASE_URL. `--reuse` keeps the seeded databases (in
`--workdir` and the PostgreSQL database `--pg-url`) and measures again without reseeding
when the seed parameters are the same (after applying the migrations added since).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import billing_run as br

SEED = br.ROOT / "bench" / "_pages_seed.py"
DOC = br.ROOT / "docs" / "benchmarks.md"
START = "<!-- bench:pages:start (written by bench/pages.py; edit outside the markers) -->"
END = "<!-- bench:pages:end -->"
DEFAULT_PG_URL = os.environ.get(
    "BENCH_PAGES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fbench_pages"
)
TARGET_P95_MS = 200

# The pages measured; "args" and "query" name objects found in the seeded database
# (bench/_pages_seed.py `_ids`).
PAGES: list[dict[str, Any]] = [
    {"name": "Dashboard", "view": "web:dashboard"},
    {"name": "Dashboard, cash expected (htmx)", "view": "web:dashboard_cash"},
    {"name": "Invoices, first page", "view": "web:invoices"},
    {"name": "Invoices, overdue", "view": "web:invoices", "query": "?overdue=on"},
    {
        "name": "Invoices, paid, page 20",
        "view": "web:invoices",
        "query": "?settlement=paid&page=20",
    },
    {"name": "Invoices, search by name", "view": "web:invoices", "query": "?q={customer_name}"},
    {"name": "Customer (10 invoices)", "view": "web:customer", "args": ["{customer}"]},
    {"name": "Customer (1,000 invoices)", "view": "web:customer", "args": ["{big_customer}"]},
    {"name": "Customers, first page", "view": "web:customers"},
    {"name": "Forecast (6 months)", "view": "web:forecast"},
]


def _child(args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(SEED), *args],
        env=br._base_env(env),
        cwd=br.ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(f"_pages_seed.py {args[0]} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _env(backend: str, workdir: Path, pg_url: str) -> dict[str, str]:
    data = workdir / f"pages-{backend}"
    data.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{data / 'facturier.sqlite3'}" if backend == "sqlite" else pg_url
    return {"FACTURIER_DATA_DIR": str(data), "DATABASE_URL": url}


def _fresh(backend: str, env: dict[str, str], pg_url: str) -> None:
    data = Path(env["FACTURIER_DATA_DIR"])
    for name in ("facturier.sqlite3", "facturier.sqlite3-wal", "facturier.sqlite3-shm"):
        (data / name).unlink(missing_ok=True)
    if backend == "postgres":
        db = urlsplit(pg_url).path.lstrip("/")
        with br._pg_admin(pg_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db}"')


def run_backend(backend: str, args: argparse.Namespace, log: Any = print) -> dict[str, Any]:
    env = _env(backend, Path(args.workdir), args.pg_url)
    stamp = Path(env["FACTURIER_DATA_DIR"]) / "seed.json"
    wanted = {"customers": args.customers, "months": args.months, "url": env["DATABASE_URL"]}
    seeded: dict[str, Any] | None = None
    if args.reuse and stamp.exists():
        previous = json.loads(stamp.read_text())
        if previous.get("params") == wanted:
            seeded = previous["seed"]
            log(f"  {backend}: reusing the database seeded on {previous['date']}")
            br._migrate(env)  # the migrations added since (e.g. new indexes)
    if seeded is None:
        log(f"  {backend}: migrating and seeding ({args.customers:,} customers, "
            f"{args.months} months of billing; a few minutes)")  # fmt: skip
        stamp.unlink(missing_ok=True)
        _fresh(backend, env, args.pg_url)
        br._migrate(env)
        seeded = _child(
            ["seed", "--customers", str(args.customers), "--months", str(args.months)],
            env,
            timeout=3600,
        )
        stamp.write_text(
            json.dumps({"params": wanted, "seed": seeded, "date": datetime.now().isoformat()})
        )
        log(f"  {backend}: seeded {seeded['invoices']:,} invoices in {seeded['seconds']} s")
    br.wait_idle(60, 25, log=log)
    code_before = br.code_state()
    measured = _child(
        [
            "measure",
            "--pages",
            json.dumps(PAGES),
            "--requests",
            str(args.requests),
            "--warmup",
            str(args.warmup),
        ],
        env,
        timeout=1800,
    )
    changed = not br._same_code(code_before, br.code_state())
    if changed:
        log(f"  {backend}: src/ changed while the pages were measured")
    return {"backend": backend, "seed": seeded, "code_changed": changed, **measured}


def markdown(results: list[dict[str, Any]], info: dict[str, Any], argv: list[str]) -> str:
    command = " ".join(["python bench/pages.py", *argv])
    lines = [
        START,
        "### Latest results",
        "",
        f"Command: `{command}`",
        "",
        br.machine_markdown(info),
    ]
    for result in results:
        seed = result["seed"]
        ids = result["ids"]
        lines.append(
            f"**{result['backend']}**: {seed['customers']:,} customers, "
            f"{seed['subscriptions']:,} subscriptions, {seed['invoices']:,} issued invoices "
            f"({seed['overdue']:,} overdue, {seed['settlement_paid']:,} paid, "
            f"{seed['settlement_partial']:,} partly paid) from {seed['billing_runs']} billing "
            f"runs between {seed['first_billing_date']} and {seed['today']}; typical customer "
            f"with {ids['customer_invoices']} invoices, largest with "
            f"{ids['big_customer_invoices']:,}."
            + (
                " **src/ changed while these pages were measured.**"
                if result["code_changed"]
                else ""
            )
            + "\n"
        )
    lines += [
        "| Backend | Page | URL | Status | SQL queries | first (ms) | requests | p50 (ms) | "
        f"p95 (ms) | max (ms) | p95 < {TARGET_P95_MS} ms |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for result in results:
        for page in result["pages"]:
            if page["status"] != 200:
                lines.append(
                    f"| {result['backend']} | {page['name']} | `{page['url']}` | "
                    f"**{page['status']}** | | | | | | | **no** (the page failed) |"
                )
                continue
            ok = "yes" if page["p95_ms"] < TARGET_P95_MS else "**no**"
            lines.append(
                f"| {result['backend']} | {page['name']} | `{page['url']}` | {page['status']} | "
                f"{page['queries']} | {page['first_ms']:.0f} | {page['requests']} | "
                f"{page['p50_ms']:.1f} | "
                f"{page['p95_ms']:.1f} | "
                f"{page['max_ms']:.1f} | {ok} |"
            )
    lines += ["", END]
    return "\n".join(lines)


def write_doc(section: str, path: Path = DOC) -> None:
    text = path.read_text()
    if START in text and END in text:
        text = text.split(START, 1)[0] + section + text.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Web pages\n\n" + section + "\n"
    path.write_text(text)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=10, help="of billing: invoices = 10 x")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per page first")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="dropped and recreated")
    parser.add_argument("--workdir", default=str(br.RESULTS_DIR / "pages"))
    parser.add_argument("--reuse", action="store_true", help="keep and reuse seeded databases")
    parser.add_argument("--no-doc", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)
    info = br.machine_info(args.pg_url)
    results, failed = [], False
    for backend in args.backends.split(","):
        if backend == "postgres":
            why = br.PostgresBackend(Path(args.workdir), args.pg_url).available()
            if why:
                print(f"  postgres: skipped: {why}")
                continue
        print(f"{backend}:")
        try:
            result = run_backend(backend, args)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"  {backend}: FAILED: {exc}")
            failed = True
            continue
        results.append(result)
        for page in result["pages"]:
            failed |= page["status"] != 200
            if page["status"] != 200:
                print(f"  {page['name']:<34} FAILED: HTTP {page['status']}")
                continue
            print(f"  {page['name']:<34} {page['queries']:>3} queries  first "
                  f"{page['first_ms']:8.0f} ms  p50 {page['p50_ms']:7.1f} ms  "
                  f"p95 {page['p95_ms']:7.1f} ms")  # fmt: skip
    br.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    raw = br.RESULTS_DIR / f"pages-{datetime.now():%Y%m%d-%H%M%S}.json"
    raw.write_text(json.dumps({"machine": info, "results": results}, indent=2, default=str))
    print(f"Raw figures: {raw.relative_to(br.ROOT)}")
    if results and not args.no_doc:
        write_doc(markdown(results, info, argv))
        print(f"Updated {DOC.relative_to(br.ROOT)}")
    if not args.reuse:
        with contextlib.suppress(Exception):
            _fresh_cleanup(args)
    return 1 if failed else 0


def _fresh_cleanup(args: argparse.Namespace) -> None:
    """Drop what was seeded (a few hundred MB) unless --reuse asked to keep it."""
    import shutil

    shutil.rmtree(Path(args.workdir), ignore_errors=True)
    if "postgres" in args.backends:
        db = urlsplit(args.pg_url).path.lstrip("/")
        with br._pg_admin(args.pg_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
