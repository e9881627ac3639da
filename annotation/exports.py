"""Streamed export of a dataset snapshot directory: the ML contract layout plus richer formats.

Layout written under ``root`` (``training_worker/ml/snapshot.py`` reads the first two entries)::

    manifest.json                     snapshot_hash, criteria_set{key, version, criteria}, objective_weights,
                                      counts, configuration, provenance, code version, file hashes
    preferences/<criterion>.jsonl     one pair per line: prompt, chosen, rejected, split, question_id,
                                      criterion + metadata (response ids, origins, scores, agreement, raters)
    rankings.jsonl                    every valid ranking: one line per rater and question, all criteria
    questions.jsonl                   every question in scope with its candidate responses
    personas.jsonl                    the personas used (pseudonymous id, split, text fingerprint)
    parquet/<criterion>/{train,test}.parquet, parquet/rankings.parquet
    hf/<criterion>/                   a `datasets` DatasetDict (train, test) saved with save_to_disk
    README.md                         the dataset card (also hf/README.md)

Constant memory: questions are read a chunk at a time (``QUESTION_CHUNK``) and each chunk's rankings with
``iterator(chunk_size=...)``; every line is written as it is produced and Parquet is written in batches.

Content hash: sha256 of a canonical JSON document holding the configuration, criteria, weights, counts,
provenance and the sha256 of each canonical file (the JSONL files). Creation time, name, code version and
the derived Parquet / ``datasets`` files are not part of it, so the same data always hashes the same.

De-identification: persona and annotator ids are replaced by keyed pseudonyms, HMAC-SHA256 under a key
derived from settings.PSEUDONYM_KEY and the export configuration (so two different exports cannot be joined
on rater ids, and re-freezing the same configuration reproduces the same pseudonyms and hash). Free text
written by people (annotator comments and flag notes) and persona texts are left out unless
``include_free_text`` is set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db.models import Count

from annotation.aggregation import aggregate_items, extract_pairs
from annotation.models import (
    CandidateResponse,
    JudgeJob,
    Judgement,
    JudgePersona,
    RankingCampaign,
    RankingTask,
    ResponseSet,
)
from annotation.selectors.rankings import RaterRanking, build_evaluations, human_rankings, judge_rankings
from annotation.selectors.responses import rankable_questions
from criteria.models import CriteriaSet

FORMAT_VERSION = "annotation-snapshot-v1"
QUESTION_CHUNK = 200
PARQUET_BATCH_ROWS = 5000
SPLITS = ("train", "test")

PAIR_SCHEMA = pa.schema(
    [
        ("prompt", pa.string()),
        ("chosen", pa.string()),
        ("rejected", pa.string()),
        ("split", pa.string()),
        ("question_id", pa.string()),
        ("criterion", pa.string()),
        ("chosen_response_id", pa.string()),
        ("rejected_response_id", pa.string()),
        ("chosen_origin", pa.string()),
        ("rejected_origin", pa.string()),
        ("chosen_score", pa.float64()),
        ("rejected_score", pa.float64()),
        ("score_difference", pa.float64()),
        ("judge_agreement", pa.float64()),
        ("n_raters", pa.int64()),
        ("raters", pa.list_(pa.string())),
        ("strategy", pa.string()),
    ]
)
RANKING_SCHEMA = pa.schema(
    [
        ("rater_id", pa.string()),
        ("rater_kind", pa.string()),
        ("source", pa.string()),
        ("question_id", pa.string()),
        ("split", pa.string()),
        ("criterion", pa.string()),
        ("response_ids", pa.list_(pa.string())),
        ("ranks", pa.list_(pa.int64())),
    ]
)


@dataclass(frozen=True)
class ExportSpec:
    """What to export. `configuration()` is its canonical form (part of the content hash)."""

    response_set_id: int
    criteria_set_id: int
    split: str = "all"
    judge_job_ids: tuple[int, ...] = ()
    campaign_ids: tuple[int, ...] = ()
    pair_strategy: str = "best_worst"
    min_margin: float = 0.0
    objective_weights: dict[str, float] = field(default_factory=dict)
    weights_source: str = "manual"
    include_free_text: bool = False

    def configuration(self) -> dict[str, Any]:
        return {
            "response_set": self.response_set_id,
            "criteria_set": self.criteria_set_id,
            "split": self.split,
            "judge_jobs": sorted(self.judge_job_ids),
            "campaigns": sorted(self.campaign_ids),
            "pair_strategy": self.pair_strategy,
            "min_margin": float(self.min_margin),
            "objective_weights": {key: float(value) for key, value in sorted(self.objective_weights.items())},
            "weights_source": self.weights_source,
            "include_free_text": self.include_free_text,
        }


@dataclass(frozen=True)
class ExportResult:
    content_hash: str
    manifest: dict[str, Any]


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class Pseudonyms:
    """Keyed pseudonyms for one export: HMAC-SHA256 under a key derived from PSEUDONYM_KEY and a scope."""

    def __init__(self, *, key: str, scope: str) -> None:
        self._key = hmac.new(key.encode(), f"snapshot-export\x1f{scope}".encode(), hashlib.sha256).digest()

    def __call__(self, kind: str, value: object) -> str:
        digest = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}-{digest[:16]}"


class _JsonlWriter:
    """Writes canonical JSON lines and hashes the bytes as they go."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("wb")
        self.digest = hashlib.sha256()
        self.lines = 0

    def write(self, record: dict[str, Any]) -> None:
        data = (canonical_json(record) + "\n").encode("utf-8")
        self.handle.write(data)
        self.digest.update(data)
        self.lines += 1

    def close(self) -> str:
        self.handle.close()
        return self.digest.hexdigest()


class _ParquetBatches:
    """Rows buffered in batches of PARQUET_BATCH_ROWS and appended to one Parquet file."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.writer = pq.ParquetWriter(str(path), schema)
        self.rows: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= PARQUET_BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        self.flush()
        self.writer.close()


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


def _chunks(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _SnapshotWriter:
    """One export in progress: open writers, running counts, and the per-chunk work."""

    def __init__(self, *, spec: ExportSpec, root: Path, criteria: list[str], ties: bool) -> None:
        self.spec = spec
        self.root = root
        self.criteria = criteria
        self.ties = ties
        self.pseudonym = Pseudonyms(key=settings.PSEUDONYM_KEY, scope=canonical_json(spec.configuration()))
        self.questions = _JsonlWriter(root / "questions.jsonl")
        self.rankings = _JsonlWriter(root / "rankings.jsonl")
        self.preferences = {key: _JsonlWriter(root / "preferences" / f"{key}.jsonl") for key in criteria}
        self.pair_parquet = {
            (key, split): _ParquetBatches(root / "parquet" / key / f"{split}.parquet", PAIR_SCHEMA)
            for key in criteria
            for split in SPLITS
        }
        self.ranking_parquet = _ParquetBatches(root / "parquet" / "rankings.parquet", RANKING_SCHEMA)
        self.counts: dict[str, Any] = {
            "questions": {"train": 0, "test": 0},
            "rankings": {"persona": 0, "annotator": 0},
            "item_evaluations": 0,
            "invalid_rankings": 0,
            "flagged_harmful": 0,
            "pairs": {key: {"train": 0, "test": 0} for key in criteria},
            "no_preference": dict.fromkeys(criteria, 0),
        }
        self.personas: set[int] = set()
        self.annotators: set[int] = set()

    def rater_label(self, ranking: RaterRanking) -> tuple[str, str]:
        kind = ranking.rater_kind
        source = f"judge_job:{ranking.source_id}" if kind == "persona" else f"campaign:{ranking.source_id}"
        return self.pseudonym(kind, ranking.rater_id), source

    def write_chunk(self, chunk: list[tuple[int, str, str, str]]) -> None:
        question_ids = [row[0] for row in chunk]
        label = {row[0]: row[1] for row in chunk}
        split_of = {row[0]: row[3] for row in chunk}
        responses: dict[int, list[tuple[str, str, str, dict]]] = {pk: [] for pk in question_ids}
        for question_id, external_id, text, origin, generation in (
            CandidateResponse.objects.filter(
                response_set_id=self.spec.response_set_id, question_id__in=question_ids
            )
            .order_by("question_id", "index")
            .values_list("question_id", "external_id", "text", "origin", "generation_settings")
        ):
            responses[question_id].append((external_id, text, origin, generation))
        for question_id, external_id, text, split in chunk:
            self.counts["questions"][split] += 1
            self.questions.write(
                {
                    "question_id": external_id,
                    "prompt": text,
                    "split": split,
                    "responses": [
                        {
                            "response_id": rid,
                            "text": rtext,
                            "origin": origin,
                            "generation_settings": generation,
                        }
                        for rid, rtext, origin, generation in responses[question_id]
                    ],
                }
            )
        response_ids = {pk: [r[0] for r in responses[pk]] for pk in question_ids}
        rankings = [
            *judge_rankings(question_ids=question_ids, judge_job_ids=self.spec.judge_job_ids),
            *human_rankings(question_ids=question_ids, campaign_ids=self.spec.campaign_ids),
        ]
        labels = {}
        for ranking in rankings:
            rater_id, source = self.rater_label(ranking)
            labels[ranking.rater_key] = f"{rater_id}@{source}"
            self._write_ranking(ranking, rater_id, source, label, split_of, response_ids)
        evaluations = build_evaluations(
            question_ids=question_ids,
            response_ids=response_ids,
            rankings=rankings,
            criteria_keys=self.criteria,
            question_labels=label,
        )
        results = aggregate_items(evaluations, allow_ties=self.ties)
        self.counts["item_evaluations"] += len(results)
        for result in results:
            self.counts["invalid_rankings"] += result.n_invalid
            if result.n_valid and not result.has_preference:
                self.counts["no_preference"][result.criterion] += 1
        split_by_label = {label[pk]: split_of[pk] for pk in question_ids}
        prompt_by_label = {row[1]: row[2] for row in chunk}
        text_by_response = {r[0]: (r[1], r[2]) for pk in question_ids for r in responses[pk]}
        for pair in extract_pairs(results, strategy=self.spec.pair_strategy, min_margin=self.spec.min_margin):
            split = split_by_label[pair.question_id]
            chosen_text, chosen_origin = text_by_response[pair.chosen_response_id]
            rejected_text, rejected_origin = text_by_response[pair.rejected_response_id]
            record = {
                "prompt": prompt_by_label[pair.question_id],
                "chosen": chosen_text,
                "rejected": rejected_text,
                "split": split,
                "question_id": pair.question_id,
                "criterion": pair.criterion,
                "chosen_response_id": pair.chosen_response_id,
                "rejected_response_id": pair.rejected_response_id,
                "chosen_origin": chosen_origin,
                "rejected_origin": rejected_origin,
                "chosen_score": pair.chosen_score,
                "rejected_score": pair.rejected_score,
                "score_difference": pair.score_difference,
                "judge_agreement": pair.judge_agreement,
                "n_raters": pair.n_judges,
                "raters": sorted(labels[key] for key in pair.judge_ids),
                "strategy": pair.strategy,
            }
            self.preferences[pair.criterion].write(record)
            self.pair_parquet[(pair.criterion, split)].add(record)
            self.counts["pairs"][pair.criterion][split] += 1
        # A chunk's pairs become one row group per file, so pair buffers never outgrow a chunk.
        for writer in self.pair_parquet.values():
            writer.flush()

    def _write_ranking(
        self,
        ranking: RaterRanking,
        rater_id: str,
        source: str,
        label: dict[int, str],
        split_of: dict[int, str],
        response_ids: dict[int, list[str]],
    ) -> None:
        kind = ranking.rater_kind
        self.counts["rankings"][kind] += 1
        (self.personas if kind == "persona" else self.annotators).add(ranking.rater_id)
        question = label[ranking.question_id]
        split = split_of[ranking.question_id]
        ranks = {key: ranking.ranks[key] for key in self.criteria if key in ranking.ranks}
        record: dict[str, Any] = {
            "rater_id": rater_id,
            "rater_kind": kind,
            "source": source,
            "question_id": question,
            "split": split,
            "response_ids": response_ids[ranking.question_id],
            "rankings": ranks,
        }
        if kind == "annotator":
            record["flagged_harmful"] = bool(ranking.extra.get("flagged_harmful"))
            self.counts["flagged_harmful"] += int(record["flagged_harmful"])
            if self.spec.include_free_text:
                record["comment"] = ranking.extra.get("comment", "")
                record["flag_note"] = ranking.extra.get("flag_note", "")
        self.rankings.write(record)
        for key, values in ranks.items():
            self.ranking_parquet.add(
                {
                    "rater_id": rater_id,
                    "rater_kind": kind,
                    "source": source,
                    "question_id": question,
                    "split": split,
                    "criterion": key,
                    "response_ids": response_ids[ranking.question_id],
                    "ranks": values,
                }
            )

    def write_personas(self) -> None:
        self.persona_file = _JsonlWriter(self.root / "personas.jsonl")
        records = []
        for persona in JudgePersona.objects.filter(pk__in=self.personas).only(
            "pk", "origin", "split", "text_sha256", "text"
        ):
            record = {
                "persona_id": self.pseudonym("persona", persona.pk),
                "origin": persona.origin,
                "split": persona.split,
                "text_sha256": persona.text_sha256,
            }
            if self.spec.include_free_text:
                record["text"] = persona.text
            records.append(record)
        for record in sorted(records, key=lambda r: r["persona_id"]):
            self.persona_file.write(record)

    def close(self) -> dict[str, str]:
        """Close every writer; returns the sha256 of each canonical (hashed) file by relative path."""
        for writer in (*self.pair_parquet.values(), self.ranking_parquet):
            writer.close()
        files = {
            "questions.jsonl": self.questions.close(),
            "rankings.jsonl": self.rankings.close(),
            "personas.jsonl": self.persona_file.close(),
        }
        for key, writer in self.preferences.items():
            files[f"preferences/{key}.jsonl"] = writer.close()
        self.counts["personas"] = len(self.personas)
        self.counts["annotators"] = len(self.annotators)
        self.counts["questions"]["total"] = sum(self.counts["questions"][s] for s in SPLITS)
        return files


def _provenance(
    response_set: ResponseSet, judge_jobs: Sequence[JudgeJob], campaigns: Sequence[RankingCampaign]
) -> dict[str, Any]:
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


def _failures(spec: ExportSpec, question_ids_query) -> tuple[dict[str, int], int]:
    failures = (
        Judgement.objects.filter(
            judge_job_id__in=spec.judge_job_ids, question_id__in=question_ids_query, ok=False
        )
        .values("failure_kind")
        .annotate(n=Count("id"))
        .order_by("failure_kind")
    )
    skipped = RankingTask.objects.filter(
        campaign_id__in=spec.campaign_ids,
        question_id__in=question_ids_query,
        state=RankingTask.State.SKIPPED,
    ).count()
    return {row["failure_kind"]: row["n"] for row in failures}, skipped


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
    writer = _SnapshotWriter(
        spec=spec, root=root, criteria=criteria, ties=any(campaign.allow_ties for campaign in campaigns)
    )
    done = 0
    rows = questions.values_list("pk", "external_id", "text", "split").iterator(chunk_size=QUESTION_CHUNK)
    for chunk in _chunks(rows, QUESTION_CHUNK):
        writer.write_chunk(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    writer.write_personas()
    files = writer.close()
    counts = writer.counts
    counts["judge_failures"], counts["skipped_tasks"] = _failures(spec, questions.values("pk"))
    hashed = {
        "format": FORMAT_VERSION,
        "configuration": spec.configuration(),
        "criteria_set": {"key": criteria_set.key, "version": criteria_set.version, "criteria": criteria},
        "objective_weights": spec.configuration()["objective_weights"],
        "counts": counts,
        "provenance": _provenance(response_set, judge_jobs, campaigns),
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
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    _write_datasets(root, criteria)
    card = dataset_card(manifest)
    (root / "README.md").write_text(card, encoding="utf-8")
    (root / "hf" / "README.md").write_text(card, encoding="utf-8")
    return ExportResult(content_hash=content_hash, manifest=manifest)


def _write_datasets(root: Path, criteria: Sequence[str]) -> None:
    """A `datasets` DatasetDict (train, test) per criterion, built from the Parquet files (memory-mapped)."""
    import datasets

    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # a background job has no terminal to draw them on
    try:
        with tempfile.TemporaryDirectory(prefix="snapshot-hf-cache-") as cache:
            for key in criteria:
                splits = {
                    split: _split_dataset(root / "parquet" / key / f"{split}.parquet", cache)
                    for split in SPLITS
                }
                # One shard per split, even an empty one (zero shards would not load back).
                datasets.DatasetDict(splits).save_to_disk(
                    str(root / "hf" / key), num_shards=dict.fromkeys(SPLITS, 1)
                )
    finally:
        if bars:
            datasets.enable_progress_bars()


def _split_dataset(path: Path, cache: str):
    """The Parquet file as a memory-mapped `datasets.Dataset` (an empty one keeps the schema)."""
    import datasets

    if pq.ParquetFile(path).metadata.num_rows == 0:
        features = datasets.Features.from_arrow_schema(PAIR_SCHEMA)
        return datasets.Dataset.from_dict({name: [] for name in PAIR_SCHEMA.names}, features=features)
    return datasets.Dataset.from_parquet(str(path), cache_dir=cache)


def dataset_card(manifest: dict[str, Any]) -> str:
    """A Hugging Face style dataset card (YAML header + prose) for the snapshot."""
    counts = manifest["counts"]
    criteria = manifest["criteria_set"]["criteria"]
    configs = "\n".join(
        f"- config_name: {key}\n  data_files:\n"
        + "".join(f"  - split: {split}\n    path: parquet/{key}/{split}.parquet\n" for split in SPLITS)
        for key in criteria
    )
    pair_rows = "\n".join(
        f"| {key} | {counts['pairs'][key]['train']} | {counts['pairs'][key]['test']} |" for key in criteria
    )
    provenance = manifest["provenance"]
    judges = (
        ", ".join(
            f"{job['model']} (temperature {job['temperature']}, prompt {job['prompt_version']})"
            for job in provenance["judge_jobs"]
        )
        or "none"
    )
    return f"""---
pretty_name: {manifest["name"]}
task_categories:
- text-generation
tags:
- dpo
- preference
- mental-health
configs:
{configs}---

# {manifest["name"]}

Preference data for aligning a supportive-response model, one configuration per criterion of the criteria
set **{manifest["criteria_set"]["key"]} v{manifest["criteria_set"]["version"]}**. Each row is a
`prompt` / `chosen` / `rejected` triple (the columns TRL's DPO trainer expects) with provenance columns.

- Snapshot hash: `{manifest["snapshot_hash"]}`
- Questions: {counts["questions"]["train"]} train / {counts["questions"]["test"]} test, from
  *{provenance["question_bank"]["name"]}* ({provenance["question_bank"]["source"]})
- Candidate responses: *{provenance["response_set"]["name"]}* ({provenance["response_set"]["origin"]})
- Rankings: {counts["rankings"]["persona"]} persona-judge evaluations, {counts["rankings"]["annotator"]} human
  rankings; {counts["invalid_rankings"]} invalid rankings discarded
- Persona judges: {judges}
- Aggregation: symmetric weighted voting; pairs by `{manifest["configuration"]["pair_strategy"]}`

| criterion | train pairs | test pairs |
| --- | --- | --- |
{pair_rows}

## Files
`preferences/<criterion>.jsonl` (TRL-ready JSONL), `rankings.jsonl` (every valid ranking),
`questions.jsonl`, `personas.jsonl`, `parquet/`, and `hf/<criterion>/` (`datasets.load_from_disk`).

## De-identification
Rater ids are keyed pseudonyms specific to this export.
Free text by people: {manifest["de_identification"]["free_text"]}.
Help-seeking texts come from the source named above; check its licence before redistribution.
"""
