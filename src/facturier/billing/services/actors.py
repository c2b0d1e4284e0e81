"""Who asks for a change, and the one check every service that moves money makes.

Every service that issues, credits, records, reverses or sends takes an :class:`Actor` and
calls :func:`actor_require` before it writes anything. The web builds the actor from the
signed-in member, the API from its key, the command line and the worker use a system actor
(the operator at the server, or the worker on its own schedule). So a rule enforced here
holds for every path, not only for the pages that hide a button (DOMAIN invariant 13).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from facturier.billing.services.errors import NotAllowed
from facturier.core.roles import Can, may

if TYPE_CHECKING:
    from facturier.billing.models import Company, Membership


class PermissionRefused(NotAllowed):
    """The actor's role does not allow the change (nothing was written)."""


@dataclass(frozen=True)
class Actor:
    """A member acting for their company (with a role), or the system (no role).

    ``name`` is what the audit trail and the documents record (``issued_by``...).
    """

    name: str
    role: str | None = None
    user_id: int | None = None
    company_id: int | None = None  # a member acts for their company only

    @classmethod
    def system(cls, name: str) -> Actor:
        """The operator at the command line, the worker, the demo loader: every right."""
        return cls(name=name)

    @classmethod
    def member(cls, membership: Membership) -> Actor:
        return cls(
            name=membership.user.get_username(),
            role=str(membership.role),
            user_id=membership.user_id,
            company_id=membership.company_id,
        )

    @property
    def is_system(self) -> bool:
        return self.role is None

    def may(self, capability: Can) -> bool:
        return may(self.role, capability)

    def __str__(self) -> str:
        return self.name


def actor_require(actor: Actor, capability: Can, *, company: Company) -> None:
    """Refuse (PermissionRefused) unless `actor` may do `capability` for `company`."""
    if actor.company_id is not None and actor.company_id != company.pk:
        raise PermissionRefused(_("You may not act for another company."))
    if not actor.may(capability):
        raise PermissionRefused(refusal(capability))


def refusal(capability: Can) -> str:
    """The message shown when a role lacks a capability."""
    messages = {
        Can.VIEW: _("You may not view this page."),
        Can.MANAGE_CUSTOMERS: _("Your role does not allow creating or changing customers."),
        Can.MANAGE_SUBSCRIPTIONS: _("Your role does not allow changing subscriptions."),
        Can.EDIT_DRAFTS: _("Your role does not allow preparing invoices."),
        Can.ISSUE_INVOICES: _("Only an owner or an accountant may issue or send invoices."),
        Can.RECORD_PAYMENTS: _("Only an owner or an accountant may record payments."),
        Can.ISSUE_CREDIT_NOTES: _("Only an owner or an accountant may issue credit notes."),
        Can.RUN_BILLING: _("Only an owner or an accountant may start a billing run."),
        Can.EXPORT: _("Only an owner or an accountant may export the accounts."),
        Can.VIEW_MAILBOX: _("Your role does not give access to the mailbox."),
        Can.MANAGE_SETTINGS: _("Only an owner may change the company settings."),
        Can.MANAGE_USERS: _("Only an owner may manage users and roles."),
    }
    return messages[capability]
