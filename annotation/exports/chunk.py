"""One chunk of an export in columns: its questions, its rankings, and their aggregation.

A chunk holds up to QUESTION_CHUNK questions and every ranking of them: persona judgements first, then
human rankings, the order in which rankings.jsonl lists them. A ranking contributes one *cell* per
criterion it ranked; cells become the rankings Parquet rows and, for each K, one (items, raters, K) array
over every criterion that `aggregate_rank_array` aggregates in a single vectorised pass, its pairs taken
by `extract_batch_pairs`. The pairs and counts are those of `extract_pairs` over `aggregate_items` over
`build_evaluations` (items in question order, raters in ranking order), which the pinned export tests hold
it to.

Fast path: persona judgements are parsed from their JSON text by Arrow (:class:`JudgedBlock`) when every
one ranks every criterion with a list of integers, which is what a judge job stores. Their
rankings.jsonl lines and Parquet rows are then built by Arrow kernels, never as Python objects. Anything
else (a missing criterion, a float, a null) sends the chunk's judgements down the general path, where the
ranks are decoded to Python values and handled row by row exactly as stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from annotation.aggregation import PairStrategy, PreferencePair, aggregate_rank_array, extract_batch_pairs
from annotation.aggregation.rank_vectors import coerce_rows
from annotation.aggregation.vectorised import ItemLabels
from annotation.exports.jsonl import canonical_json
from annotation.exports.parquet import RANKING_SCHEMA
from annotation.exports.pseudonyms import Pseudonyms
from annotation.selectors.rankings import JudgementRow, decode_ranks, rater_key

RANKS_TYPE = RANKING_SCHEMA.field("ranks").type
RESPONSE_IDS_TYPE = RANKING_SCHEMA.field("response_ids").type
_FIELD = "\ue000{}\ue000"  # a placeholder the canonical encoder copies verbatim (private-use character)


@dataclass(frozen=True)
class ChunkQuestion:
    """A question of the chunk: its export label, split, prompt and responses in canonical order."""

    label: str
    split: str
    prompt: str
    response_ids: list[str]


class Raters:
    """Every rater of the export, numbered as first seen; each pseudonym is computed once."""

    def __init__(self, pseudonym: Pseudonyms) -> None:
        self.pseudonym = pseudonym
        self.index: dict[tuple[str, int, int], int] = {}
        self.kinds: list[str] = []
        self.ids: list[int] = []
        self.keys: list[str] = []  # the aggregation's rater ids
        self.pseudonyms: list[str] = []
        self.sources: list[str] = []
        self.labels: list[str] = []  # "<pseudonym>@<source>", as pairs list their raters

    def __call__(self, kind: str, rater_id: int, source_id: int) -> int:
        found = self.index.get((kind, rater_id, source_id))
        if found is not None:
            return found
        number = self.index[(kind, rater_id, source_id)] = len(self.keys)
        source = f"judge_job:{source_id}" if kind == "persona" else f"campaign:{source_id}"
        pseudonym = self.pseudonym(kind, rater_id)
        self.kinds.append(kind)
        self.ids.append(rater_id)
        self.keys.append(rater_key(kind, rater_id, source_id))
        self.pseudonyms.append(pseudonym)
        self.sources.append(source)
        self.labels.append(f"{pseudonym}@{source}")
        return number

    def ids_of(self, kind: str) -> set[int]:
        return {rater_id for k, rater_id in zip(self.kinds, self.ids, strict=True) if k == kind}


def ranking_record(
    *, rater_id: str, kind: str, source: str, question_id: str, split: str, response_ids: Any, rankings: Any
) -> dict[str, Any]:
    """A rankings.jsonl record (an annotator's flag and free text are added by the caller)."""
    return {
        "rater_id": rater_id,
        "rater_kind": kind,
        "source": source,
        "question_id": question_id,
        "split": split,
        "response_ids": response_ids,
        "rankings": rankings,
    }


def _persona_line_pieces() -> list[str]:
    """A persona ranking's canonical JSON line split around its variable fields: literal text at even
    positions, field names at odd ones. Taken from canonical_json itself, so lines assembled from these
    pieces are byte for byte what encoding the record gives."""
    fields = ("rater_id", "source", "question_id", "split", "response_ids", "rankings")
    text = canonical_json(ranking_record(kind="persona", **{name: _FIELD.format(name) for name in fields}))
    return re.split('"' + _FIELD.format(r"(\w+)") + '"', text + "\n")


_PERSONA_LINE = _persona_line_pieces()


def _json_column(values: Sequence[Any], index: np.ndarray) -> pa.StringArray:
    """The canonical JSON of values[i] for each i of `index` (each value encoded once)."""
    return pa.array([canonical_json(value) for value in values], pa.string()).take(index)


@dataclass(frozen=True)
class JudgedBlock:
    """Persona rankings that all rank every criterion with a list of integers, as Arrow columns."""

    rater: np.ndarray
    question: np.ndarray
    ranks: dict[str, pa.ListArray]  # criterion -> list<int64>, one entry per ranking

    @classmethod
    def parse(
        cls, *, rater: np.ndarray, question: np.ndarray, texts: list[str | None], criteria: Sequence[str]
    ) -> JudgedBlock | None:
        """Arrow's JSON reader with the ranks' schema; None when any judgement is not of that shape (the
        reader refuses floats, booleans, strings and integers beyond int64; nulls are checked here)."""
        if not texts or None in texts:
            return None
        schema = pa.schema([(key, RANKS_TYPE) for key in criteria])
        options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
        try:
            table = pa_json.read_json(pa.BufferReader("\n".join(texts).encode()), parse_options=options)
        except pa.ArrowInvalid:
            return None
        ranks = {key: table.column(key).combine_chunks() for key in criteria}
        if any(column.null_count or column.flatten().null_count for column in ranks.values()):
            return None
        return cls(rater=rater, question=question, ranks=ranks)

    def __len__(self) -> int:
        return len(self.rater)

    def lines(self, questions: Sequence[ChunkQuestion], raters: Raters) -> pa.StringArray:
        """Each ranking's rankings.jsonl line (with its newline), assembled by Arrow kernels."""
        fields = {
            "rater_id": _json_column(raters.pseudonyms, self.rater),
            "source": _json_column(raters.sources, self.rater),
            "question_id": _json_column([q.label for q in questions], self.question),
            "split": _json_column([q.split for q in questions], self.question),
            "response_ids": _json_column([q.response_ids for q in questions], self.question),
            "rankings": self._rankings_json(),
        }
        parts = [piece if index % 2 == 0 else fields[piece] for index, piece in enumerate(_PERSONA_LINE)]
        return pc.binary_join_element_wise(*parts, "")

    def _rankings_json(self) -> pa.StringArray:
        """{criterion: ranks} as canonical JSON: keys sorted, integers comma-joined without spaces."""
        members = [
            pc.binary_join_element_wise(
                canonical_json(key) + ":[",
                pc.binary_join(self.ranks[key].cast(pa.list_(pa.string())), ","),
                "]",
                "",
            )
            for key in sorted(self.ranks)
        ]
        return pc.binary_join_element_wise("{", pc.binary_join_element_wise(*members, ","), "}", "")

    def values(self, criterion: str, rows: np.ndarray, k: int) -> np.ndarray:
        """`coerce_rows` of these rows' ranks on one criterion: a wrong length gives an all-zero row."""
        column = self.ranks[criterion]
        lengths = pc.list_value_length(column).to_numpy()
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        flat = column.flatten().to_numpy()
        out = np.zeros((len(rows), k), dtype=np.int64)
        fits = lengths[rows] == k
        starts = offsets[rows[fits]]
        out[fits] = np.clip(flat[starts[:, None] + np.arange(k)], -1, k + 1)
        return out


@dataclass
class ChunkOutcome:
    """A chunk's aggregation: each criterion's pairs in question order, and what the manifest counts."""

    items: int
    no_preference: dict[str, int]
    invalid: int = 0
    pairs: dict[str, list[PreferencePair]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Arranged:
    """One criterion's cells in item order (see `ChunkRankings._arrange`)."""

    mine: np.ndarray  # the criterion's general cells, as numbers into the chunk's cell lists
    source: np.ndarray  # cell number (block rows first, then `mine`) of each cell in item order
    question: np.ndarray
    slot: np.ndarray
    counts: np.ndarray  # raters per question
    bounds: list[tuple[int, int]]  # each question's slice of `judge_keys`
    judge_keys: list[str]


class ChunkRankings:
    """The chunk's rankings: a JudgedBlock (fast path) and/or rankings held as Python values, in order."""

    def __init__(
        self, *, criteria: Sequence[str], questions: Sequence[ChunkQuestion], raters: Raters
    ) -> None:
        self.criteria = list(criteria)
        self.questions = questions
        self.raters = raters
        self.block: JudgedBlock | None = None
        self.rater: list[int] = []
        self.question: list[int] = []
        self.ranked: list[dict[str, Any]] = []

    def add_judgements(self, rows: list[JudgementRow], position: dict[int, int]) -> list[dict[str, Any]]:
        """Add the chunk's valid persona judgements (before any human ranking). Returns their rankings.jsonl
        records on the general path; on the fast path the block writes them (`block_lines`)."""
        known: dict[tuple[int, int], int] = {}  # (judge job, persona) -> rater number
        raters = []
        for row in rows:
            number = known.get((row[1], row[2]))
            if number is None:
                number = known[(row[1], row[2])] = self.raters("persona", row[2], row[1])
            raters.append(number)
        rater = np.asarray(raters, dtype=np.int64)
        question = np.asarray([position[row[0]] for row in rows], dtype=np.int64)
        texts = [row[5] for row in rows]
        self.block = JudgedBlock.parse(rater=rater, question=question, texts=texts, criteria=self.criteria)
        if self.block is not None:
            return []
        return [
            self.record(int(r), int(q), ranks or {})
            for r, q, ranks in zip(rater, question, decode_ranks(texts), strict=True)
        ]

    def record(self, rater: int, question: int, ranks: Any) -> dict[str, Any]:
        """Add one ranking on the general path; returns its rankings.jsonl record."""
        ranked = {key: ranks[key] for key in self.criteria if key in ranks}
        self.rater.append(rater)
        self.question.append(question)
        self.ranked.append(ranked)
        chunk_question = self.questions[question]
        return ranking_record(
            rater_id=self.raters.pseudonyms[rater],
            kind=self.raters.kinds[rater],
            source=self.raters.sources[rater],
            question_id=chunk_question.label,
            split=chunk_question.split,
            response_ids=chunk_question.response_ids,
            rankings=ranked,
        )

    def block_lines(self) -> pa.StringArray | None:
        return None if self.block is None else self.block.lines(self.questions, self.raters)

    def _cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any]]:
        """The general path's cells: (ranking, criterion position, question, ranks), ranking-major."""
        ranking, criterion, values = [], [], []
        for number, ranked in enumerate(self.ranked):
            for position, key in enumerate(self.criteria):
                if key in ranked:
                    ranking.append(number)
                    criterion.append(position)
                    values.append(ranked[key])
        ranking_index = np.asarray(ranking, dtype=np.int64)
        question = np.asarray(self.question, dtype=np.int64)[ranking_index] if ranking else ranking_index
        return ranking_index, np.asarray(criterion, dtype=np.int64), question, values

    def parquet_table(self) -> pa.Table:
        """The rankings Parquet rows: one per cell, ranking by ranking, criteria in the set's order."""
        n_criteria = len(self.criteria)
        ranking, criterion, _, values = self._cells()
        rater = np.asarray(self.rater, dtype=np.int64)[ranking] if len(ranking) else ranking
        question = np.asarray(self.question, dtype=np.int64)[ranking] if len(ranking) else ranking
        ranks = pa.array(values, RANKS_TYPE)
        if self.block is not None:
            size = len(self.block)
            rater = np.concatenate([np.repeat(self.block.rater, n_criteria), rater])
            question = np.concatenate([np.repeat(self.block.question, n_criteria), question])
            criterion = np.concatenate([np.tile(np.arange(n_criteria), size), criterion])
            # Criterion-major columns, taken into ranking-major order.
            order = (np.arange(n_criteria)[None, :] * size + np.arange(size)[:, None]).ravel()
            block_ranks = pa.concat_arrays([self.block.ranks[key] for key in self.criteria]).take(order)
            ranks = pa.concat_arrays([block_ranks, ranks])
        columns = [
            pa.array(self.raters.pseudonyms, pa.string()).take(rater),
            pa.array(self.raters.kinds, pa.string()).take(rater),
            pa.array(self.raters.sources, pa.string()).take(rater),
            pa.array([q.label for q in self.questions], pa.string()).take(question),
            pa.array([q.split for q in self.questions], pa.string()).take(question),
            pa.array(self.criteria, pa.string()).take(criterion),
            pa.array([q.response_ids for q in self.questions], RESPONSE_IDS_TYPE).take(question),
            ranks,
        ]
        return pa.Table.from_arrays(columns, schema=RANKING_SCHEMA)

    def aggregate(self, *, allow_ties: bool, strategy: PairStrategy, min_margin: float) -> ChunkOutcome:
        """Aggregate every item (question x criterion, ranked or not): one vectorised pass per K."""
        questions = self.questions
        n_questions = len(questions)
        ranking, criterion, question_of_cell, values = self._cells()
        rater_of_cell = np.asarray(self.rater, dtype=np.int64)[ranking] if len(ranking) else ranking
        arranged = [
            self._arrange(np.flatnonzero(criterion == position), question_of_cell, rater_of_cell)
            for position in range(len(self.criteria))
        ]
        k_of = np.asarray([len(q.response_ids) for q in self.questions], dtype=np.int64)
        outcome = ChunkOutcome(
            items=n_questions * len(self.criteria), no_preference=dict.fromkeys(self.criteria, 0)
        )
        pairs: dict[str, list[list[PreferencePair]]] = {
            key: [[] for _ in self.questions] for key in self.criteria
        }
        for k in np.unique(k_of).tolist():
            members = np.flatnonzero(k_of == k)
            member_list = members.tolist()
            row_of = np.full(n_questions, -1, dtype=np.int64)
            row_of[members] = np.arange(len(members))
            width = max(int(cells.counts[members].max(initial=0)) for cells in arranged)
            ranks = np.zeros((len(self.criteria) * len(members), width, k), dtype=np.int64)
            present = np.zeros(ranks.shape[:2], dtype=bool)
            labels: list[ItemLabels] = []
            for position, (key, cells) in enumerate(zip(self.criteria, arranged, strict=True)):
                chosen = np.flatnonzero(k_of[cells.question] == k)
                rows = position * len(members) + row_of[cells.question[chosen]]
                slots = cells.slot[chosen]
                ranks[rows, slots] = self._values(key, cells, chosen, values, k, allow_ties)
                present[rows, slots] = True
                labels += [
                    (
                        questions[i].label,
                        key,
                        questions[i].response_ids,
                        cells.judge_keys[slice(*cells.bounds[i])],
                    )
                    for i in member_list
                ]
            batch = aggregate_rank_array(ranks, present=present, allow_ties=allow_ties)
            outcome.invalid += int(batch.n_invalid.sum())
            items = np.arange(len(labels))
            undecided = (batch.n_valid > 0) & ~(
                batch.scores[items, batch.best] > batch.scores[items, batch.worst]
            )
            for position, count in enumerate(undecided.reshape(len(self.criteria), -1).sum(axis=1).tolist()):
                outcome.no_preference[self.criteria[position]] += count
            found = extract_batch_pairs(batch, labels, strategy=strategy, min_margin=min_margin)
            for item, item_pairs in enumerate(found):
                position, row = divmod(item, len(members))
                pairs[self.criteria[position]][member_list[row]] = item_pairs
        outcome.pairs = {key: [pair for found in pairs[key] for pair in found] for key in self.criteria}
        return outcome

    def _arrange(
        self, mine: np.ndarray, question_of_cell: np.ndarray, rater_of_cell: np.ndarray
    ) -> _Arranged:
        """One criterion's cells (block rows first, then the general cells in `mine`) in item order: by
        question, then ranking order (judges before people), each with its slot among the item's raters."""
        question = question_of_cell[mine]
        rater = rater_of_cell[mine]
        if self.block is not None:
            question = np.concatenate([self.block.question, question])
            rater = np.concatenate([self.block.rater, rater])
        source = np.argsort(question, kind="stable")
        question = question[source]
        counts = np.bincount(question, minlength=len(self.questions))
        starts = np.cumsum(counts) - counts
        return _Arranged(
            mine=mine,
            source=source,
            question=question,
            slot=np.arange(len(source)) - starts[question],
            counts=counts,
            bounds=list(zip(starts.tolist(), (starts + counts).tolist(), strict=True)),
            judge_keys=[self.raters.keys[r] for r in rater[source].tolist()],
        )

    def _values(
        self, key: str, cells: _Arranged, chosen: np.ndarray, values: list[Any], k: int, allow_ties: bool
    ) -> np.ndarray:
        """`coerce_rows` of the chosen cells' rank vectors on one criterion, in their item order."""
        block_size = 0 if self.block is None else len(self.block)
        source = cells.source[chosen]
        out = np.zeros((len(source), k), dtype=np.int64)
        in_block = source < block_size
        if self.block is not None and in_block.any():
            out[in_block] = self.block.values(key, source[in_block], k)
        general = (source[~in_block] - block_size).tolist()
        if general:
            out[~in_block] = coerce_rows([values[cells.mine[c]] for c in general], k, allow_ties)
        return out
