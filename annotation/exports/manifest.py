"""The snapshot manifest (``manifest.json``) and its content hash.

Content hash: sha256 of a canonical JSON document holding the configuration, criteria, weights, counts,
the question bank's train/test split, provenance and the sha256 of each canonical file (the JSONL files).
Creation time, name, code version and the derived Parquet / ``datasets`` files are not part of it, so the
same data always hashes the same.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings

from annotation.exports.jsonl import canonical_json
from annotation.exports.spec import ExportSpec
from annotation.models import JudgeJob, RankingCampaign, RankingTask, ResponseSet
from criteria.models import CriteriaSet

FORMAT_VERSION = "annotation-snapshot-v1"


def code_version() -> str:
    """CODE_VERSION from the environment (images), else the git commit of the working tree, else unknown."""
    if os.environ.get("CODE_VERSION"):
        return os.environ["CODE_VERSION"]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


def snapshot_provenance(
    response_set: ResponseSet, judge_jobs: Sequence[JudgeJob], campaigns: Sequence[RankingCampaign]
) -> dict[str, Any]:
    """Where the data came from: question bank import, response set, judge job and campaign settings."""
    bank = response_set.bank
    return {
        "question_bank": {
            "name": bank.name,
            "source": bank.source,
            "split_seed": bank.import_settings.get("split_seed"),
            "min_chars": bank.import_settings.get("min_chars"),
            "max_chars": bank.import_settings.get("max_chars"),
        },
        "response_set": {
            "name": response_set.name,
            "origin": response_set.origin,
            "source": response_set.source,
            "generation_settings": response_set.generation_settings,
            "training_run": response_set.training_run_id,
        },
        "judge_jobs": [
            {
                "id": job.pk,
                "model": job.model,
                "temperature": job.temperature,
                "seed": job.seed,
                "prompt_version": job.prompt_version,
                "prompt_template_sha256": job.prompt_template_sha256,
                "shuffle_responses": job.shuffle_responses,
                "criteria_set": {"key": job.criteria_set.key, "version": job.criteria_set.version},
            }
            for job in judge_jobs
        ],
        "campaigns": [
            {
                "id": campaign.pk,
                "annotators_per_item": campaign.annotators_per_item,
                "allow_ties": campaign.allow_ties,
                "criteria_set": {"key": campaign.criteria_set.key, "version": campaign.criteria_set.version},
            }
            for campaign in campaigns
        ],
    }


def split_summary(*, bank_settings: Mapping[str, Any], question_counts: Mapping[str, int]) -> dict[str, Any]:
    """How the question bank was split (its import settings; a setting the import did not record is None)
    and how many of the snapshot's questions fall on each side."""
    return {
        "seed": bank_settings.get("split_seed"),
        "test_count": bank_settings.get("test_count"),
        "test_fraction": bank_settings.get("test_fraction"),
        "strata": bank_settings.get("stratify_by"),
        "train": question_counts["train"],
        "test": question_counts["test"],
    }


def skipped_task_count(*, campaign_ids: Sequence[int], question_ids: Sequence[int]) -> int:
    """Human tasks of these campaigns skipped on these questions (judge failures are counted as read)."""
    if not campaign_ids:
        return 0
    return RankingTask.objects.filter(
        campaign_id__in=campaign_ids, question_id__in=question_ids, state=RankingTask.State.SKIPPED
    ).count()


def snapshot_manifest(
    *,
    spec: ExportSpec,
    criteria_set: CriteriaSet,
    criteria: list[str],
    counts: dict[str, Any],
    split: dict[str, Any],
    provenance: dict[str, Any],
    files: dict[str, str],
    name: str,
    created_at: str,
) -> tuple[str, dict[str, Any]]:
    """The content hash and the full manifest (the hashed part plus name, time, code version, notes)."""
    hashed = {
        "format": FORMAT_VERSION,
        "configuration": spec.configuration(),
        "criteria_set": {"key": criteria_set.key, "version": criteria_set.version, "criteria": criteria},
        "objective_weights": spec.configuration()["objective_weights"],
        "counts": counts,
        "split": split,
        "provenance": provenance,
        "files": files,
    }
    content_hash = hashlib.sha256(canonical_json(hashed).encode("utf-8")).hexdigest()
    manifest = {
        **hashed,
        "snapshot_hash": content_hash,
        "name": name,
        "created_at": created_at,
        "code_version": code_version(),
        "de_identification": {
            "rater_ids": "keyed pseudonyms (HMAC-SHA256 under a key derived from PSEUDONYM_KEY and the "
            "configuration)",
            "free_text": "included"
            if spec.include_free_text
            else "annotator comments, flag notes and persona texts left out",
        },
        "derived_files": ["parquet/", "hf/", "README.md"],
    }
    return content_hash, manifest
