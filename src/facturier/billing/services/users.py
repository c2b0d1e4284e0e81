"""Users of a company and their roles (owner, accountant, sales, read-only).

What each role may do is the web UI's capability matrix (`facturier.web.access`), read from
the Membership. Members are never Django staff nor superusers and carry no Django
permission: the Django admin is for operators only, who have no Membership (docs/web.md,
Security)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from facturier.billing.models import Company, Membership, Role
from facturier.billing.services.audit import audit_record
from facturier.billing.services.errors import InvalidInput
from facturier.core.usernames import username_problem

USERNAME_MAX_LENGTH = User._meta.get_field("username").max_length or 150


def username_clean(username: str) -> str:
    """The username as stored (NFKC, as Django's forms do), or InvalidInput: Django's rule
    (letters, digits, @ . + - _), no space at either end, no invisible, control or bidi
    character (core/usernames.py), at most 150 characters."""
    username = User.normalize_username(username)
    if not username:
        raise InvalidInput(_("A username is required."), field="username")
    if len(username) > USERNAME_MAX_LENGTH:
        raise InvalidInput(
            _("A username has at most %(max)s characters.") % {"max": USERNAME_MAX_LENGTH},
            field="username",
        )
    problem = username_problem(username)
    if problem == "space":
        raise InvalidInput(_("A username cannot start or end with a space."), field="username")
    if problem is not None:
        raise InvalidInput(
            _("A username cannot contain invisible or control characters (%(char)s).")
            % {"char": problem},
            field="username",
        )
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="username") from exc
    return username


def password_check(password: str, user: User, *, company: Company, role: str) -> None:
    """AUTH_PASSWORD_VALIDATORS for `user` as the member it is about to be: too similar to
    the username or email, or to the company's name (billing/passwords.py), too short, too
    common, all digits: InvalidInput naming the "password" field."""
    Membership(user=user, company=company, role=role)  # cached on `user`, not saved
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="password") from exc


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
    username = username_clean(username)
    # Case aside too: "Admin" beside "admin" would pass for it in every list and audit line.
    taken = User.objects.filter(username__iexact=username).first()
    if taken is not None:
        raise InvalidInput(
            _("A user named “%(name)s” already exists.") % {"name": taken.username},
            field="username",
        )
    password_check(password, User(username=username, email=email), company=company, role=role)
    # create_user leaves is_staff and is_superuser False: a member never reaches the admin.
    user = User.objects.create_user(username=username, password=password, email=email)
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
        membership.role = new_role
        membership.save(update_fields=["role"])
    if new_active != user.is_active:
        changes["active"] = [user.is_active, new_active]
        user.is_active = new_active
    if changes:
        # Whatever the role, a member is never staff nor superuser (a database from before
        # the members_not_staff migration may still say so: corrected on the next change).
        user.is_staff = user.is_superuser = False
        user.save(update_fields=["is_staff", "is_superuser", "is_active"])
        audit_record(
            company=company,
            actor=actor,
            action="user.updated",
            object_type="user",
            object_id=user.pk,
            data={"username": username, **changes},
        )
    return user
