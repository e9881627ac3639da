"""The OpenAPI schema builds and validates with no warnings (it is what schemathesis and clients read)."""

from django.core.management import call_command


def test_schema_is_valid_and_warning_free(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/api/worker/runs/{run_id}/result/" in target.read_text()
