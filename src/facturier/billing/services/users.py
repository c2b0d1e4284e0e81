"""Users, roles and their permissions (owner, accountant, sales, read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.utils.translation import gettext as _

from facturier.billing.models import Company, Membership, Role
from facturier.billing.services.audit import audit_record
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
        raise InvalidInput(
            _("Unknown role “%(role)s” (one of %(roles)s).")
            % {"role": role, "roles": ", ".join(Role.values)},
            field="role",
        )
    if User.objects.filter(username=username).exists():
        raise InvalidInput(
            _("A user named “%(name)s” already exists.") % {"name": username}, field="username"
        )
    roles_sync()
    user = User.objects.create_user(username=username, password=password, email=email)
    # Owners manage the company in the admin until the web UI lands.
    user.is_staff = True
    user.is_superuser = role == Role.OWNER
    user.save()
    user.groups.set([Group.objects.get(name=role)])
    Membership.objects.create(user=user, company=company, role=role)
    return user


@transaction.atomic
def membership_update(
    *,
    company: Company,
    username: str,
    actor: str,
    role: str | None = None,
    active: bool | None = None,
) -> User:
    """Change a member's role and/or disable (or enable again) their account.

    The company always keeps an active owner, so nobody can lock everyone out of the
    settings; a user cannot disable themselves."""
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(company=company, user__username=username)
        .first()
    )
    if membership is None:
        raise InvalidInput(
            _("No user %(name)s in this company.") % {"name": username}, field="username"
        )
    if role is not None and role not in Role.values:
        raise InvalidInput(
            _("Unknown role %(role)s (one of %(roles)s).")
            % {"role": role, "roles": ", ".join(Role.values)},
            field="role",
        )
    user = membership.user
    new_role = role if role is not None else membership.role
    new_active = active if active is not None else user.is_active
    if not new_active and username == actor:
        raise InvalidInput(_("You cannot disable your own account."), field="active")
    if membership.role == Role.OWNER and (new_role != Role.OWNER or not new_active):
        other_owners = (
            Membership.objects.select_for_update()
            .filter(company=company, role=Role.OWNER, user__is_active=True)
            .exclude(pk=membership.pk)
        )
        if not other_owners.exists():
            raise InvalidInput(
                _("The company needs at least one active owner: make someone else owner first."),
                field="role",
            )
    changes: dict[str, Any] = {}
    if new_role != membership.role:
        changes["role"] = [membership.role, new_role]
        roles_sync()
        membership.role = new_role
        membership.save(update_fields=["role"])
        user.groups.set([Group.objects.get(name=new_role)])
        user.is_superuser = new_role == Role.OWNER
    if new_active != user.is_active:
        changes["active"] = [user.is_active, new_active]
        user.is_active = new_active
    if changes:
        user.save(update_fields=["is_superuser", "is_active"])
        audit_record(
            company=company,
            actor=actor,
            action="user.updated",
            object_type="user",
            object_id=user.pk,
            data={"username": username, **changes},
        )
    return user
