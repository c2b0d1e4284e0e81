"""The billing data model. Writes go through `facturier.billing.services`, reads through
`facturier.billing.selectors`; models hold fields, constraints and field-level validation only."""

from facturier.billing.models.audit import AuditEvent, ChainHead, Checkpoint
from facturier.billing.models.catalog import Product
from facturier.billing.models.company import Company, Membership, Role
from facturier.billing.models.customer import Customer, CustomerKind
from facturier.billing.models.dunning import Reminder, ReminderLevel
from facturier.billing.models.form_token import FormToken
from facturier.billing.models.invoice import (
    DocType,
    ImmutableDocumentError,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Settlement,
)
from facturier.billing.models.mail import (
    AttemptOutcome,
    DeliveryAttempt,
    EmailTemplate,
    MailboxMessage,
    RecipientField,
)
from facturier.billing.models.numbering import NumberingSeries, SeriesCounter
from facturier.billing.models.outbox import ArchivedDocument, OutboxMessage, OutboxStatus
from facturier.billing.models.payment import (
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentReversal,
    Refund,
    RefundDraw,
)
from facturier.billing.models.subscription import (
    BilledPeriod,
    BillingRun,
    EndKind,
    FrequencyUnit,
    LineMode,
    PeriodOutcome,
    RunItem,
    RunStatus,
    ScheduledChange,
    Subscription,
    SubscriptionLine,
    SubscriptionPause,
    SubscriptionStatus,
    Timing,
    UsageRecord,
)
from facturier.billing.models.throttle import ThrottleHit

__all__ = [
    "ArchivedDocument",
    "AttemptOutcome",
    "AuditEvent",
    "BilledPeriod",
    "BillingRun",
    "ChainHead",
    "Checkpoint",
    "Company",
    "Customer",
    "CustomerKind",
    "DeliveryAttempt",
    "DocType",
    "EmailTemplate",
    "EndKind",
    "FormToken",
    "FrequencyUnit",
    "ImmutableDocumentError",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "LineKind",
    "LineMode",
    "MailboxMessage",
    "Membership",
    "NumberingSeries",
    "OutboxMessage",
    "OutboxStatus",
    "Payment",
    "PaymentAllocation",
    "PaymentMethod",
    "PaymentReversal",
    "PeriodOutcome",
    "Product",
    "RecipientField",
    "Refund",
    "RefundDraw",
    "Reminder",
    "ReminderLevel",
    "Role",
    "RunItem",
    "RunStatus",
    "ScheduledChange",
    "SeriesCounter",
    "Settlement",
    "Subscription",
    "SubscriptionLine",
    "SubscriptionPause",
    "SubscriptionStatus",
    "ThrottleHit",
    "Timing",
    "UsageRecord",
]
