"""Everything the spa holds on a client, for the right of access (docs/PRIVACY.md).

One dictionary: the client's readable page renders it and the JSON download is it,
so the two always say the same. The page shows the newest few of each list that grows
with the years (appointments, emails, who looked...) and says that the file holds the
rest: a regular's five years are a file to keep, not a page to scroll. Health answers
are read through the models (which decrypt what is encrypted at rest), in the
questionnaire version the client answered. Times are in the spa's time zone.
"""

import datetime
import functools
import json
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from appointments.free_times import spa_time_zone
from appointments.models import Appointment, Notice, PreSessionCheck
from screening import rules
from screening.forms import ScreeningForm
from screening.models import HealthScreening

from .models import AccessRecord, Client


def client_data(
    client: Client, *, now: datetime.datetime | None = None, newest: int | None = None
) -> dict[str, Any]:
    """Everything held on `client`, newest first in each part (a fixed number of queries).

    With `newest`, each list holds at most that many, and `older` names the lists that
    have more than that (the page; the file has everything)."""
    client = Client.objects.select_related("user").get(pk=client.pk)
    older: list[str] = []

    def cut(name: str, rows) -> list:
        """The newest `newest` of a list, noting in `older` whether there are more."""
        if newest is None:
            return list(rows)
        rows = list(rows[: newest + 1])
        if len(rows) > newest:
            older.append(name)
        return rows[:newest]

    data = {
        "exported_at": _local(now or timezone.now()),
        "spa": settings.SPA_NAME,
        "profile": {
            "full_name": client.full_name,
            "email": client.user.email,
            "phone": client.phone,
            "date_of_birth": client.date_of_birth,
            "signed_up_at": _local(client.created_at),
            "last_login_at": _local(client.user.last_login),
        },
        "date_of_birth_corrections": [
            {
                "corrected_at": _local(correction.corrected_at),
                "old_date_of_birth": correction.old_date_of_birth,
                "new_date_of_birth": correction.new_date_of_birth,
                "reason": correction.reason,
            }
            for correction in client.date_of_birth_corrections.all()
        ],
        "appointments": [
            _appointment(appointment)
            for appointment in cut(
                "appointments",
                Appointment.objects.filter(client=client)
                .order_by("-starts_at", "-pk")
                .values(*_APPOINTMENT_FIELDS),
            )
        ],
        "health_screenings": [
            _screening(screening)
            for screening in cut(
                "health_screenings",
                HealthScreening.objects.filter(client=client)
                .latest_first()
                .prefetch_related("decisions__decided_by"),
            )
        ],
        "waitlist": [
            {
                "treatment": entry.treatment.name,
                "therapist": entry.therapist.display_name if entry.therapist else "Any",
                "first_day": entry.first_day,
                "last_day": entry.last_day,
                "state": entry.get_state_display(),
                "added_at": _local(entry.created_at),
                "times_offered": [
                    {"starts_at": _local(offer.starts_at), "offered_at": _local(offer.created_at)}
                    for offer in entry.offers.all()
                ],
            }
            for entry in cut(
                "waitlist",
                client.waitlist_entries.select_related("treatment", "therapist")
                .prefetch_related("offers")
                .order_by("-created_at", "-pk"),
            )
        ],
        "emails": [_email(notice) for notice in cut("emails", _notices(client))],
        "access_record": [
            {
                "viewed_at": _local(record["viewed_at"]),
                "viewed_by": _viewer(record, client),
                "what": _label(AccessRecord.Kind, record["kind"]),
            }
            for record in cut(
                "access_record",
                AccessRecord.objects.filter(client=client).values(
                    "viewed_at",
                    "kind",
                    "viewed_by_id",
                    "viewed_by__email",
                    "viewed_by__therapist__display_name",
                ),
            )
        ],
        "erasure_requests": [
            {
                "requested_at": _local(request.requested_at),
                "state": request.get_state_display(),
                "decided_at": _local(request.decided_at),
                "refusal_reason": request.refusal_reason,
            }
            for request in client.erasure_requests.all()
        ],
    }
    if newest is not None:
        data["older"] = older
    return data


def as_json(data: dict[str, Any]) -> str:
    # One line: json's C encoder writes it (indent falls back to the pure-Python one,
    # a third of the download's time for a regular's 300 appointments).
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)


def download(data: dict[str, Any]) -> HttpResponse:
    """The JSON file of `data`: an attachment no browser or proxy keeps."""
    response = HttpResponse(as_json(data), content_type="application/json; charset=utf-8")
    day = data["exported_at"].date().isoformat()
    response["Content-Disposition"] = f'attachment; filename="spa-data-{day}.json"'
    add_never_cache_headers(response)
    return response


def _local(moment: datetime.datetime | None) -> datetime.datetime | None:
    # The spa's zone itself: timezone.localtime looks up the active one on every call,
    # and a regular's file has ten thousand moments.
    return moment.astimezone(spa_time_zone()) if moment else None


# An appointment's columns, with its treatment's, therapist's, room's and check's: read as
# values, not as five model instances a row (a regular's file has hundreds of rows).
_APPOINTMENT_FIELDS = (
    "treatment__name",
    "therapist__display_name",
    "room__name",
    "starts_at",
    "ends_at",
    "status",
    "created_at",
    "cancelled_at",
    "cancellation_reason",
    "pre_session_check__outcome",
    "pre_session_check__reason",
    "pre_session_check__recorded_at",
)


def _label(choices: type[models.TextChoices], value: str) -> str:
    """A stored choice in words, as get_FOO_display gives it."""
    return _labels(choices).get(value, value)


@functools.cache
def _labels(choices: type[models.TextChoices]) -> dict[str, str]:
    return dict(choices.choices)


def _appointment(appointment: dict[str, Any]) -> dict[str, Any]:
    outcome = appointment["pre_session_check__outcome"]
    return {
        "treatment": appointment["treatment__name"],
        "therapist": appointment["therapist__display_name"],
        "room": appointment["room__name"],
        "starts_at": _local(appointment["starts_at"]),
        "ends_at": _local(appointment["ends_at"]),
        "status": _label(Appointment.Status, appointment["status"]),
        "booked_at": _local(appointment["created_at"]),
        "cancelled_at": _local(appointment["cancelled_at"]),
        "cancellation_reason": appointment["cancellation_reason"],
        "pre_session_check": {
            "outcome": _label(PreSessionCheck.Outcome, outcome),
            "reason": appointment["pre_session_check__reason"],
            "recorded_at": _local(appointment["pre_session_check__recorded_at"]),
        }
        if outcome
        else None,
    }


def _screening(screening: HealthScreening) -> dict[str, Any]:
    return {
        "submitted_at": _local(screening.submitted_at),
        "questionnaire_version": screening.questionnaire_version,
        "answers": _answers(screening),
        "signature": screening.signature_name,
        "consented_at": _local(screening.consented_at),
        "outcome": screening.get_outcome_display(),
        "eligible_from": screening.eligible_from,
        "reasons": screening.reasons,
        "notes_for_the_therapist_from_the_answers": screening.therapist_notes,
        "valid_until": screening.valid_until,
        "review": screening.get_review_display(),
        "reviewed_at": _local(screening.reviewed_at),
        "review_note": screening.review_note,
        "note_for_the_therapist": screening.therapist_note,
        "decisions": [
            {
                "decision": decision.get_decision_display(),
                "decided_at": _local(decision.decided_at),
                "decided_by": str(decision.decided_by),
                "note": decision.note,
            }
            for decision in screening.decisions.all()
        ],
    }


def _answers(screening: HealthScreening) -> list[dict[str, Any]]:
    """Each question the client's version of the questionnaire asked, with the answer as
    they gave it (`value`) and in words (`answer`)."""
    try:
        answers = rules.answers_as_asked(screening.answers, version=screening.questionnaire_version)
    except ValueError:
        # Stored answers that no longer parse: give them as stored rather than nothing.
        stored = screening.answers
        if not isinstance(stored, dict):
            stored = {"answers": stored}
        return [
            {"question": name, "answer": str(value), "value": value}
            for name, value in stored.items()
        ]
    return [
        {
            "question": ScreeningForm.question_for(name),
            "answer": ScreeningForm.answer_text(name, value),
            "value": value,
        }
        for name, value in answers.items()
    ]


def _notices(client: Client) -> QuerySet:
    """Every email written to `client`: about their appointments, screenings, waitlist offers
    and account, newest first (each as the values _email reads).

    One indexed query per way a notice names its client, joined by UNION: an OR across the
    four would read the whole outbox (millions of rows at a chain's size).
    """
    mine = (
        Q(appointment__client=client),
        Q(screening__client=client),
        Q(waitlist_offer__entry__client=client),
        Q(user_id=client.user_id),
    )
    first, *others = (
        Notice.objects.filter(way)
        .order_by()
        .values("pk", "kind", "created_at", "sent_at", "skipped_at", "given_up_at")
        for way in mine
    )
    return first.union(*others).order_by("-created_at", "-pk")


def _email(notice: dict[str, Any]) -> dict[str, Any]:
    # The bodies are not stored: what was sent is what the templates say for that kind.
    if notice["sent_at"]:
        status = "sent"
    elif notice["skipped_at"]:
        status = "not sent (replaced by a later email, or no longer needed)"
    elif notice["given_up_at"]:
        status = "not sent (the mail server refused it)"
    else:
        status = "waiting to be sent"
    return {
        "kind": _label(Notice.Kind, notice["kind"]),
        "written_at": _local(notice["created_at"]),
        "status": status,
        "sent_at": _local(notice["sent_at"]),
    }


def _viewer(record: dict[str, Any], client: Client) -> str:
    """Who looked, from an access record's values."""
    if record["viewed_by_id"] == client.user_id:
        return "you"
    therapist = record["viewed_by__therapist__display_name"]
    if therapist is not None:
        return f"{therapist} (your therapist)"
    return f"{record['viewed_by__email']} (spa staff)"
