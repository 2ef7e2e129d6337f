"""spa_time_zone(): the spa's time zone, for SQL that needs the spa's local date.

The back-walking age backstop (migration 0010) turns an appointment's start and
booking time into local dates inside PostgreSQL, so the database needs the zone
that Django reads from settings.TIME_ZONE (the SPA_TIME_ZONE variable). The
setting can change between deploys while the migration runs once, so the zone
is not written into the migration: it lives in one tiny SQL function that the
migration creates and a post_migrate handler (AppointmentsConfig.ready) brings
in line with the setting on every `manage.py migrate`.
"""

import re
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections

# The function's body is SQL text, so the zone is spelled into it; a zone name is
# only ever letters, digits and these few characters ("America/Port-au-Prince",
# "Etc/GMT+1"), so anything else is refused instead of quoted.
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-/]+")


def configured_time_zone() -> str:
    """The spa's zone, as settings.TIME_ZONE names it (appointments.free_times reads it too)."""
    zone = ZoneInfo(settings.TIME_ZONE).key  # refuses a zone Python does not know
    if not _ZONE_NAME.fullmatch(zone):
        raise ValueError(f"Unexpected time zone name: {zone!r}")
    return zone


def create_spa_time_zone_sql(zone: str) -> str:
    # STABLE, not IMMUTABLE: an immutable function's result may be folded into a
    # cached plan and outlive a CREATE OR REPLACE with the new zone.
    return (
        "CREATE OR REPLACE FUNCTION spa_time_zone() RETURNS text"
        f" LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT '{zone}'::text $$;"
    )


DROP_SPA_TIME_ZONE_SQL = "DROP FUNCTION IF EXISTS spa_time_zone();"


def sync_spa_time_zone(*, using: str = "default") -> bool:
    """Make spa_time_zone() return the configured zone; True if it had to change.

    Does nothing before migration 0010 has created the function (or after it is
    unapplied), and nothing when the zone is already right: post_migrate runs
    after every migrate and every test flush, so the usual call is one SELECT.
    """
    zone = configured_time_zone()
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('spa_time_zone()') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SELECT spa_time_zone()")
        if cursor.fetchone()[0] == zone:
            return False
        # PostgreSQL must know the zone too, or every back-walking booking would
        # fail at commit; this fails the migrate instead.
        cursor.execute("SELECT now() AT TIME ZONE %s", [zone])
        cursor.execute(create_spa_time_zone_sql(zone))
    return True


def sync_spa_time_zone_after_migrate(*, using: str = "default", **kwargs) -> None:
    """post_migrate receiver (connected in AppointmentsConfig.ready)."""
    sync_spa_time_zone(using=using)
