"""All writes of the billing app. Callers (CLI, web, API, worker) call these and nothing else
to change state; each function validates its input and raises a ServiceError subclass with a
clear message, leaving the database unchanged, when the input or the state is wrong."""

from facturier.billing.services.audit import audit_record
from facturier.billing.services.credit_notes import credit_note_create
from facturier.billing.services.drafts import (
    LineData,
    invoice_create,
    invoice_delete_draft,
    invoice_update_draft,
)
from facturier.billing.services.errors import (
    InvalidInput,
    MissingMentions,
    NotAllowed,
    ServiceError,
)
from facturier.billing.services.issuing import IssueResult, invoice_issue, invoices_issue
from facturier.billing.services.parties import (
    company_create,
    company_update,
    customer_create,
    customer_duplicates,
    customer_update,
    product_create,
    series_update,
)
from facturier.billing.services.payment_corrections import (
    credit_allocate,
    credit_refund,
    payment_reallocate,
    payment_reverse,
)
from facturier.billing.services.payments import payment_allocate, payment_record
from facturier.billing.services.users import membership_update, user_create
from facturier.billing.services.verify import audit_verify

__all__ = [
    "InvalidInput",
    "IssueResult",
    "LineData",
    "MissingMentions",
    "NotAllowed",
    "ServiceError",
    "audit_record",
    "audit_verify",
    "company_create",
    "company_update",
    "credit_allocate",
    "credit_note_create",
    "credit_refund",
    "customer_create",
    "customer_duplicates",
    "customer_update",
    "invoice_create",
    "invoice_delete_draft",
    "invoice_issue",
    "invoice_update_draft",
    "invoices_issue",
    "membership_update",
    "payment_allocate",
    "payment_reallocate",
    "payment_record",
    "payment_reverse",
    "product_create",
    "series_update",
    "user_create",
]
