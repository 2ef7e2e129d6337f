"""Races on real concurrent connections: a second connection in a thread, and waiting
until it queues behind a row lock the test holds."""

import threading
import time

from django.db import connection


def wait_for_a_lock_waiter() -> None:
    """Until another connection to this database waits for a row lock."""
    for _ in range(200):
        with connection.cursor() as cursor:
            # Inside a transaction the view is read once unless told to look again.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError("Nobody waited for the lock")


def in_thread(target) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run() -> None:
        try:
            result["value"] = target()
        except Exception as error:
            result["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result
