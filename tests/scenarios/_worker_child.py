"""A child process for tests/scenarios/test_workers.py: a billing run in its own OS process,
against the test database, that the parent kills with SIGKILL.

It reads DATABASE_URL, FACTURIER_DATA_DIR and DJANGO_SETTINGS_MODULE from its environment and
takes its orders as JSON in argv[1]:

- {"batch_size": n, "progress": path}: runs `billing_run(batch_size=n)` and, after each
  committed batch, appends the number of subscriptions handled so far to `progress`.
- with also {"hold_at": k, "marker": path}: inside the k-th batch, once its invoices are
  numbered but before the batch commits, writes the numbers taken to `marker` and sleeps
  until it is killed (the series lock and k - 1 committed batches behind it).

Any failure exits non-zero with the traceback on stderr; a run that completes writes
"done <issued>" at the end of `progress`. Importing this module does nothing.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

HOLD_S = 120.0


def _hold_inside_batch(orders: dict[str, Any]) -> None:
    """Wrap the billing run's issuing step so that the k-th batch stops before its commit."""
    from facturier.billing.services import billing_run as module

    original = module.invoices_issue
    calls = 0

    def issue_then_hold(ids: Any, *, actor: Any) -> Any:
        nonlocal calls
        result = original(ids, actor=actor)
        calls += 1
        if calls == orders["hold_at"]:
            marker = Path(orders["marker"])
            partial = marker.with_suffix(".part")
            partial.write_text(json.dumps(sorted(i.number for i in result.issued)))
            partial.rename(marker)  # the parent never reads a half-written marker
            time.sleep(HOLD_S)  # killed here, inside the batch transaction
            raise SystemExit("should have been killed before committing")
        return result

    module.invoices_issue = issue_then_hold


def main() -> None:
    import django

    django.setup()
    from facturier.billing.services.billing_run import billing_run

    orders = json.loads(sys.argv[1])
    if "hold_at" in orders:
        _hold_inside_batch(orders)
    progress = Path(orders["progress"])
    handled = 0

    def committed(count: int) -> None:
        nonlocal handled
        handled += count
        with progress.open("a") as out:
            out.write(f"{handled}\n")

    summary = billing_run(batch_size=orders["batch_size"], worker="doomed", progress=committed)
    with progress.open("a") as out:
        out.write(f"done {summary.issued}\n")


if __name__ == "__main__":
    main()
