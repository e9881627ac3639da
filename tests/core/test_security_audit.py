"""The audit log cannot be emptied with TRUNCATE, which skips the row triggers refusing UPDATE and DELETE."""

import pytest
from django.db import DatabaseError, connection, transaction

from core.models import AuditEvent
from core.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "statement", ["TRUNCATE core_auditevent", "TRUNCATE auth_user, core_auditevent CASCADE"]
)
def test_postgres_refuses_truncate_and_the_rows_remain(researcher, postgres_only, statement):
    audit_record(action="export.download", actor=researcher)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # What every connection outside the test suite has (the test settings switch it on for flushes).
        cursor.execute("SET LOCAL core.allow_audit_truncate = 'off'")
        # Run the test transaction's deferred foreign-key checks now: TRUNCATE refuses to run before them.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement)
    assert AuditEvent.objects.filter(action="export.download").count() == 1
