"""Where the billing run spends its time: one in-process run under cProfile, and one run
counting the SQL queries per invoice (grouped by statement shape).

    .venv/bin/python bench/profile_billing.py --n 2000 --backend sqlite

Each phase runs in its own process on a fresh copy of the same seeded database (the
profile is not slowed by the query capture, nor the count by the profiler). The .prof file
is kept in bench/results/ (open it with `python -m pstats` or snakeviz).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import billing_run as harness

ROOT = harness.ROOT


def _billing_run(batch_size: int | None) -> tuple[Any, float]:
    from facturier.billing.models import Company
    from facturier.billing.services.billing_run import billing_run

    company = Company.objects.get()
    options: dict[str, Any] = {"batch_size": batch_size} if batch_size else {}
    started = time.perf_counter()
    summary = billing_run(company=company, worker="profile", **options)
    return summary, time.perf_counter() - started


def _verb(sql: str) -> str:
    """SELECT, INSERT…; an executemany (one round trip) is captured as "N times: UPDATE…"."""
    many = re.match(r"\s*\d+ times: (\w+)", sql)
    if many:
        return f"{many.group(1).upper()} (executemany)"
    return sql.lstrip().split(None, 1)[0].upper()


def _shape(sql: str) -> str:
    """The statement with its values taken out, so equal shapes can be counted."""
    sql = re.sub(r"^\s*\d+ times: ", "executemany: ", sql)
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(\.\d+)?\b", "?", sql)
    sql = re.sub(r"IN \((?:\?|%s)(?:, (?:\?|%s))*\)", "IN (…)", sql)
    sql = re.sub(r"VALUES \(.*\)", "VALUES (…)", sql)
    sql = re.sub(r'SELECT .*? FROM "', 'SELECT … FROM "', sql, count=1)
    return re.sub(r"\s+", " ", sql)[:140]


def child_profile(batch_size: int | None, top: int, prof_path: str) -> dict[str, Any]:
    profiler = cProfile.Profile()
    profiler.enable()
    summary, seconds = _billing_run(batch_size)
    profiler.disable()
    profiler.dump_stats(prof_path)
    out = {"issued": summary.issued, "failed": summary.failed, "seconds": round(seconds, 2)}
    stats = pstats.Stats(profiler)
    out["cumulative"] = _rows(stats, 3, top)
    out["tottime"] = _rows(stats, 2, top)
    out["facturier"] = _rows(stats, 3, top, only="/facturier/")
    buf = io.StringIO()
    pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(top)
    out["cumulative_text"] = buf.getvalue()
    return out


def _where(path: str) -> str:
    for marker in ("/src/", "/site-packages/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return os.path.basename(path)


def _rows(stats: pstats.Stats, index: int, top: int, only: str = "") -> list[dict[str, Any]]:
    """The `top` functions by cumtime (index 3) or tottime (index 2)."""
    raw = stats.stats  # type: ignore[attr-defined]
    items = [kv for kv in raw.items() if only in kv[0][0]]
    ordered = sorted(items, key=lambda kv: kv[1][index], reverse=True)[:top]
    rows = []
    for (filename, line, func), (cc, nc, tt, ct, _callers) in ordered:
        rows.append(
            {
                "function": f"{_where(filename)}:{line}({func})",
                "ncalls": nc if nc == cc else f"{nc}/{cc}",
                "tottime": round(tt, 3),
                "cumtime": round(ct, 3),
            }
        )
    return rows


def child_queries(batch_size: int | None, top: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        summary, seconds = _billing_run(batch_size)
    shapes = Counter(_shape(q["sql"]) for q in ctx.captured_queries)
    shape_time: Counter[str] = Counter()
    for q in ctx.captured_queries:
        shape_time[_shape(q["sql"])] += float(q["time"])
    issued = summary.issued or 1
    db_time = sum(float(q["time"]) for q in ctx.captured_queries)
    verbs = Counter(_verb(q["sql"]) for q in ctx.captured_queries)
    return {
        "issued": summary.issued,
        "queries": len(ctx.captured_queries),
        "per_invoice": round(len(ctx.captured_queries) / issued, 2),
        "by_verb_per_invoice": {v: round(c / issued, 2) for v, c in verbs.most_common()},
        "db_seconds": round(db_time, 2),
        "seconds": round(seconds, 2),
        "shapes": [
            {"per_invoice": round(c / issued, 3), "count": c, "seconds": shape_time[s], "sql": s}
            for s, c in shapes.most_common(top)
        ],
    }


SECTION_MODULES = (
    "facturier.billing.services.billing_run",
    "facturier.billing.services.issuing",
    "facturier.billing.services.drafts",
)


def child_sections(batch_size: int | None) -> dict[str, Any]:
    """Inclusive wall time of the engine's own functions and of the ORM's bulk writes and
    the database driver, measured with plain timers (no profiler to distort the split)."""
    import importlib
    import types

    from django.db.backends import utils as db_utils
    from django.db.models.query import QuerySet

    spent: dict[str, list[float]] = {}

    def timed(name: str, func: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                entry = spent.setdefault(name, [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - started

        return wrapper

    for module_name in SECTION_MODULES:
        module = importlib.import_module(module_name)
        for attr, value in list(vars(module).items()):
            if (
                isinstance(value, types.FunctionType)
                and value.__module__.startswith("facturier.")
                and attr != "billing_run"
            ):
                short = f"{value.__module__.rsplit('.', 1)[1]}.{value.__name__}"
                setattr(module, attr, timed(short, value))
    for cls, attr, label in (
        (QuerySet, "bulk_update", "django QuerySet.bulk_update"),
        (QuerySet, "bulk_create", "django QuerySet.bulk_create"),
        (db_utils.CursorWrapper, "execute", "database driver (execute)"),
        (db_utils.CursorWrapper, "executemany", "database driver (executemany)"),
    ):
        setattr(cls, attr, timed(label, getattr(cls, attr)))
    summary, seconds = _billing_run(batch_size)
    rows = sorted(spent.items(), key=lambda kv: kv[1][1], reverse=True)
    return {
        "issued": summary.issued,
        "seconds": round(seconds, 3),
        "sections": [
            {"name": k, "calls": int(c), "seconds": round(t, 3), "pct": round(100 * t / seconds, 1)}
            for k, (c, t) in rows
        ],
    }


def child(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("phase", choices=["profile", "queries", "sections"])
    p.add_argument("--batch-size", type=int, default=0, help="0: the billing run's default")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--prof", default="")
    args = p.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facturier.settings")
    import django

    django.setup()
    if args.phase == "profile":
        result = child_profile(args.batch_size, args.top, args.prof)
    elif args.phase == "sections":
        result = child_sections(args.batch_size)
    else:
        result = child_queries(args.batch_size, args.top)
    print(json.dumps(result))


def _run_child(env: dict[str, str], args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        env=harness._base_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(
    backend: str,
    n: int,
    prof: dict[str, Any],
    queries: dict[str, Any],
    sections: dict[str, Any],
) -> str:
    rate = sections["issued"] / sections["seconds"] if sections["seconds"] else 0
    lines = [
        f"### Profile: {backend}, N = {n:,}, 1 process, in-process `billing_run()`",
        "",
        f"Without profiler: {sections['issued']:,} invoices in {sections['seconds']:.2f} s "
        f"({rate:,.0f}/s, {1000 * sections['seconds'] / max(sections['issued'], 1):.2f} ms "
        "per invoice). Inclusive wall time per function (plain timers; nested sections "
        "overlap):",
        "",
        "| share | seconds | calls | section |",
        "|--:|--:|--:|---|",
    ]
    lines += [
        f"| {r['pct']:.0f} % | {r['seconds']:.2f} | {r['calls']:,} | `{r['name']}` |"
        for r in sections["sections"]
        if r["pct"] >= 0.5
    ]
    lines += [
        "",
        f"{prof['issued']:,} invoices in {prof['seconds']} s under cProfile; "
        f"{queries['issued']:,} in {queries['seconds']} s while capturing the queries "
        f"(no profiler): **{queries['per_invoice']} SQL queries per invoice** "
        f"({queries['queries']:,} in all, "
        + ", ".join(f"{v} {c}" for v, c in queries["by_verb_per_invoice"].items())
        + f" per invoice; {queries['db_seconds']} s inside the database driver).",
        "",
        "Top 25 by cumulative time:",
        "",
        "| cumtime (s) | tottime (s) | calls | function |",
        "|--:|--:|--:|---|",
    ]
    lines += [
        f"| {r['cumtime']:.2f} | {r['tottime']:.2f} | {r['ncalls']} | `{r['function']}` |"
        for r in prof["cumulative"]
    ]
    lines += [
        "",
        "Top 25 facturier functions by cumulative time:",
        "",
        "| cumtime (s) | tottime (s) | calls | function |",
        "|--:|--:|--:|---|",
    ]
    lines += [
        f"| {r['cumtime']:.2f} | {r['tottime']:.2f} | {r['ncalls']} | `{r['function']}` |"
        for r in prof["facturier"]
    ]
    lines += [
        "",
        "Top 15 by own time:",
        "",
        "| tottime (s) | cumtime (s) | calls | function |",
        "|--:|--:|--:|---|",
    ]
    lines += [
        f"| {r['tottime']:.2f} | {r['cumtime']:.2f} | {r['ncalls']} | `{r['function']}` |"
        for r in prof["tottime"][:15]
    ]
    lines += [
        "",
        "Queries per invoice by statement shape:",
        "",
        "| per invoice | count | time in driver (s) | statement |",
        "|--:|--:|--:|---|",
    ]
    lines += [
        f"| {s['per_invoice']:.2f} | {s['count']:,} | {s['seconds']:.2f} "
        f"| `{s['sql'].replace('|', '/')}` |"
        for s in queries["shapes"]
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--batch-size", type=int, default=0, help="0: the billing run's default")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--pg-url", default=harness.DEFAULT_PG_URL)
    args = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="facturier-profile-"))
    backend: harness.Backend = (
        harness.SQLiteBackend(workdir)
        if args.backend == "sqlite"
        else harness.PostgresBackend(workdir, args.pg_url)
    )
    if why := backend.available():
        raise SystemExit(why)
    env = backend.template_env()
    harness._migrate(env)
    harness._django(["seed", str(args.n)], env)
    backend.after_seed()
    harness.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}"
    prof_path = harness.RESULTS_DIR / f"profile-{args.backend}-{args.n}-{stamp}.prof"
    common = ["--batch-size", str(args.batch_size), "--top", str(args.top)]
    results = {}
    for phase in ("sections", "queries", "profile"):
        case = backend.case_env(phase)
        backend.before_run(case)
        extra = ["--prof", str(prof_path)] if phase == "profile" else []
        if phase == "sections":
            results[phase] = _run_child(case, [phase, "--batch-size", str(args.batch_size)])
        else:
            results[phase] = _run_child(case, [phase, *common, *extra])
        backend.drop_case(case)
    backend.drop_template()
    shutil.rmtree(workdir, ignore_errors=True)
    text = report(args.backend, args.n, results["profile"], results["queries"], results["sections"])
    batch = args.batch_size or "the billing run's default"
    head, rest = text.split("\n", 1)
    text = (
        f"{head}\n\nCode: {harness.code_label(harness.code_state())}; batch size: {batch}.\n{rest}"
    )
    (harness.RESULTS_DIR / f"profile-{args.backend}-{args.n}-{stamp}.json").write_text(
        json.dumps(results, indent=2)
    )
    print(text)
    print(results["profile"]["cumulative_text"])
    print(f"Profile: {prof_path.relative_to(ROOT)}")
    return text


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        main()
