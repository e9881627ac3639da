"""Drive the participant pages with Django's test client, the way a browser without JavaScript would."""

import random
import re
from typing import Any

from django.test import Client

from demo.survey import synthetic_answers
from survey_app.models import Item, ItemKind, Participant, Study
from survey_app.selectors import page_items, survey_pages


def participant_of(client: Client, study: Study) -> Participant:
    return Participant.objects.get(pk=client.session["survey"][str(study.pk)]["participant"])


def post_data(items: list[Item], answers: dict[str, Any], version: int) -> dict[str, Any]:
    """Form data for one page, as the selects, radios and checkboxes would submit it."""
    data: dict[str, Any] = {"version": str(version)}
    for item in items:
        value = answers.get(item.key)
        if value is None:
            continue
        if item.kind in (ItemKind.IMPORTANCE, ItemKind.RANKING):
            data.update({f"{item.key}-{key}": str(v) for key, v in value.items()})
            if item.kind == ItemKind.RANKING:
                data[f"{item.key}-confirm"] = "on"  # a synthetic order may happen to be the shown one
        elif item.kind == ItemKind.MULTI:
            data[item.key] = list(value)
        else:
            data[item.key] = str(value)
    return data


def start(client: Client, study: Study, *, query: str = "") -> Participant:
    """Follow the study link, agree, pass eligibility; returns the participant bound to the session."""
    client.get(f"/s/{study.slug}/{query}")
    response = client.post(f"/s/{study.slug}/", {"decision": "agree", "agree": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    participant = participant_of(client, study)
    response = client.post(
        f"/s/{study.slug}/eligibility/",
        {
            "version": participant.instrument.version,
            "eligible_adult": "yes",
            "eligible_lived_experience": "yes",
        },
    )
    assert response["Location"] == f"/s/{study.slug}/q/1/"
    return participant_of(client, study)


class PageAnswers:
    """Valid synthetic answers for every page of a participant's questionnaire, as form data."""

    def __init__(self, participant: Participant, seed: int = 1) -> None:
        self.participant = participant
        self.instrument = participant.instrument
        self.pages = survey_pages(instrument=self.instrument)
        self.answers = synthetic_answers(
            study=participant.study, instrument=self.instrument, rng=random.Random(seed)
        )

    def data(self, number: int, **overrides: Any) -> dict[str, Any]:
        page = self.pages[number - 1]
        items = page_items(instrument=self.instrument, page_key=page["key"])
        data = post_data(items, self.answers[page["key"]], self.instrument.version)
        data.update(overrides)
        return {key: value for key, value in data.items() if value is not None}


def answer_all(
    client: Client, study: Study, participant: Participant, seed: int = 1, **overrides: Any
) -> None:
    answers = PageAnswers(participant, seed)
    for number in range(1, len(answers.pages) + 1):
        response = client.post(f"/s/{study.slug}/q/{number}/", answers.data(number, **overrides))
        assert response.status_code == 302, response.content.decode()[:3000]


def is_checked(page: str, name: str, value: str) -> bool:
    """Whether the page renders the radio/checkbox `name`=`value` as checked (an answer kept)."""
    pattern = rf'<input[^>]*name="{re.escape(name)}" value="{re.escape(value)}"[^>]*\bchecked\b'
    return re.search(pattern, page) is not None
