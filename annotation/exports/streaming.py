"""The streamed part of an export: questions, rankings, preference pairs and personas, written as produced.

Constant memory: questions are read a chunk at a time (``QUESTION_CHUNK``) and each chunk's rankings with
``iterator(chunk_size=...)``; a chunk is worked in columns (:mod:`.chunk`), its lines are written as it
is done, and Parquet is written in row groups on a background thread.

De-identification: persona and annotator ids are replaced by keyed pseudonyms (:mod:`.pseudonyms`). Free
text written by people (annotator comments and flag notes) and persona texts are left out unless
``include_free_text`` is set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from annotation.aggregation import PreferencePair
from annotation.exports.chunk import ChunkQuestion, ChunkRankings, Raters
from annotation.exports.jsonl import JsonlWriter, canonical_json
from annotation.exports.manifest import skipped_task_count
from annotation.exports.parquet import (
    PAIR_SCHEMA,
    RANKING_SCHEMA,
    ParquetBatches,
    WriteQueue,
    pair_parquet_path,
)
from annotation.exports.pseudonyms import Pseudonyms
from annotation.exports.spec import SPLITS, ExportSpec
from annotation.models import CandidateResponse, JudgePersona
from annotation.selectors.rankings import human_rankings, judgement_rows

QUESTION_CHUNK = 200


def question_chunks(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    """The rows in lists of `size` (the last one shorter), pulled from the iterator as needed."""
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class SnapshotWriter:
    """One export in progress: open writers, running counts, and the per-chunk work."""

    def __init__(self, *, spec: ExportSpec, root: Path, criteria: list[str], ties: bool) -> None:
        self.spec = spec
        self.root = root
        self.criteria = criteria
        self.ties = ties
        self.raters = Raters(
            Pseudonyms(key=settings.PSEUDONYM_KEY, scope=canonical_json(spec.configuration()))
        )
        self.questions = JsonlWriter(root / "questions.jsonl")
        self.rankings = JsonlWriter(root / "rankings.jsonl")
        self.preferences = {key: JsonlWriter(root / "preferences" / f"{key}.jsonl") for key in criteria}
        self.parquet_writes = WriteQueue()
        self.pair_parquet = {
            (key, split): ParquetBatches(
                pair_parquet_path(root, key, split), PAIR_SCHEMA, self.parquet_writes
            )
            for key in criteria
            for split in SPLITS
        }
        self.ranking_parquet = ParquetBatches(
            root / "parquet" / "rankings.parquet", RANKING_SCHEMA, self.parquet_writes
        )
        self.counts: dict[str, Any] = {
            "questions": {"train": 0, "test": 0},
            "rankings": {"persona": 0, "annotator": 0},
            "item_evaluations": 0,
            "invalid_rankings": 0,
            "flagged_harmful": 0,
            "pairs": {key: {"train": 0, "test": 0} for key in criteria},
            "no_preference": dict.fromkeys(criteria, 0),
        }
        self.judge_failures: Counter[str] = Counter()
        self.skipped_tasks = 0

    def write_chunk(self, chunk: list[tuple[int, str, str, str]]) -> None:
        question_ids = [row[0] for row in chunk]
        position = {pk: number for number, pk in enumerate(question_ids)}
        responses: dict[int, list[tuple[str, str, str, dict]]] = {pk: [] for pk in question_ids}
        for question_id, external_id, text, origin, generation in (
            CandidateResponse.objects.filter(
                response_set_id=self.spec.response_set_id, question_id__in=question_ids
            )
            .order_by("question_id", "index")
            .values_list("question_id", "external_id", "text", "origin", "generation_settings")
        ):
            responses[question_id].append((external_id, text, origin, generation))
        questions = [
            ChunkQuestion(
                label=external_id, split=split, prompt=text, response_ids=[r[0] for r in responses[pk]]
            )
            for pk, external_id, text, split in chunk
        ]
        for question in questions:
            self.counts["questions"][question.split] += 1
        self.questions.write_many(
            {
                "question_id": external_id,
                "prompt": text,
                "split": split,
                "responses": [
                    {"response_id": rid, "text": rtext, "origin": origin, "generation_settings": generation}
                    for rid, rtext, origin, generation in responses[pk]
                ],
            }
            for pk, external_id, text, split in chunk
        )
        rankings = ChunkRankings(criteria=self.criteria, questions=questions, raters=self.raters)
        records = self._ranking_records(rankings, question_ids, position)
        lines = rankings.block_lines()
        if lines is not None:
            self.rankings.write_lines(lines)
        self.rankings.write_many(records)
        self.ranking_parquet.add_table(rankings.parquet_table())
        outcome = rankings.aggregate(
            allow_ties=self.ties, strategy=self.spec.pair_strategy, min_margin=self.spec.min_margin
        )
        self.counts["item_evaluations"] += outcome.items
        self.counts["invalid_rankings"] += outcome.invalid
        for key in self.criteria:
            self.counts["no_preference"][key] += outcome.no_preference[key]
        self.skipped_tasks += skipped_task_count(
            campaign_ids=self.spec.campaign_ids, question_ids=question_ids
        )
        text_by_response = {r[0]: (r[1], r[2]) for pk in question_ids for r in responses[pk]}
        by_label = {question.label: question for question in questions}
        for key in self.criteria:
            self._write_pairs(key, outcome.pairs[key], by_label, text_by_response)
        # A chunk's pairs become one row group per file, so pair buffers never outgrow a chunk.
        for writer in self.pair_parquet.values():
            writer.flush()

    def _ranking_records(
        self, rankings: ChunkRankings, question_ids: list[int], position: dict[int, int]
    ) -> list[dict[str, Any]]:
        """Add the chunk's rankings (persona judgements, then human rankings) to `rankings`; returns the
        rankings.jsonl records the fast path did not write."""
        judged = []
        for row in judgement_rows(question_ids=question_ids, judge_job_ids=self.spec.judge_job_ids):
            if row[3]:  # ok
                judged.append(row)
            else:
                self.judge_failures[row[4]] += 1
        self.counts["rankings"]["persona"] += len(judged)
        records = rankings.add_judgements(judged, position) if judged else []
        for ranking in human_rankings(question_ids=question_ids, campaign_ids=self.spec.campaign_ids):
            rater = self.raters("annotator", ranking.rater_id, ranking.source_id)
            record = rankings.record(rater, position[ranking.question_id], ranking.ranks)
            record["flagged_harmful"] = bool(ranking.extra.get("flagged_harmful"))
            self.counts["rankings"]["annotator"] += 1
            self.counts["flagged_harmful"] += int(record["flagged_harmful"])
            if self.spec.include_free_text:
                record["comment"] = ranking.extra.get("comment", "")
                record["flag_note"] = ranking.extra.get("flag_note", "")
            records.append(record)
        return records

    def _write_pairs(
        self,
        key: str,
        pairs: list[PreferencePair],
        by_label: dict[str, ChunkQuestion],
        text_by_response: dict[str, tuple[str, str]],
    ) -> None:
        label_of = dict(zip(self.raters.keys, self.raters.labels, strict=True))
        sorted_labels: dict[tuple[str, ...], list[str]] = {}  # an item's raters are often the next item's
        records: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
        lines = []
        for pair in pairs:
            question = by_label[pair.question_id]
            chosen_text, chosen_origin = text_by_response[pair.chosen_response_id]
            rejected_text, rejected_origin = text_by_response[pair.rejected_response_id]
            record = {
                "prompt": question.prompt,
                "chosen": chosen_text,
                "rejected": rejected_text,
                "split": question.split,
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
                "raters": sorted_labels.get(pair.judge_ids)
                or sorted_labels.setdefault(pair.judge_ids, sorted(label_of[r] for r in pair.judge_ids)),
                "strategy": pair.strategy,
            }
            lines.append(record)
            records[question.split].append(record)
        self.preferences[key].write_many(lines)
        for split in SPLITS:
            self.pair_parquet[(key, split)].add_rows(records[split])
            self.counts["pairs"][key][split] += len(records[split])

    def write_personas(self) -> None:
        self.persona_file = JsonlWriter(self.root / "personas.jsonl")
        records = []
        for persona in JudgePersona.objects.filter(pk__in=self.raters.ids_of("persona")).only(
            "pk", "origin", "split", "text_sha256", "text"
        ):
            record = {
                "persona_id": self.raters.pseudonym("persona", persona.pk),
                "origin": persona.origin,
                "split": persona.split,
                "text_sha256": persona.text_sha256,
            }
            if self.spec.include_free_text:
                record["text"] = persona.text
            records.append(record)
        self.persona_file.write_many(sorted(records, key=lambda r: r["persona_id"]))

    def abandon(self) -> None:
        """Stop after a failure: queued Parquet writes are dropped and the background thread ends."""
        self.parquet_writes.cancel()

    def close(self) -> dict[str, str]:
        """Close every writer; returns the sha256 of each canonical (hashed) file by relative path."""
        for writer in (*self.pair_parquet.values(), self.ranking_parquet):
            writer.close()
        self.parquet_writes.close()
        files = {
            "questions.jsonl": self.questions.close(),
            "rankings.jsonl": self.rankings.close(),
            "personas.jsonl": self.persona_file.close(),
        }
        for key, writer in self.preferences.items():
            files[f"preferences/{key}.jsonl"] = writer.close()
        self.counts["personas"] = len(self.raters.ids_of("persona"))
        self.counts["annotators"] = len(self.raters.ids_of("annotator"))
        self.counts["questions"]["total"] = sum(self.counts["questions"][s] for s in SPLITS)
        self.counts["judge_failures"] = dict(sorted(self.judge_failures.items()))
        self.counts["skipped_tasks"] = self.skipped_tasks
        return files
