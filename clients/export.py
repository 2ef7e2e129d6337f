"""Everything the spa holds on a client, for the right of access (docs/PRIVACY.md).

One dictionary: the client's readable page renders it and the JSON download is it,
so the two always say the same. Health answers are read through the models (which
decrypt what is encrypted at rest), in the questionnaire version the client answered.
Times are in the spa's time zone.
"""

import datetime
import json
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from appointments.models import Appointment, Notice
from screening import rules
from screening.forms import ScreeningForm
from screening.models import HealthScreening

from .models import AccessRecord, Client, User


def client_data(client: Client, *, now: datetime.datetime | None = None) -> dict[str, Any]:
    """Everything held on `client`, newest first in each part (a fixed number of queries)."""
    client = Client.objects.select_related("user").get(pk=client.pk)
    return {
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
            for appointment in Appointment.objects.filter(client=client)
            .select_related("treatment", "therapist", "room", "pre_session_check")
            .order_by("-starts_at", "-pk")
        ],
        "health_screenings": [
            _screening(screening)
            for screening in HealthScreening.objects.filter(client=client)
            .latest_first()
            .prefetch_related("decisions__decided_by")
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
            for entry in client.waitlist_entries.select_related("treatment", "therapist")
            .prefetch_related("offers")
            .order_by("-created_at", "-pk")
        ],
        "emails": [_email(notice) for notice in _notices(client)],
        "access_record": [
            {
                "viewed_at": _local(record.viewed_at),
                "viewed_by": _viewer(record.viewed_by, client),
                "what": record.get_kind_display(),
            }
            for record in AccessRecord.objects.filter(client=client).select_related(
                "viewed_by__therapist"
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


def as_json(data: dict[str, Any]) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)


def download(data: dict[str, Any]) -> HttpResponse:
    """The JSON file of `data`: an attachment no browser or proxy keeps."""
    response = HttpResponse(as_json(data), content_type="application/json; charset=utf-8")
    day = data["exported_at"].date().isoformat()
    response["Content-Disposition"] = f'attachment; filename="spa-data-{day}.json"'
    add_never_cache_headers(response)
    return response


def _local(moment: datetime.datetime | None) -> datetime.datetime | None:
    return timezone.localtime(moment) if moment else None


def _appointment(appointment: Appointment) -> dict[str, Any]:
    check = getattr(appointment, "pre_session_check", None)
    return {
        "treatment": appointment.treatment.name,
        "therapist": appointment.therapist.display_name,
        "room": appointment.room.name,
        "starts_at": _local(appointment.starts_at),
        "ends_at": _local(appointment.ends_at),
        "status": appointment.get_status_display(),
        "booked_at": _local(appointment.created_at),
        "cancelled_at": _local(appointment.cancelled_at),
        "cancellation_reason": appointment.cancellation_reason,
        "pre_session_check": {
            "outcome": check.get_outcome_display(),
            "reason": check.reason,
            "recorded_at": _local(check.recorded_at),
        }
        if check
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


def _notices(client: Client) -> QuerySet[Notice]:
    """Every email written to `client`: about their appointments, screenings, waitlist offers
    and account, newest first.

    One indexed query per way a notice names its client, joined by UNION: an OR across the
    four would read the whole outbox (millions of rows at a chain's size).
    """
    mine = (
        Q(appointment__client=client),
        Q(screening__client=client),
        Q(waitlist_offer__entry__client=client),
        Q(user_id=client.user_id),
    )
    first, *others = (Notice.objects.filter(way).order_by() for way in mine)
    return first.union(*others).order_by("-created_at", "-pk")


def _email(notice: Notice) -> dict[str, Any]:
    # The bodies are not stored: what was sent is what the templates say for that kind.
    if notice.sent_at:
        status = "sent"
    elif notice.skipped_at:
        status = "not sent (replaced by a later email, or no longer needed)"
    elif notice.given_up_at:
        status = "not sent (the mail server refused it)"
    else:
        status = "waiting to be sent"
    return {
        "kind": notice.get_kind_display(),
        "written_at": _local(notice.created_at),
        "status": status,
        "sent_at": _local(notice.sent_at),
    }


def _viewer(user: User, client: Client) -> str:
    if user.pk == client.user_id:
        return "you"
    therapist = getattr(user, "therapist", None)
    if therapist is not None:
        return f"{therapist.display_name} (your therapist)"
    return f"{user.email} (spa staff)"
