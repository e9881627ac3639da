"""Writes for annotation records, one module per area; the public names are re-exported here."""

from annotation.services.banks import BankImport, BankImportError, question_bank_import, response_set_import
from annotation.services.judging import (
    JudgeJobError,
    judge_job_cancel,
    judge_job_create,
    judge_job_launch,
    judge_job_run,
)
from annotation.services.personas import (
    PersonaImportError,
    judge_personas_from_survey,
    judge_personas_import,
)
from annotation.services.ranking import (
    RankingError,
    TaskNotYours,
    ranking_campaign_close,
    ranking_campaign_create,
    ranking_task_skip,
    ranking_task_submit,
)
from annotation.services.snapshots import (
    SnapshotError,
    snapshot_download_record,
    snapshot_freeze,
    snapshot_freeze_launch,
    snapshot_spec_build,
)

__all__ = [
    "BankImport",
    "BankImportError",
    "JudgeJobError",
    "PersonaImportError",
    "RankingError",
    "SnapshotError",
    "TaskNotYours",
    "judge_job_cancel",
    "judge_job_create",
    "judge_job_launch",
    "judge_job_run",
    "judge_personas_from_survey",
    "judge_personas_import",
    "question_bank_import",
    "ranking_campaign_close",
    "ranking_campaign_create",
    "ranking_task_skip",
    "ranking_task_submit",
    "response_set_import",
    "snapshot_download_record",
    "snapshot_freeze",
    "snapshot_freeze_launch",
    "snapshot_spec_build",
]
