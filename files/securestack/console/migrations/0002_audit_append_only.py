"""The audit trail is append-only at the database level: UPDATE, DELETE and TRUNCATE on it raise, whoever
asks (the service's role also only gets SELECT and INSERT on it, from the securestack role)."""

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION console_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER console_audit_no_update_delete BEFORE UPDATE OR DELETE ON console_auditevent
    FOR EACH ROW EXECUTE PROCEDURE console_audit_append_only();
CREATE TRIGGER console_audit_no_truncate BEFORE TRUNCATE ON console_auditevent
    FOR EACH STATEMENT EXECUTE PROCEDURE console_audit_append_only();
"""
ALLOW = """
DROP TRIGGER IF EXISTS console_audit_no_truncate ON console_auditevent;
DROP TRIGGER IF EXISTS console_audit_no_update_delete ON console_auditevent;
DROP FUNCTION IF EXISTS console_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("console", "0001_initial")]
    operations = [migrations.RunSQL(FORBID, ALLOW)]
