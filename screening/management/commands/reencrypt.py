"""Re-encrypt every encrypted value with the newest key in SPA_ENCRYPTION_KEYS.

Key rotation: put the new key first (SPA_ENCRYPTION_KEYS=new,old), restart the
app servers (new values are then written under the new key, old ones still
read), run this, then drop the old key. It walks every encrypted column of
every model (spa_booking/encryption.py) in batches, each a short transaction
with its rows locked, so it can run while the spa is open. Values already under
the newest key are left alone, so running it again, or after an interruption,
only finishes the job. It prints counts only, never a value.
"""

from django.core.management.base import BaseCommand

from spa_booking.encryption import encrypted_columns, rewrite_stored_values, rotated


class Command(BaseCommand):
    help = "Re-encrypt stored health data with the newest key in SPA_ENCRYPTION_KEYS."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows per transaction (default 500)."
        )

    def handle(self, *args, batch_size: int, **options) -> None:
        total = 0
        for table, columns in encrypted_columns():
            changed, current = rewrite_stored_values(
                table=table, columns=columns, change=rotated, batch_size=batch_size
            )
            total += changed
            self.stdout.write(
                f"{table}: {changed} re-encrypted, {current} already under the newest key."
            )
        self.stdout.write(self.style.SUCCESS(f"Done: {total} values re-encrypted."))
