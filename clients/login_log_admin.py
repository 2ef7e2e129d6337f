"""django-axes' admin lists, at a chain's size (issue 14).

Its log of log-ins (`AccessLog`) has a row for every log-in: hundreds of thousands in a
month at a chain, however often `axes_reset_logs` trims it. Its own admin lists count
the whole log, offer "Show counts", list every distinct path as a filter and search four
columns with `icontains`, each of which reads the whole table. The same lists here go
through spa_booking.admin_lists.LongListMixin and the indexes of migration clients 0006:
newest first, filtered by time, searched by user name or address.
"""

from axes import admin as axes_admin  # registers axes' own first, so ours replace them
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin

from spa_booking.admin_lists import LongListMixin


def _without_paths(filters: list) -> list:
    """axes' filters but the path's, whose choices are every distinct path in the table."""
    return [each for each in filters if each != "path_info"]


# What can be searched: a user name or an address, through its trigram index. The user
# agent and the path are shown, not searched (no index would serve a search of them).
SEARCHED = ["username", "ip_address"]


class AccessLogAdmin(LongListMixin, axes_admin.AccessLogAdmin):
    # Newest first, by id (axes' models have no ordering: Django's admin lists by -pk),
    # which the primary key serves; sorting by the time goes through its index.
    list_filter = _without_paths(axes_admin.AccessLogAdmin.list_filter)
    search_fields = SEARCHED
    search_help_text = "A user name or an address, or part of one (three characters or more)."
    # Fewer than three characters is a read of every log-in of the month, which no
    # trigram index can shorten (spa_booking.admin_lists.LongListMixin).
    search_min_length = 3
    sortable_by = ["attempt_time"]


class AccessFailureLogAdmin(LongListMixin, axes_admin.AccessFailureLogAdmin):
    list_filter = _without_paths(axes_admin.AccessFailureLogAdmin.list_filter)
    search_fields = SEARCHED
    search_help_text = AccessLogAdmin.search_help_text
    search_min_length = AccessLogAdmin.search_min_length
    sortable_by = ["attempt_time"]


class AccessAttemptAdmin(LongListMixin, axes_admin.AccessAttemptAdmin):
    # Current failures only (a successful log-in or axes_reset_failure_logs clears
    # them): a short table, but the same list as the logs'.
    list_filter = _without_paths(axes_admin.AccessAttemptAdmin.list_filter)
    search_fields = SEARCHED
    search_help_text = AccessLogAdmin.search_help_text
    sortable_by = ["attempt_time"]


for model, model_admin in (
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
    (AccessAttempt, AccessAttemptAdmin),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
        admin.site.register(model, model_admin)
