import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import appointments.models


def give_each_therapist_a_feed_token(apps, schema_editor):
    Therapist = apps.get_model("appointments", "Therapist")
    for therapist in Therapist.objects.filter(feed_token__isnull=True):
        therapist.feed_token = appointments.models.new_feed_token()
        therapist.save(update_fields=["feed_token"])


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0005_appointment_screening_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # A unique secret per existing therapist: add empty, fill, then require.
        migrations.AddField(
            model_name="therapist",
            name="feed_token",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(give_each_therapist_a_feed_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="therapist",
            name="feed_token",
            field=models.CharField(
                default=appointments.models.new_feed_token,
                editable=False,
                max_length=64,
                unique=True,
            ),
        ),
        migrations.AddField(
            model_name="appointment",
            name="needs_follow_up",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.CreateModel(
            name="PreSessionCheck",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("outcome", models.CharField(choices=[("done", "Checked: nothing has changed"), ("stopped", "Session stopped")], max_length=10)),
                ("reason", models.TextField(blank=True)),
                ("recorded_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("appointment", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="pre_session_check", to="appointments.appointment")),
                ("recorded_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("outcome__in", ["done", "stopped"])), name="appointments_presessioncheck_known_outcome", violation_error_message="Unknown check outcome."),
                    models.CheckConstraint(condition=models.Q(("outcome", "stopped"), ("reason", ""), _negated=True), name="appointments_presessioncheck_stop_has_reason", violation_error_message="Say why the session was stopped."),
                ],
            },
        ),
    ]
