from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

# The floor's table: one row per request, behind an exclusion constraint like the
# appointments' (a time range that must not overlap another row's for the same key).
TABLE = """
CREATE TABLE IF NOT EXISTS bench_scale_insert (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL,
    during tstzrange NOT NULL
        DEFAULT tstzrange(clock_timestamp(), clock_timestamp() + '1 microsecond'),
    EXCLUDE USING gist (user_id WITH =, during WITH &&)
)
"""


def create_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(TABLE)


@csrf_exempt
@require_POST
@login_required
def insert(request: HttpRequest) -> HttpResponse:
    """The issue's yardstick for the booking POST: a minimal logged-in Django view that
    inserts one row into a table with an exclusion constraint, through the same middleware."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_scale_insert (user_id) VALUES (%s)", [request.user.pk])
    return HttpResponse("inserted\n", content_type="text/plain")
