"""Receivers for what the apps below announce (connected in AnnotationConfig.ready)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from annotation.services.personas import judge_personas_withdraw


def judge_personas_on_withdrawal(
    *, persona_ids: list[int], withdrawn_at: datetime, **_: Any
) -> dict[str, Any]:
    """survey_app.signals.participant_withdrawn: the participant's judge-persona copies become tombstones;
    what was removed (and the snapshots frozen with it) goes into the withdrawal's audit event."""
    return judge_personas_withdraw(survey_persona_ids=persona_ids, withdrawn_at=withdrawn_at)
