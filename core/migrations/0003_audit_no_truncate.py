"""TRUNCATE skips row triggers, so the append-only audit log also needs a statement-level one.

Test databases are emptied with TRUNCATE after each transactional test; they connect with
core.allow_audit_truncate=on (test settings), which this trigger honours. Nothing else sets it.
"""

from django.db import migrations

NO_TRUNCATE_SQL = """
CREATE OR REPLACE FUNCTION core_auditevent_no_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('core.allow_audit_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'core_auditevent is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditevent_no_truncate BEFORE TRUNCATE ON core_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_no_truncate();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent;
DROP FUNCTION IF EXISTS core_auditevent_no_truncate();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NO_TRUNCATE_SQL)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_roles_and_append_only_audit")]

    operations = [migrations.RunPython(add_trigger, drop_trigger)]
