"""Writes for dataset snapshots: freeze (export, hash, archive) and audited downloads.

A freeze writes the snapshot directory (annotation.exports) to a temporary folder, hashes its canonical
content, and keeps it only when no snapshot with that hash exists: freezing the same data twice gives the
same snapshot, and any change to the underlying data gives a new version. Large freezes run as the
"annotation.snapshot_freeze" job on the default queue.
"""

from __future__ import annotations

import hashlib
import math
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.aggregation import PairStrategy
from annotation.exports import ExportSpec
from annotation.models import DatasetSnapshot, JudgeJob, RankingCampaign, ResponseSet, SplitScope
from annotation.selectors.snapshots import (
    SNAPSHOT_FREEZE_KIND,
    objective_weight_options,
    sources_have_rankings,
)
from core.errors import ApplicationError
from core.models import Job, Status
from core.services import JobOutcome, JobProgress, audit_record, job_create
from criteria.models import CriteriaSet

PAIR_STRATEGIES: tuple[str, ...] = get_args(PairStrategy)
# The archive only carries the files (their content is hashed file by file, never the archive's bytes):
# level 1 compresses a study-scale export about 8x faster than gzip's default 9, for a ~40% larger file.
ARCHIVE_COMPRESSLEVEL = 1


class SnapshotError(ApplicationError):
    """The snapshot cannot be frozen as asked; nothing was written."""


NO_PAIRS = (
    "These sources give no preference pair{where}, so a snapshot of them could train nothing and none was "
    "frozen. Choose judge jobs or campaigns with valid rankings{hint}."
)


def objective_weights_validate(*, weights: Mapping[str, Any], criteria: Sequence[str]) -> dict[str, float]:
    """Weights keyed by criteria of the set, finite and >= 0, not all zero."""
    if not isinstance(weights, Mapping):
        raise SnapshotError("Objective weights must be a JSON object of criterion: weight.")
    unknown = sorted(set(weights) - set(criteria))
    if unknown:
        raise SnapshotError(f"Weights name criteria that are not in the set: {', '.join(unknown)}.")
    clean: dict[str, float] = {}
    for key, value in weights.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise SnapshotError(f"The weight of {key!r} must be a finite number >= 0.")
        clean[key] = float(value)
    if clean and not any(clean.values()):
        raise SnapshotError("At least one objective weight must be positive.")
    return clean


def snapshot_spec_build(
    *,
    response_set: ResponseSet,
    criteria_set: CriteriaSet,
    judge_jobs: Sequence[JudgeJob] = (),
    campaigns: Sequence[RankingCampaign] = (),
    split: str = SplitScope.ALL,
    pair_strategy: str = "best_worst",
    min_margin: float = 0.0,
    objective_weights: Mapping[str, Any] | None = None,
    weights_source: str = "manual",
    include_free_text: bool = False,
) -> ExportSpec:
    """Check that the sources fit together and return the export specification."""
    criteria = criteria_set.criterion_keys
    if not judge_jobs and not campaigns:
        raise SnapshotError("Choose at least one judge job or ranking campaign as the source of rankings.")
    if split not in SplitScope.values:
        raise SnapshotError(f"Unknown split {split!r}.")
    if pair_strategy not in PAIR_STRATEGIES:
        raise SnapshotError(
            f"Unknown pair strategy {pair_strategy!r}; choose one of {', '.join(PAIR_STRATEGIES)}."
        )
    if not math.isfinite(min_margin) or min_margin < 0:
        raise SnapshotError("The minimum score margin must be a finite number >= 0.")
    for source in (*judge_jobs, *campaigns):
        if source.response_set_id != response_set.pk:
            raise SnapshotError(f"{source.name!r} ranked a different response set.")
        missing = sorted(set(criteria) - set(source.criteria_set.criterion_keys))
        if missing:
            raise SnapshotError(f"{source.name!r} did not rank {', '.join(missing)}.")
    if weights_source.startswith("survey:"):
        options = {option["id"]: option for option in objective_weight_options()}
        option = options.get(weights_source.removeprefix("survey:"))
        if option is None:
            raise SnapshotError("That survey weight set is not available.")
        objective_weights = option["weights"]
    elif weights_source != "manual":
        raise SnapshotError(f"Unknown weights source {weights_source!r}.")
    weights = objective_weights_validate(weights=objective_weights or {}, criteria=criteria)
    if not sources_have_rankings(
        response_set=response_set,
        judge_job_ids=[job.pk for job in judge_jobs],
        campaign_ids=[campaign.pk for campaign in campaigns],
        split=split,
    ):
        message = NO_PAIRS.format(where=" in this split (no valid ranking)", hint=" of its questions")
        raise SnapshotError(field_errors={"judge_jobs" if judge_jobs else "campaigns": message})
    return ExportSpec(
        response_set_id=response_set.pk,
        criteria_set_id=criteria_set.pk,
        split=split,
        judge_job_ids=tuple(sorted(job.pk for job in judge_jobs)),
        campaign_ids=tuple(sorted(campaign.pk for campaign in campaigns)),
        pair_strategy=pair_strategy,
        min_margin=float(min_margin),
        objective_weights=weights,
        weights_source=weights_source,
        include_free_text=include_free_text,
    )


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_directory(*, directory: Path, target: Path) -> None:
    """tar.gz with the snapshot's files at the archive root (the worker unpacks it as the snapshot dir)."""
    with tarfile.open(target, "w:gz", compresslevel=ARCHIVE_COMPRESSLEVEL) as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)


def snapshot_freeze(
    *,
    name: str,
    spec: ExportSpec,
    created_by: AbstractBaseUser | None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[DatasetSnapshot, bool]:
    """Export, hash and archive; returns (snapshot, created). Same content hash -> the existing snapshot.

    Refuses (SnapshotError) an export without a single preference pair: nothing is frozen then."""
    name = name.strip() or "snapshot"
    criteria_set = CriteriaSet.objects.get(pk=spec.criteria_set_id)
    created_at = timezone.now()
    with tempfile.TemporaryDirectory(prefix="snapshot-") as workspace:
        root = Path(workspace) / "snapshot"
        root.mkdir()
        # Imported when used: the writer loads pyarrow, which the web process should not load at start-up.
        from annotation.exports.snapshot import export_snapshot_directory

        result = export_snapshot_directory(
            spec=spec, root=root, name=name, created_at=created_at.isoformat(), progress=progress
        )
        pairs = result.manifest["counts"]["pairs"]
        if not any(n for split_counts in pairs.values() for n in split_counts.values()):
            raise SnapshotError(NO_PAIRS.format(where="", hint=", or a lower minimum margin"))
        existing = DatasetSnapshot.objects.filter(content_hash=result.content_hash).first()
        if existing is not None:
            audit_record(
                action="snapshot.freeze_unchanged",
                actor=created_by,
                actor_label=None if created_by else "system",
                obj=existing,
                detail={"content_hash": existing.content_hash},
            )
            return existing, False
        archive = Path(workspace) / "snapshot.tar.gz"
        archive_directory(directory=root, target=archive)
        snapshot = DatasetSnapshot(
            name=name,
            content_hash=result.content_hash,
            criteria_set=criteria_set,
            response_set_id=spec.response_set_id,
            configuration=spec.configuration(),
            manifest=result.manifest,
            archive_sha256=_sha256_file(archive),
            archive_size=archive.stat().st_size,
            created_by=created_by,
            created_at=created_at,
        )
        try:
            with transaction.atomic(), archive.open("rb") as handle:
                snapshot.archive.save(f"snapshot-{result.content_hash[:16]}.tar.gz", File(handle), save=False)
                snapshot.save()
                audit_record(
                    action="snapshot.freeze",
                    actor=created_by,
                    actor_label=None if created_by else "system",
                    obj=snapshot,
                    detail={
                        "content_hash": snapshot.content_hash,
                        "counts": result.manifest["counts"]["pairs"],
                    },
                )
        except IntegrityError:
            snapshot.archive.delete(save=False)
            return DatasetSnapshot.objects.get(content_hash=result.content_hash), False
    return snapshot, True


def snapshot_freeze_launch(*, name: str, spec: ExportSpec, created_by: AbstractBaseUser) -> Job:
    """Queue a freeze on the default queue (study-scale exports take a while)."""
    job = job_create(
        kind=SNAPSHOT_FREEZE_KIND,
        params={"name": name, "spec": spec.configuration()},
        created_by=created_by,
    )
    audit_record(action="snapshot.freeze_launch", actor=created_by, obj=job, detail={"name": name})
    return job


def snapshot_freeze_job_run(*, job: Job, progress: JobProgress) -> dict[str, Any] | JobOutcome:
    """The freeze job; a refused freeze (no preference pair) ends it as failed, the refusal its error."""
    try:
        snapshot, created = snapshot_freeze(
            name=job.params["name"],
            spec=spec_from_configuration(job.params["spec"]),
            created_by=job.created_by,
            progress=lambda done, total: progress.update(done=done, total=total),
        )
    except SnapshotError as exc:
        return JobOutcome(status=Status.FAILED, result={}, error=exc.message)
    return {"snapshot_id": snapshot.pk, "content_hash": snapshot.content_hash, "created": created}


def spec_from_configuration(configuration: Mapping[str, Any]) -> ExportSpec:
    """The inverse of ExportSpec.configuration() (job parameters carry the configuration)."""
    return ExportSpec(
        response_set_id=int(configuration["response_set"]),
        criteria_set_id=int(configuration["criteria_set"]),
        split=configuration["split"],
        judge_job_ids=tuple(configuration["judge_jobs"]),
        campaign_ids=tuple(configuration["campaigns"]),
        pair_strategy=configuration["pair_strategy"],
        min_margin=float(configuration["min_margin"]),
        objective_weights=dict(configuration["objective_weights"]),
        weights_source=configuration["weights_source"],
        include_free_text=bool(configuration["include_free_text"]),
    )


def snapshot_download_record(*, snapshot: DatasetSnapshot, actor: AbstractBaseUser, request=None) -> None:
    """Every download of an export is audit-logged."""
    audit_record(
        action="snapshot.download",
        actor=actor,
        obj=snapshot,
        request=request,
        detail={"content_hash": snapshot.content_hash},
    )
