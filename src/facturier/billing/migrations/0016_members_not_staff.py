"""Members of a company are never Django staff nor superusers, and carry no Django permission.

Until now every member was staff (owners superusers) with their role's group, which opened
the Django admin across companies to any web user. The admin is for operators only, who have
no Membership (billing/admin_site.py); the role groups are no longer used and go."""

from django.conf import settings
from django.db import migrations

ROLE_GROUPS = ["owner", "accountant", "sales", "readonly"]


def members_not_staff(apps, schema_editor):
    User = apps.get_model(settings.AUTH_USER_MODEL)
    Membership = apps.get_model("billing", "Membership")
    Group = apps.get_model("auth", "Group")
    members = Membership.objects.values("user_id")
    User.objects.filter(pk__in=members).update(is_staff=False, is_superuser=False)
    User.groups.through.objects.filter(user_id__in=members).delete()
    User.user_permissions.through.objects.filter(user_id__in=members).delete()
    Group.objects.filter(name__in=ROLE_GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0015_subscription_approval"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Nothing to undo: going back leaves members without the admin, which is safe.
        migrations.RunPython(members_not_staff, migrations.RunPython.noop),
    ]
