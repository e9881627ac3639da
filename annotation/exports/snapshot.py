"""Write one snapshot directory: stream the records, then the manifest, the `datasets` copy and the card."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotation.exports.card import dataset_card
from annotation.exports.hf_datasets import write_datasets
from annotation.exports.manifest import snapshot_manifest, snapshot_provenance, split_summary
from annotation.exports.spec import ExportSpec
from annotation.exports.streaming import QUESTION_CHUNK, SnapshotWriter, question_chunks
from annotation.models import JudgeJob, RankingCampaign, ResponseSet
from annotation.selectors.responses import rankable_questions
from criteria.models import CriteriaSet


@dataclass(frozen=True)
class ExportResult:
    content_hash: str
    manifest: dict[str, Any]


def export_snapshot_directory(
    *,
    spec: ExportSpec,
    root: Path,
    name: str,
    created_at: str,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Write the snapshot directory for `spec` into the empty folder `root`; returns hash and manifest."""
    response_set = ResponseSet.objects.select_related("bank").get(pk=spec.response_set_id)
    criteria_set = CriteriaSet.objects.prefetch_related("criteria").get(pk=spec.criteria_set_id)
    criteria = criteria_set.criterion_keys
    judge_jobs = list(
        JudgeJob.objects.filter(pk__in=spec.judge_job_ids).select_related("criteria_set").order_by("pk")
    )
    campaigns = list(
        RankingCampaign.objects.filter(pk__in=spec.campaign_ids).select_related("criteria_set").order_by("pk")
    )
    questions = rankable_questions(response_set=response_set, split=spec.split)
    total = questions.count()
    writer = SnapshotWriter(
        spec=spec, root=root, criteria=criteria, ties=any(campaign.allow_ties for campaign in campaigns)
    )
    done = 0
    rows = questions.values_list("pk", "external_id", "text", "split").iterator(chunk_size=QUESTION_CHUNK)
    try:
        for chunk in question_chunks(rows, QUESTION_CHUNK):
            writer.write_chunk(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        writer.write_personas()
    except BaseException:
        rows.close()  # ends the server-side cursor now, within its transaction, not whenever it is collected
        writer.abandon()
        raise
    files = writer.close()
    counts = writer.counts
    content_hash, manifest = snapshot_manifest(
        spec=spec,
        criteria_set=criteria_set,
        criteria=criteria,
        counts=counts,
        split=split_summary(
            bank_settings=response_set.bank.import_settings, question_counts=counts["questions"]
        ),
        provenance=snapshot_provenance(response_set, judge_jobs, campaigns),
        files=files,
        name=name,
        created_at=created_at,
    )
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    write_datasets(root, criteria)
    card = dataset_card(manifest)
    (root / "README.md").write_text(card, encoding="utf-8")
    (root / "hf" / "README.md").write_text(card, encoding="utf-8")
    return ExportResult(content_hash=content_hash, manifest=manifest)
