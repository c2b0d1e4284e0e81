"""The billing data model. Writes go through `facturier.billing.services`, reads through
`facturier.billing.selectors`; models hold fields, constraints and field-level validation only."""

from facturier.billing.models.audit import AuditEvent, ChainHead
from facturier.billing.models.catalog import Product
from facturier.billing.models.company import Company, Membership, Role
from facturier.billing.models.customer import Customer, CustomerKind
from facturier.billing.models.invoice import (
    DocType,
    ImmutableDocumentError,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Settlement,
)
from facturier.billing.models.numbering import NumberingSeries, SeriesCounter
from facturier.billing.models.payment import Payment, PaymentAllocation, PaymentMethod

__all__ = [
    "AuditEvent",
    "ChainHead",
    "Company",
    "Customer",
    "CustomerKind",
    "DocType",
    "ImmutableDocumentError",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "LineKind",
    "Membership",
    "NumberingSeries",
    "Payment",
    "PaymentAllocation",
    "PaymentMethod",
    "Product",
    "Role",
    "SeriesCounter",
    "Settlement",
]
