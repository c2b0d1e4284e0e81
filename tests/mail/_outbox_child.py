"""A child process for tests/mail/test_worker_killed.py: a worker's delivery pass in its own
OS process, on the test database, that leases the outbox rows and then, instead of sending,
writes the Message-ID it was about to send to the file named in argv[1] and sleeps until the
parent kills it with SIGKILL. Importing this module does nothing."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

HOLD_S = 120.0


def main() -> None:
    import django

    django.setup()
    from facturier.worker import outbox

    marker = Path(sys.argv[1])

    def hold(email: Any, *, skip: frozenset[str]) -> Any:
        partial = marker.with_suffix(".part")
        partial.write_text(email.extra_headers["Message-ID"])
        partial.rename(marker)  # the parent never reads a half-written marker
        time.sleep(HOLD_S)  # killed here: leased, composed, not sent
        raise SystemExit("should have been killed before sending")

    outbox.send = hold
    outbox.outbox_deliver()


if __name__ == "__main__":
    main()
