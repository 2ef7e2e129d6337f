"""Submitted answers never change: PostgreSQL itself refuses an update of them.

New answers make a new screening. Only the review columns (who decided what,
when, and why) may change after submission.
"""

from django.db import migrations

IMMUTABLE = [
    "client_id",
    "questionnaire_version",
    "answers",
    "signature_name",
    "consented_at",
    "submitted_at",
    "outcome",
    "eligible_from",
    "reasons",
    "therapist_notes",
    "valid_until",
]

CHANGED = " OR ".join(f"NEW.{column} IS DISTINCT FROM OLD.{column}" for column in IMMUTABLE)

CREATE = f"""
CREATE FUNCTION screening_healthscreening_answers_immutable() RETURNS trigger AS $$
BEGIN
    IF {CHANGED} THEN
        RAISE EXCEPTION 'submitted health screening answers cannot be changed'
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Submit a new screening instead.';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER screening_healthscreening_answers_immutable
    BEFORE UPDATE ON screening_healthscreening
    FOR EACH ROW EXECUTE FUNCTION screening_healthscreening_answers_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS screening_healthscreening_answers_immutable ON screening_healthscreening;
DROP FUNCTION IF EXISTS screening_healthscreening_answers_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("screening", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
