"""Health answers, free text, signatures and stop reasons are encrypted at rest.

The database (and so every dump and backup) holds Fernet tokens; the ORM gives
the application the plaintext; the constraints and the immutability trigger
still hold; `manage.py reencrypt` moves everything to a new key.
"""

import datetime
import json

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from appointments.models import Appointment, PreSessionCheck
from appointments.services import book_appointment
from appointments.visits import record_pre_session_check
from screening.models import HealthScreening, ScreeningDecision
from screening.services import approve_screening
from spa_booking.encryption import REENCRYPTING, DecryptionError
from tests.scheduling import NOW, at, open_spa
from tests.screenings import review_url, screen

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

TODAY = NOW.date()
TABLES = [
    "screening_healthscreening",
    "screening_screeningdecision",
    "appointments_presessioncheck",
]
# Words only the health data holds: the free text, a reason, an answer's name, the signature.
SECRETS = ["sciatic", "left shoulder", "other condition", "back_pain_under_care", "ana example"]


def stored_health_data(ana, reviewer) -> HealthScreening:
    """Ana screens with free text, a reviewer approves, her therapist stops a session."""
    screening = screen(ana, other_conditions="Sciatica since 2019", areas_to_avoid="Left shoulder")
    approve_screening(
        screening=screening,
        by=reviewer,
        note="Sciatica letter from her GP seen",
        therapist_note="No pressure near the sciatic nerve",
    )
    spa = open_spa(back_walking=True, name="Ashiatsu")
    appointment = book_appointment(
        client=ana, treatment=spa.treatment, start=at(TODAY, 11), health_unchanged=True
    )
    with time_machine.travel(appointment.starts_at - datetime.timedelta(minutes=30), tick=False):
        record_pre_session_check(
            appointment=appointment,
            by=appointment.therapist.user,
            nothing_changed=False,
            reason="Sciatica flared up on the table",
        )
    return screening


def stored_rows(table: str) -> str:
    """Every row of the table as PostgreSQL holds it: what a dump or a backup carries."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT row_to_json(t)::text FROM {table} t")
        return "\n".join(row for (row,) in cursor.fetchall())


def execute(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_database_holds_no_readable_answers_free_text_signature_or_reasons(ana, reviewer):
    stored_health_data(ana, reviewer)

    for table in TABLES:
        stored = stored_rows(table).lower()
        assert stored, table
        for secret in SECRETS:
            assert secret not in stored, (table, secret)


def test_the_application_reads_the_plaintext(ana, reviewer):
    screening = stored_health_data(ana, reviewer)

    screening = HealthScreening.objects.get(pk=screening.pk)
    assert screening.answers["other_conditions"] == "Sciatica since 2019"
    assert screening.answers["back_pain_under_care"] is False
    assert screening.signature_name == "Ana Example"
    assert "Other condition: Sciatica since 2019" in screening.reasons
    assert "Avoid: Left shoulder" in screening.therapist_notes
    assert screening.review_note == "Sciatica letter from her GP seen"
    assert screening.therapist_note == "No pressure near the sciatic nerve"
    assert [decision.note for decision in screening.decisions.all()] == [
        "Sciatica letter from her GP seen",
        "Session stopped: Sciatica flared up on the table",
    ]
    assert PreSessionCheck.objects.get().reason == "Sciatica flared up on the table"
    # Reads past the model instances decrypt too (exports read this way).
    [answers] = HealthScreening.objects.values_list("answers", flat=True)
    assert answers["areas_to_avoid"] == "Left shoulder"


def test_the_review_page_still_shows_the_answers(ana, reviewer, reviewer_http):
    screening = screen(ana, other_conditions="Sciatica since 2019", areas_to_avoid="Left hip")

    html = reviewer_http.get(review_url(screening)).content.decode()

    assert "Sciatica since 2019" in html
    assert "Left hip" in html
    assert "Other condition: Sciatica since 2019" in html


def test_the_database_still_refuses_to_change_submitted_answers(ana):
    screening = screen(ana, other_conditions="Sciatica")

    # Even the same answers: encrypted again they are new bytes, and PostgreSQL cannot
    # decrypt to tell, so only the re-encryption escape may write them.
    for change in (
        {"answers": screening.answers},
        {"signature_name": "Someone Else"},
        {"reasons": []},
    ):
        with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
            HealthScreening.objects.filter(pk=screening.pk).update(**change)


def test_re_encryption_may_rewrite_the_ciphertext_and_nothing_in_clear(ana):
    screening = screen(ana, other_conditions="Sciatica")
    execute("SELECT set_config(%s, 'on', true)", [REENCRYPTING])

    HealthScreening.objects.filter(pk=screening.pk).update(
        answers=screening.answers, signature_name=screening.signature_name
    )

    assert HealthScreening.objects.get(pk=screening.pk).answers == screening.answers
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        HealthScreening.objects.filter(pk=screening.pk).update(outcome="cleared")


# Emptiness stays visible, so the constraints that need a text keep holding


def test_a_decline_needs_a_reason_in_the_database(ana, reviewer):
    screening = screen(ana, back_pain_under_care=True)
    declined = {"review": "declined", "reviewed_by": reviewer, "reviewed_at": timezone.now()}

    with (
        pytest.raises(IntegrityError, match="screening_healthscreening_decline_has_reason"),
        transaction.atomic(),
    ):
        HealthScreening.objects.filter(pk=screening.pk).update(**declined, review_note="")

    HealthScreening.objects.filter(pk=screening.pk).update(**declined, review_note="Sciatica")
    assert HealthScreening.objects.get(pk=screening.pk).review_note == "Sciatica"


def test_a_screening_needs_a_signature_in_the_database(ana):
    signed = screen(ana)
    columns = {
        field.attname: getattr(signed, field.attname)
        for field in HealthScreening._meta.concrete_fields
        if not field.primary_key
    }

    with (
        pytest.raises(IntegrityError, match="screening_healthscreening_consented_and_signed"),
        transaction.atomic(),
    ):
        HealthScreening.objects.create(**{**columns, "signature_name": ""})

    again = HealthScreening.objects.create(**columns)
    assert HealthScreening.objects.get(pk=again.pk).signature_name == "Ana Example"


def test_a_stopped_session_needs_a_reason_in_the_database(ana):
    screen(ana)
    spa = open_spa(back_walking=True, name="Ashiatsu")
    appointment = book_appointment(
        client=ana, treatment=spa.treatment, start=at(TODAY, 11), health_unchanged=True
    )
    stopped = {"appointment": appointment, "outcome": "stopped", "recorded_by": ana.user}

    with (
        pytest.raises(IntegrityError, match="appointments_presessioncheck_stop_has_reason"),
        transaction.atomic(),
    ):
        PreSessionCheck.objects.create(**stopped, reason="")

    check = PreSessionCheck.objects.create(**stopped, reason="Dizzy")
    assert PreSessionCheck.objects.get(pk=check.pk).reason == "Dizzy"


def test_an_encrypted_column_can_only_be_asked_whether_it_is_empty(ana):
    screen(ana)

    assert HealthScreening.objects.filter(review_note="").count() == 1
    # A search would compare ciphertexts and silently find nothing: it is refused.
    with pytest.raises(FieldError):
        HealthScreening.objects.filter(review_note="Sciatica").count()
    with pytest.raises(FieldError):
        HealthScreening.objects.filter(signature_name__icontains="ana").count()
    with pytest.raises(FieldError):
        HealthScreening.objects.filter(answers__pregnant=True).count()
    assert Appointment.objects.filter(pre_session_check__reason="").count() == 0


# Key rotation


def test_reencrypt_moves_every_value_to_the_newest_key(ana, reviewer, settings, capsys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SPA_ENCRYPTION_KEYS = [old]
    screening = stored_health_data(ana, reviewer)
    before = {table: stored_rows(table) for table in TABLES}

    settings.SPA_ENCRYPTION_KEYS = [new]
    with pytest.raises(DecryptionError) as refused:
        HealthScreening.objects.get(pk=screening.pk)
    assert "sciatic" not in str(refused.value).lower()

    settings.SPA_ENCRYPTION_KEYS = [new, old]
    call_command("reencrypt", batch_size=1)
    first_run = capsys.readouterr().out
    call_command("reencrypt")
    second_run = capsys.readouterr().out

    settings.SPA_ENCRYPTION_KEYS = [new]
    screening = HealthScreening.objects.get(pk=screening.pk)
    assert screening.answers["other_conditions"] == "Sciatica since 2019"
    assert screening.signature_name == "Ana Example"
    assert screening.therapist_note == "No pressure near the sciatic nerve"
    assert [decision.note for decision in ScreeningDecision.objects.all()] == [
        "Sciatica letter from her GP seen",
        "Session stopped: Sciatica flared up on the table",
    ]
    assert PreSessionCheck.objects.get().reason == "Sciatica flared up on the table"
    assert all(stored_rows(table) != before[table] for table in TABLES)
    # The screening's answers, signature, reasons, notes, review note and therapist
    # note; two decision notes; one stop reason. Counts only, never a value.
    assert "screening_healthscreening: 6 re-encrypted, 0 already" in first_run
    assert "screening_screeningdecision: 2 re-encrypted" in first_run
    assert "appointments_presessioncheck: 1 re-encrypted" in first_run
    assert "Done: 0 values re-encrypted." in second_run
    assert "sciatic" not in (first_run + second_run).lower()


def test_json_values_round_trip_through_encryption(ana):
    screening = screen(ana, areas_to_avoid='Left "shoulder" \u00e9')

    stored = HealthScreening.objects.get(pk=screening.pk)

    assert json.dumps(stored.answers, sort_keys=True) == json.dumps(
        screening.answers, sort_keys=True
    )
    assert stored.answers["areas_to_avoid"] == 'Left "shoulder" \u00e9'
