"""How long `facturier audit verify` takes on N archived documents (docs/benchmarks.md).

    FACTURIER_DATA_DIR=/tmp/bench-audit python bench/audit_verify.py 10000

Run in a fresh data directory (or with DATABASE_URL pointing at an empty database): migrates,
issues N one-line invoices through the billing run, renders and archives them all through the
outbox (as the worker does; not timed), signs a checkpoint, then times `audit_report()` (every
link of both chains, every issue and archive event, every archived file's SHA-256 read back
from the storage, the checkpoint, the stray-file walk). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facturier.settings")
    import django

    django.setup()
    from django.core.management import call_command

    import _render_seed  # they import the services: after setup

    call_command("migrate", verbosity=0)
    from facturier.billing.models import Company
    from facturier.billing.services.checkpoints import checkpoint_make
    from facturier.billing.services.verify import audit_report
    from facturier.worker.outbox import outbox_pass

    started = time.monotonic()
    _render_seed.seed(args.n, "classic")
    seeded = time.monotonic()
    while outbox_pass(batch_size=50).handled:
        pass
    rendered = time.monotonic()
    checkpoint_make(company=Company.objects.get())
    before = time.monotonic()
    report = audit_report()
    verify_s = time.monotonic() - before
    result = {
        "documents": report.documents,
        "events": report.events,
        "archived": report.archived,
        "checkpoints": report.checkpoints,
        "breaks": [str(b) for b in report.breaks],
        "stray": len(report.stray),
        "seed_s": round(seeded - started, 1),
        "render_s": round(rendered - seeded, 1),
        "verify_s": round(verify_s, 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result))
    return 0 if not report.breaks else 1


if __name__ == "__main__":
    sys.exit(main())
