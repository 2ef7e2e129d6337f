from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Treatments, rooms and therapists"

    def ready(self) -> None:
        from .db_functions import sync_spa_time_zone_after_migrate

        # The age backstop's SQL reads the spa's time zone from spa_time_zone();
        # the setting can change between deploys, so every `migrate` brings the
        # function in line with it (see appointments/db_functions.py).
        post_migrate.connect(
            sync_spa_time_zone_after_migrate,
            sender=self,
            dispatch_uid="appointments.sync_spa_time_zone",
        )
