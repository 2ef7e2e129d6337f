"""The "Screening reviewers" group: the only staff who see health answers and decide.

It holds exactly one permission, screening.review_healthscreening; the admin
checks that permission alone for every screening page.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Screening reviewers"


def create_group(apps, schema_editor):
    # Permissions are normally made after all migrations; make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set(
        [
            Permission.objects.get(
                content_type__app_label="screening", codename="review_healthscreening"
            )
        ]
    )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0002_answers_are_immutable"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
