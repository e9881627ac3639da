"""Query parameters that do not parse are ignored or refused, never a 500."""

import pytest

from tests.factories import TrainingRunFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("after", ["\u00b2", "x", "9" * 40, "-"])
def test_run_events_ignore_an_unreadable_after(researcher_api, after):
    run = TrainingRunFactory()
    response = researcher_api.get(f"/api/runs/{run.pk}/events/", {"after": after})
    assert response.status_code == 200


@pytest.mark.parametrize("ids", ["\u00b2", "x", "9" * 40])
def test_run_comparison_with_unreadable_ids_is_not_a_server_error(researcher, client, ids):
    client.force_login(researcher)
    assert client.get("/runs/compare/", {"ids": ids}).status_code in (200, 404)
