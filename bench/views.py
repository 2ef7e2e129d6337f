from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def insert(request: HttpRequest) -> HttpResponse:
    """The floor under every write: one row into a plain table, through the same stack.

    The booking's throughput is compared with this view's, on the same server and
    database, so the ratio says how much the booking rules cost.
    """
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_insert DEFAULT VALUES")
    return HttpResponse("inserted\n", content_type="text/plain")
