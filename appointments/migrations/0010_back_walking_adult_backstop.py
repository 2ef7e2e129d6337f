"""PostgreSQL refuses an under-18 client in an active back-walking appointment.

The booking services check the age first, with a message a person can act on
(clients/age.py). This is the backstop for a bug in them: the rule holds on every
path that writes appointments, clients or treatments, and on every app server.

The rule (appointments_appointment_back_walking_adult): an appointment that is
confirmed or pending_review, of a back-walking treatment, has a client who is 18
or older both on the appointment's local date and on the local date it was
booked (created_at: the client consents then), in the spa's time zone.

Three constraint triggers check it, each DEFERRABLE INITIALLY DEFERRED: the
services sometimes put things right later in the same transaction (a date of
birth correction, then cancelling the appointments it rules out), so the check
runs at COMMIT and re-reads the rows as they are then. A refusal is an
IntegrityError at commit, SQLSTATE 23514 (check_violation), whose message and
constraint name are appointments_appointment_back_walking_adult.
"""

from django.db import migrations

from appointments.db_functions import (
    DROP_SPA_TIME_ZONE_SQL,
    configured_time_zone,
    create_spa_time_zone_sql,
)

RULE = "appointments_appointment_back_walking_adult"

# The zone as configured when this runs; the post_migrate handler in
# appointments/apps.py replaces it whenever settings.TIME_ZONE changes later.
# Asking PostgreSQL for the zone once makes an unknown zone fail the migration,
# not every back-walking booking.
SPA_TIME_ZONE = f"""
{create_spa_time_zone_sql(configured_time_zone())}
SELECT now() AT TIME ZONE spa_time_zone();
"""

CREATE = f"""
-- Completed years on `day`, as clients/age.py counts them: someone born on
-- 29 February has their birthday on 1 March in common years, because
-- (3, 1) >= (2, 29) while (2, 28) is not.
CREATE FUNCTION spa_age_on(date_of_birth date, day date) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    RETURN extract(year FROM day)::integer - extract(year FROM date_of_birth)::integer
        - CASE
            WHEN (extract(month FROM day), extract(day FROM day))
                 >= (extract(month FROM date_of_birth), extract(day FROM date_of_birth))
            THEN 0 ELSE 1
          END;
END;
$$;

-- The rule for one appointment, read as it is now (at commit, for the deferred
-- triggers), so a row cancelled or moved later in the transaction is judged on
-- what it became.
CREATE FUNCTION {RULE}_check(appointment_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    booked record;
    refused_on text;
BEGIN
    -- FOR SHARE OF the client: a date of birth corrected by a transaction that
    -- has not committed yet makes this wait for it and then read the new date,
    -- so the two checks cannot both pass on what the other has not written.
    -- (The booking services already hold a stronger lock on the client, so for
    -- them this costs nothing.)
    SELECT a.id,
           (a.starts_at AT TIME ZONE spa_time_zone())::date AS local_day,
           (a.created_at AT TIME ZONE spa_time_zone())::date AS booked_on,
           c.date_of_birth
      INTO booked
      FROM appointments_appointment a
      JOIN appointments_treatment t ON t.id = a.treatment_id
      JOIN clients_client c ON c.id = a.client_id
     WHERE a.id = appointment_id
       AND a.status IN ('confirmed', 'pending_review')
       AND t.is_back_walking
       FOR SHARE OF c;
    IF NOT FOUND THEN
        RETURN;  -- gone, cancelled or done, or not back-walking
    END IF;
    IF spa_age_on(booked.date_of_birth, booked.local_day) < 18 THEN
        refused_on := 'on the appointment''s day, ' || booked.local_day;
    ELSIF spa_age_on(booked.date_of_birth, booked.booked_on) < 18 THEN
        refused_on := 'on the day it was booked, ' || booked.booked_on;
    ELSE
        RETURN;
    END IF;
    -- No date of birth in the message: it lands in logs and error reports.
    RAISE EXCEPTION '{RULE}: appointment % is back-walking and its client is under 18 %',
            booked.id, refused_on
        USING ERRCODE = 'check_violation',
              CONSTRAINT = '{RULE}',
              TABLE = 'appointments_appointment',
              HINT = 'Back-walking is only for clients aged 18 and over, both on the day '
                     'they book and on the day of the appointment. Cancel the appointment '
                     'or change its treatment in the same transaction.';
END;
$$;

-- An appointment written or changed.
CREATE FUNCTION {RULE}_on_appointment() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Django's save() names every column, so UPDATE OF fires on most saves;
    -- a row whose inputs to the rule are unchanged was checked when they last changed.
    IF TG_OP = 'UPDATE'
       AND (NEW.status, NEW.starts_at, NEW.created_at, NEW.client_id, NEW.treatment_id)
           IS NOT DISTINCT FROM
           (OLD.status, OLD.starts_at, OLD.created_at, OLD.client_id, OLD.treatment_id) THEN
        RETURN NULL;
    END IF;
    PERFORM {RULE}_check(NEW.id);
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER {RULE}
    AFTER INSERT OR UPDATE OF status, starts_at, created_at, client_id, treatment_id
    ON appointments_appointment
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION {RULE}_on_appointment();

-- A date of birth corrected: every upcoming active back-walking
-- appointment of the client must still pass. Past ones are history, not bookings to refuse.
CREATE FUNCTION {RULE}_on_client() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    upcoming bigint;
BEGIN
    FOR upcoming IN
        SELECT a.id
          FROM appointments_appointment a
          JOIN appointments_treatment t ON t.id = a.treatment_id
         WHERE a.client_id = NEW.id
           AND a.status IN ('confirmed', 'pending_review')
           AND a.starts_at > now()
           AND t.is_back_walking
         ORDER BY a.id
    LOOP
        PERFORM {RULE}_check(upcoming);
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER clients_client_back_walking_adult
    AFTER UPDATE OF date_of_birth ON clients_client
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.date_of_birth IS DISTINCT FROM OLD.date_of_birth)
    EXECUTE FUNCTION {RULE}_on_client();

-- A treatment made back-walking: its upcoming active appointments must pass.
CREATE FUNCTION {RULE}_on_treatment() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    upcoming bigint;
BEGIN
    -- A booking of this treatment that has not committed yet read the treatment
    -- as not back-walking and passed; this waits for such bookings (and holds
    -- new ones back for the moment of this commit), so the query below sees
    -- them. Making a treatment back-walking is rare, so the pause is acceptable.
    LOCK TABLE appointments_appointment IN SHARE MODE;
    FOR upcoming IN
        SELECT a.id
          FROM appointments_appointment a
         WHERE a.treatment_id = NEW.id
           AND a.status IN ('confirmed', 'pending_review')
           AND a.starts_at > now()
         ORDER BY a.id
    LOOP
        PERFORM {RULE}_check(upcoming);
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER appointments_treatment_back_walking_adult
    AFTER UPDATE OF is_back_walking ON appointments_treatment
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.is_back_walking AND NOT OLD.is_back_walking)
    EXECUTE FUNCTION {RULE}_on_treatment();
"""

DROP = f"""
DROP TRIGGER IF EXISTS appointments_treatment_back_walking_adult ON appointments_treatment;
DROP TRIGGER IF EXISTS clients_client_back_walking_adult ON clients_client;
DROP TRIGGER IF EXISTS {RULE} ON appointments_appointment;
DROP FUNCTION IF EXISTS {RULE}_on_treatment();
DROP FUNCTION IF EXISTS {RULE}_on_client();
DROP FUNCTION IF EXISTS {RULE}_on_appointment();
DROP FUNCTION IF EXISTS {RULE}_check(bigint);
DROP FUNCTION IF EXISTS spa_age_on(date, date);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0009_notice_screening_decision"),
        ("clients", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(SPA_TIME_ZONE, DROP_SPA_TIME_ZONE_SQL),
        migrations.RunSQL(CREATE, DROP),
    ]
