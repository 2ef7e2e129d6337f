"""Health screenings and their decisions are never deleted: PostgreSQL refuses it.

Which screening counts is the latest one, so deleting the newest (say, one that
declared a pregnancy) would bring back an older cleared one; deleting a decision
would lose who decided what. Like the answers (0002), this holds on every path.

The one exception is erasing a whole client (the privacy request, not built
yet). That code sets, in the same transaction only,

    SET LOCAL spa.erasing_client = '<client id>';   -- or set_config(..., true)

and the triggers then let that client's screenings and decisions go, and no
one else's. It must be SET LOCAL (transaction-local): a plain SET would stay on
a pooled connection. Delete the decisions before their screenings (Django's
cascade from a screening does), since a decision is matched to its client
through its screening. TRUNCATE fires no row triggers, so test flushes still work.

HealthScreening.client becomes PROTECT: deleting a client (or the user whose
deletion cascades to the client) who has screenings is refused by Django with a
readable "protected" message, rather than reaching these triggers as an error.
ScreeningDecision.screening stays CASCADE: a screening cannot be deleted, so the
cascade only ever runs for an erasure, where it deletes the decisions first.
"""

import django.db.models.deletion
from django.db import migrations, models

ERASING = "current_setting('spa.erasing_client', true)"

CREATE = f"""
CREATE FUNCTION screening_healthscreening_never_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF {ERASING} = OLD.client_id::text THEN
        RETURN OLD;  -- the client is being erased
    END IF;
    RAISE EXCEPTION 'screening_healthscreening_never_deleted: health screening % cannot be deleted',
            OLD.id
        USING ERRCODE = 'restrict_violation',
              CONSTRAINT = 'screening_healthscreening_never_deleted',
              TABLE = 'screening_healthscreening',
              HINT = 'The latest screening is the one that counts; submit a new screening '
                     'instead. Only erasing the whole client deletes screenings.';
END;
$$;

CREATE TRIGGER screening_healthscreening_never_deleted
    BEFORE DELETE ON screening_healthscreening
    FOR EACH ROW EXECUTE FUNCTION screening_healthscreening_never_deleted();

CREATE FUNCTION screening_screeningdecision_never_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF {ERASING} = (
        SELECT s.client_id::text FROM screening_healthscreening s WHERE s.id = OLD.screening_id
    ) THEN
        RETURN OLD;  -- the client is being erased
    END IF;
    RAISE EXCEPTION
            'screening_screeningdecision_never_deleted: screening decision % cannot be deleted',
            OLD.id
        USING ERRCODE = 'restrict_violation',
              CONSTRAINT = 'screening_screeningdecision_never_deleted',
              TABLE = 'screening_screeningdecision',
              HINT = 'Decisions are the record of who decided what. Only erasing the whole '
                     'client deletes them.';
END;
$$;

CREATE TRIGGER screening_screeningdecision_never_deleted
    BEFORE DELETE ON screening_screeningdecision
    FOR EACH ROW EXECUTE FUNCTION screening_screeningdecision_never_deleted();
"""

DROP = """
DROP TRIGGER IF EXISTS screening_screeningdecision_never_deleted ON screening_screeningdecision;
DROP FUNCTION IF EXISTS screening_screeningdecision_never_deleted();
DROP TRIGGER IF EXISTS screening_healthscreening_never_deleted ON screening_healthscreening;
DROP FUNCTION IF EXISTS screening_healthscreening_never_deleted();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0001_initial"),
        ("screening", "0006_doctors_note_and_note_can_clear"),
    ]

    operations = [
        migrations.AlterField(
            model_name="healthscreening",
            name="client",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="screenings",
                to="clients.client",
            ),
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
