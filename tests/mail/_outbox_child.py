"""A child process for tests/mail/test_worker_killed.py: a worker's delivery pass in its own
OS process, on the test database, killed by the parent with SIGKILL at a chosen moment.

argv[1] names a marker file, argv[2] the moment:

- "before": the pass leases the rows, records the attempt, then, instead of sending, writes
  the Message-ID it was about to send to the marker and sleeps until it is killed;
- "after": the pass sends the message for real, and once the server has accepted it (before
  the outcome is recorded), writes the Message-ID to the marker and sleeps until killed.

Importing this module does nothing.
"""

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

    marker, moment = Path(sys.argv[1]), sys.argv[2]
    real_send = outbox.send

    def hold(email: Any) -> None:
        partial = marker.with_suffix(".part")
        partial.write_text(email.extra_headers["Message-ID"])
        partial.rename(marker)  # the parent never reads a half-written marker
        time.sleep(HOLD_S)  # killed here
        raise SystemExit("should have been killed")

    def send(email: Any, *, skip: frozenset[str], on_sent: Any) -> Any:
        if moment == "before":
            hold(email)  # leased, composed, the attempt recorded: not sent
        return real_send(email, skip=skip, on_sent=lambda outcomes: hold(email))

    outbox.send = send
    outbox.outbox_deliver()


if __name__ == "__main__":
    main()
