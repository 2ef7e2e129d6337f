"""The "Front desk" group: the staff who work the day book.

It holds what the front desk needs and nothing more: appointments.use_front_desk, which
every front desk page checks (appointments/front_desk/access.py), and the waitlist in the
admin, where the front desk adds callers and sees who waits on a day (with a client's page,
read only, for the admin's client search). Not screening.review_healthscreening: the front
desk never sees health answers.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Front desk"
PERMISSIONS = [
    ("appointments", "use_front_desk"),
    ("appointments", "view_waitlistentry"),
    ("appointments", "add_waitlistentry"),
    ("appointments", "change_waitlistentry"),
    ("clients", "view_client"),
]


def create_group(apps, schema_editor):
    # Permissions are normally made after all migrations; make these apps' now.
    for label in ("appointments", "clients"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set(
        [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in PERMISSIONS
        ]
    )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0016_working_hours_do_not_overlap"),
        ("clients", "0002_access_audit_and_erasure"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
