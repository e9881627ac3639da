"""What the survey announces to the apps above it, which it must never import.

``participant_withdrawn`` is sent inside the withdrawal's transaction, after the participant's answers and
persona are deleted and before the withdrawal is written to the audit log. Receivers delete or reduce their
copies of the participant's data in that same transaction, so the withdrawal and every copy's removal commit
together or not at all (a receiver that raises undoes the withdrawal). A receiver returns a mapping (or
None); its entries are added to the withdrawal's audit detail, so the one audit event says what was removed
everywhere.

Arguments (keyword): ``study_id``, ``participant_id``, ``persona_ids`` (the ids of the survey personas
written from the participant's response, now deleted; empty when there was none) and ``withdrawn_at``.
"""

from django.dispatch import Signal

participant_withdrawn = Signal()

#: The audit action of a withdrawal (other apps read its detail, e.g. the snapshots it names).
WITHDRAW_ACTION = "survey.participant_withdraw"
