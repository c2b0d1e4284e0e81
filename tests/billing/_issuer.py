"""A child process for tests/billing/test_numbering_concurrency.py: issues drafts of the test
database from another OS process, as a second worker or web request would.

It reads DATABASE_URL, FACTURIER_DATA_DIR and DJANGO_SETTINGS_MODULE from its environment and
takes its orders as JSON in argv[1]:

- {"mode": "issue", "ids": [...], "ready": path, "start": path, "result": path}
  connects, touches `ready`, waits for `start` to exist, then issues its drafts one by one
  (invoice_issue) and in batches of five (invoices_issue), alternately, as fast as it can, and
  writes {draft id: number} as JSON to `result`.
- {"mode": "hold", "ids": [...], "marker": path, "sleep": seconds}
  issues its drafts inside an outer transaction, writes the numbers it took to `marker` (the
  series lock is then held and nothing is committed) and sleeps until it is killed.

Any failure exits non-zero with the traceback on stderr. Importing this module does nothing
(pytest imports it to look for doctests).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

BATCH = 5
WAIT_FOR_START_S = 60.0


def _chunks(ids: list[int]) -> list[list[int]]:
    """Alternate one draft alone and a batch of BATCH drafts.

    >>> _chunks(list(range(1, 10)))
    [[1], [2, 3, 4, 5, 6], [7], [8, 9]]
    """
    chunks: list[list[int]] = []
    rest = list(ids)
    while rest:
        size = 1 if len(chunks) % 2 == 0 else BATCH
        chunks.append(rest[:size])
        rest = rest[size:]
    return chunks


def _issue(orders: dict[str, Any]) -> None:
    from django.db import connection

    from facturier.billing.models import Invoice
    from facturier.billing.services import invoice_issue, invoices_issue
    from facturier.billing.services.actors import Actor

    connection.ensure_connection()
    Path(orders["ready"]).touch()
    deadline = time.monotonic() + WAIT_FOR_START_S
    start = Path(orders["start"])
    while not start.exists():
        if time.monotonic() > deadline:
            raise SystemExit("the start signal never came")
        time.sleep(0.001)

    numbers: dict[int, str] = {}
    for chunk in _chunks(orders["ids"]):
        if len(chunk) == 1:
            invoice = invoice_issue(Invoice.objects.get(pk=chunk[0]), actor=Actor.system("worker"))
            numbers[invoice.pk] = str(invoice.number)
            continue
        result = invoices_issue(chunk, actor=Actor.system("worker"))
        if result.refused or sorted(i.pk for i in result.issued) != sorted(chunk):
            raise SystemExit(f"batch {chunk}: issued {result.issued}, refused {result.refused}")
        numbers.update({i.pk: str(i.number) for i in result.issued})
    Path(orders["result"]).write_text(json.dumps(numbers))


def _hold(orders: dict[str, Any]) -> None:
    from django.db import transaction

    from facturier.billing.services import invoices_issue
    from facturier.billing.services.actors import Actor

    with transaction.atomic():
        result = invoices_issue(orders["ids"], actor=Actor.system("doomed"))
        if result.refused or len(result.issued) != len(orders["ids"]):
            raise SystemExit(f"issued {result.issued}, refused {result.refused}")
        marker = Path(orders["marker"])
        partial = marker.with_suffix(".part")
        partial.write_text(json.dumps([i.number for i in result.issued]))
        partial.rename(marker)  # the parent never reads a half-written marker
        time.sleep(orders["sleep"])  # killed here, with the series lock held
    raise SystemExit("should have been killed before committing")


def main() -> None:
    import django

    django.setup()
    orders = json.loads(sys.argv[1])
    {"issue": _issue, "hold": _hold}[orders["mode"]](orders)


if __name__ == "__main__":
    main()
