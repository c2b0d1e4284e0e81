"""Who may do what: the capabilities of each role, as one table.

The same table answers for every path: the web pages (to show or hide a button), and the
billing services, which refuse a change the actor's role does not allow whatever the path
(web, command line, API, worker acting for a user). An actor without a role is the system:
the operator at the command line, or the worker acting on its own schedule.

>>> may("sales", Can.EDIT_DRAFTS), may("sales", Can.ISSUE_INVOICES)
(True, False)
>>> may(None, Can.ISSUE_CREDIT_NOTES)  # the system
True
>>> may("intruder", Can.VIEW)  # an unknown role may do nothing
False
"""

from __future__ import annotations

from enum import StrEnum


class Can(StrEnum):
    """What a role may do. Templates read them as ``can.manage_customers``, etc."""

    VIEW = "view"  # dashboard, lists and details (within the visible customers)
    MANAGE_CUSTOMERS = "manage_customers"
    MANAGE_SUBSCRIPTIONS = "manage_subscriptions"
    EDIT_DRAFTS = "edit_drafts"  # create and change draft invoices
    ISSUE_INVOICES = "issue_invoices"  # issue, send again, confirm drafts, approve subscriptions
    RECORD_PAYMENTS = "record_payments"  # record, allocate, reverse payments, refund credit
    ISSUE_CREDIT_NOTES = "issue_credit_notes"
    RUN_BILLING = "run_billing"
    EXPORT = "export"
    VIEW_MAILBOX = "view_mailbox"
    MANAGE_SETTINGS = "manage_settings"  # company, branding, numbering, reminders, templates
    MANAGE_USERS = "manage_users"


OWNER, ACCOUNTANT, SALES, READONLY = "owner", "accountant", "sales", "readonly"

# The permission matrix (docs/web.md). The owner may do everything.
ROLE_CAPABILITIES: dict[str, frozenset[Can]] = {
    OWNER: frozenset(Can),
    ACCOUNTANT: frozenset(
        {
            Can.VIEW,
            Can.MANAGE_CUSTOMERS,
            Can.MANAGE_SUBSCRIPTIONS,
            Can.EDIT_DRAFTS,
            Can.ISSUE_INVOICES,
            Can.RECORD_PAYMENTS,
            Can.ISSUE_CREDIT_NOTES,
            Can.RUN_BILLING,
            Can.EXPORT,
            Can.VIEW_MAILBOX,
        }
    ),
    SALES: frozenset({Can.VIEW, Can.MANAGE_CUSTOMERS, Can.MANAGE_SUBSCRIPTIONS, Can.EDIT_DRAFTS}),
    READONLY: frozenset({Can.VIEW, Can.VIEW_MAILBOX}),
}


def capabilities(role: str) -> frozenset[Can]:
    """The capabilities of a role; none for a role this table does not know."""
    return ROLE_CAPABILITIES.get(role, frozenset())


def may(role: str | None, capability: Can) -> bool:
    """Whether an actor with `role` may do `capability` (None: the system, which may)."""
    return role is None or capability in capabilities(role)
