"""Users, roles and their permissions (owner, accountant, sales, read-only)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

from facturier.billing.models import Company, Membership, Role
from facturier.billing.services.errors import InvalidInput

_MODELS = ["company", "customer", "product", "invoice", "invoiceline", "payment"]
_MODELS += ["paymentallocation", "numberingseries", "auditevent"]

# What each role may do, as Django permission codenames on the billing app.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.OWNER: {f"{a}_{m}" for a in ("view", "add", "change", "delete") for m in _MODELS},
    Role.ACCOUNTANT: {f"view_{m}" for m in _MODELS}
    | {"add_invoice", "change_invoice", "add_payment", "add_paymentallocation"}
    | {"add_customer", "change_customer"},
    Role.SALES: {f"view_{m}" for m in ("customer", "product", "invoice", "invoiceline", "payment")}
    | {"add_customer", "change_customer", "add_invoice", "change_invoice"},
    Role.READONLY: {f"view_{m}" for m in _MODELS},
}


def roles_sync() -> None:
    """Create or update one group per role with exactly its permissions (idempotent)."""
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=str(role))
        perms = Permission.objects.filter(content_type__app_label="billing", codename__in=codenames)
        group.permissions.set(perms)


@transaction.atomic
def user_create(
    *, company: Company, username: str, password: str, role: str, email: str = ""
) -> User:
    if role not in Role.values:
        raise InvalidInput(f"unknown role '{role}' (one of {', '.join(Role.values)})", field="role")
    if User.objects.filter(username=username).exists():
        raise InvalidInput(f"user '{username}' already exists", field="username")
    roles_sync()
    user = User.objects.create_user(username=username, password=password, email=email)
    # Owners manage the company in the admin until the web UI lands.
    user.is_staff = True
    user.is_superuser = role == Role.OWNER
    user.save()
    user.groups.set([Group.objects.get(name=role)])
    Membership.objects.create(user=user, company=company, role=role)
    return user
