"""Where the packages built on billing (payments, e-invoicing, the API and its webhooks) plug in,
without billing importing them (the import contracts in pyproject.toml).

Three kinds of hooks:

- **Domain events** (Django signals) sent by the billing services *inside the transaction of
  the change*. A receiver may only write rows (typically an outbox row, so that a webhook or a
  platform deposit happens once the change commits, and never for a change that rolled back);
  it must not do I/O. An exception in a receiver rolls the change back: keep receivers small.
  Every signal is sent with `sender=None` and the keyword arguments listed beside it.
- **Outbox handlers**: a package that writes outbox rows of its own kinds (`webhook.deliver`,
  `platform.deposit`, …) registers the function that delivers them. The worker calls it for a
  leased row of a kind starting with the registered prefix, outside any transaction; raising
  retries the row later with backoff (`worker/outbox.py`), returning ends it as sent.
- **Periodic jobs**: `fn(should_stop) -> units of work done`, run by every worker on each tick
  after the billing run and the outbox (e.g. prepare direct-debit batches, poll a platform).
  A job must be safe with several workers at once and check `should_stop` between units.

And one rule hook: **reminder holds**, `fn(invoice) -> bool`, true while a direct-debit
collection of the invoice is in progress (dunning then stops with `debit_in_collection`).

Registration happens in the AppConfig.ready() of the package, so every process (web, worker,
CLI) sees the same hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.dispatch import Signal

if TYPE_CHECKING:
    from facturier.billing.models import Invoice, OutboxMessage

# --- domain events (sent inside the change's transaction) ----------------------------------

# invoices: list[Invoice] just issued (invoices and credit notes), actor: Actor
documents_issued = Signal()
# invoice: Invoice, archive: ArchivedDocument (the PDF/XML are stored and chained)
document_archived = Signal()
# invoice: Invoice, message: OutboxMessage (the customer's copy was accepted by the server)
invoice_sent = Signal()
# payment: Payment, allocations: list[tuple[Invoice, Decimal]], actor: Actor
payment_recorded = Signal()
# payment: Payment (the one reversed), reversal: PaymentReversal, released: dict[int, Decimal]
# (invoice id -> amount released), actor: Actor
payment_reversed = Signal()
# subscription: Subscription, change: "created" | "approved" | "changed" | "edited" | "paused"
# | "resumed" | "cancelled", actor: Actor
subscription_changed = Signal()
# run: BillingRun (finished, its counts final)
billing_run_finished = Signal()


# --- outbox handlers -----------------------------------------------------------------------

OutboxHandler = Callable[["OutboxMessage"], Any]
_handlers: dict[str, OutboxHandler] = {}


def register_outbox_handler(prefix: str, handler: OutboxHandler) -> None:
    """Deliver the outbox rows whose kind starts with `prefix` (e.g. "webhook.")."""
    _handlers[prefix] = handler


def outbox_handler_for(kind: str) -> OutboxHandler | None:
    for prefix, handler in _handlers.items():
        if kind.startswith(prefix):
            return handler
    return None


# --- periodic jobs -------------------------------------------------------------------------

PeriodicJob = Callable[[Callable[[], bool]], int]
_jobs: dict[str, PeriodicJob] = {}


def register_periodic_job(name: str, job: PeriodicJob) -> None:
    """Run `job(should_stop)` on every worker tick; registering a name again replaces it."""
    _jobs[name] = job


def periodic_jobs() -> list[tuple[str, PeriodicJob]]:
    return sorted(_jobs.items())


# --- reminder holds ------------------------------------------------------------------------

ReminderHold = Callable[["Invoice"], bool]
_holds: list[ReminderHold] = []


def register_reminder_hold(hold: ReminderHold) -> None:
    """`hold(invoice)` is true while a direct-debit collection of the invoice is in progress."""
    if hold not in _holds:
        _holds.append(hold)


def debit_in_collection(invoice: Invoice) -> bool:
    return any(hold(invoice) for hold in _holds)
