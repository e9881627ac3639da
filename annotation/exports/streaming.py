"""The streamed part of an export: questions, rankings, preference pairs and personas, written as produced.

Constant memory: questions are read a chunk at a time (``QUESTION_CHUNK``) and each chunk's rankings with
``iterator(chunk_size=...)``; every line is written as it is produced and Parquet is written in batches.

De-identification: persona and annotator ids are replaced by keyed pseudonyms (:mod:`.pseudonyms`). Free
text written by people (annotator comments and flag notes) and persona texts are left out unless
``include_free_text`` is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from annotation.aggregation import aggregate_items, extract_pairs
from annotation.exports.jsonl import JsonlWriter, canonical_json
from annotation.exports.parquet import PAIR_SCHEMA, RANKING_SCHEMA, ParquetBatches, pair_parquet_path
from annotation.exports.pseudonyms import Pseudonyms
from annotation.exports.spec import SPLITS, ExportSpec
from annotation.models import CandidateResponse, JudgePersona
from annotation.selectors.rankings import RaterRanking, build_evaluations, human_rankings, judge_rankings

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
        self.pseudonym = Pseudonyms(key=settings.PSEUDONYM_KEY, scope=canonical_json(spec.configuration()))
        self.questions = JsonlWriter(root / "questions.jsonl")
        self.rankings = JsonlWriter(root / "rankings.jsonl")
        self.preferences = {key: JsonlWriter(root / "preferences" / f"{key}.jsonl") for key in criteria}
        self.pair_parquet = {
            (key, split): ParquetBatches(pair_parquet_path(root, key, split), PAIR_SCHEMA)
            for key in criteria
            for split in SPLITS
        }
        self.ranking_parquet = ParquetBatches(root / "parquet" / "rankings.parquet", RANKING_SCHEMA)
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
        self.persona_file = JsonlWriter(self.root / "personas.jsonl")
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
