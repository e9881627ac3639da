"""Writes for question banks and imported candidate responses.

Every import parses its file(s) first (annotation.importers), applies the length filters and the seeded
split, and only then writes, in one transaction with bulk inserts: a failed import changes nothing. Each
import records the sha256 of its bytes, and the same bytes are never imported twice (question banks: anywhere;
response sets: into the same bank).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from annotation.importers import (
    ImportFormatError,
    ImportLimits,
    ImportResult,
    QuestionRecord,
    epitome_mechanism,
    parse_counsel_chat,
    parse_epitome,
    parse_epitome_files,
    parse_question_table,
    parse_response_table,
    split_train_test,
)
from annotation.models import CandidateResponse, Question, QuestionBank, ResponseSet
from core.errors import ApplicationError
from core.services import audit_record

BULK_BATCH = 1000
DEFAULT_TEST_FRACTION = 0.2
#: The stratum of questions whose metadata lacks the stratification key (or holds null there).
NO_STRATUM = "(none)"

#: One input file: its name (as uploaded or given on the command line) and its bytes.
ImportFile = tuple[str, bytes]


class BankImportError(ApplicationError):
    """The file cannot be imported as a whole; nothing was written. The message says why."""


class AlreadyImportedError(BankImportError):
    """The same bytes were imported before; ``existing`` is the question bank or response set they made."""

    def __init__(self, message: str, *, existing: QuestionBank | ResponseSet) -> None:
        super().__init__(message)
        self.existing = existing


@dataclass(frozen=True)
class BankImport:
    """What a question-bank import produced: the bank, its imported responses (if any) and the report."""

    bank: QuestionBank
    response_set: ResponseSet | None
    report: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """The import in one flat, JSON-serialisable record (what the import command prints)."""
        settings, split = self.bank.import_settings, self.report["split"]
        return {
            "bank_id": self.bank.pk,
            "name": self.bank.name,
            "source": self.bank.source,
            "file_sha256": self.bank.file_sha256,
            "files": settings["files"],
            "questions": self.report["rows_accepted"],
            "train": split["train"],
            "test": split["test"],
            "stratify_by": split["stratify_by"],
            "strata": split.get("strata"),
            "responses": self.report["responses_imported"],
            "response_set_id": self.response_set.pk if self.response_set else None,
            "rows_read": self.report["rows_read"],
            "rows_rejected": self.report["rows_rejected"],
            "rows_merged": self.report["rows_merged"],
            "merged_disagreeing": self.report["merged_disagreeing"],
        }


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def combined_sha256(file_hashes: Sequence[str]) -> str:
    """The import's hash: one file's own sha256, or for several the sha256 of their hex digests, sorted and
    joined by newlines (so the order the files are given in does not matter)."""
    if len(file_hashes) == 1:
        return file_hashes[0]
    return sha256_hex("\n".join(sorted(file_hashes)).encode("ascii"))


def _read_files(
    *, data: bytes | BinaryIO | None, file_name: str, files: Sequence[tuple[str, bytes | BinaryIO]] | None
) -> list[ImportFile]:
    """The files as (name, bytes): `files`, or `data` named `file_name`; refuses a file given twice."""
    if (data is None) == (files is None):
        raise ValueError("give either data (one file) or files")
    given = [(file_name, data)] if files is None else list(files)
    if not given:
        raise BankImportError("Choose at least one file.")
    # The importers refuse anything over the size limit; reading one byte more lets them see it.
    limit = ImportLimits().max_input_bytes + 1
    read = [(name, raw if isinstance(raw, bytes) else raw.read(limit)) for name, raw in given]
    names_by_hash: dict[str, list[str]] = defaultdict(list)
    for name, raw in read:
        names_by_hash[sha256_hex(raw)].append(name or "(unnamed)")
    twice = [names for names in names_by_hash.values() if len(names) > 1]
    if twice:
        raise BankImportError(f"The same file is given more than once: {', '.join(twice[0])}.")
    return read


def _parse(
    *, source: str, files: Sequence[ImportFile], file_format: str | None, response_origin: str
) -> ImportResult:
    fmt = file_format or None
    if len(files) > 1 and source != QuestionBank.Source.EPITOME:
        raise BankImportError(
            f"{QuestionBank.Source(source).label} takes one file; only EPITOME takes several (one per "
            "mechanism)."
        )
    (name, data), *_ = files
    try:
        if source == QuestionBank.Source.EPITOME:
            if len(files) > 1:
                return parse_epitome_files(files, file_format=fmt)
            return parse_epitome(data, file_format=fmt, mechanism=epitome_mechanism(name))
        if source == QuestionBank.Source.COUNSEL_CHAT:
            return parse_counsel_chat(data)
        if source == QuestionBank.Source.TABLE:
            return parse_question_table(data, file_format=fmt)
        if source == QuestionBank.Source.RESPONSE_TABLE:
            return parse_response_table(data, origin=response_origin, file_format=fmt)
    except ImportFormatError as exc:
        raise BankImportError(str(exc)) from exc
    raise BankImportError(f"Unknown source format {source!r}.")


def _issue(record_id: str, reason: str) -> dict[str, Any]:
    return {"row": None, "line": None, "record_id": record_id, "reason": reason}


def _length_filter(
    result: ImportResult, *, min_chars: int, max_chars: int
) -> tuple[list[Any], list[dict[str, Any]]]:
    kept, filtered = [], []
    for question in result.questions:
        size = len(question.text)
        if size < min_chars:
            filtered.append(
                _issue(question.external_id, f"question has {size} characters (minimum {min_chars})")
            )
        elif size > max_chars:
            filtered.append(
                _issue(question.external_id, f"question has {size} characters (maximum {max_chars})")
            )
        else:
            kept.append(question)
    return kept, filtered


def _grouped_responses(
    result: ImportResult, kept_ids: set[str], max_per_question: int | None
) -> tuple[dict[str, list[Any]], int]:
    """Responses per kept question in file order, capped at `max_per_question`; returns (groups, dropped)."""
    groups: dict[str, list[Any]] = defaultdict(list)
    dropped = 0
    for response in result.responses:
        if response.question_external_id not in kept_ids:
            continue
        group = groups[response.question_external_id]
        if max_per_question is not None and len(group) >= max_per_question:
            dropped += 1
            continue
        group.append(response)
    return groups, dropped


def _report(result: ImportResult, **extra: Any) -> dict[str, Any]:
    summary = result.report.summary()
    summary.update(extra)
    summary["rows_rejected"] = len(summary["rejected"]) + len(summary.get("filtered", []))
    return summary


_MISSING = object()


def _metadata_value(metadata: Mapping[str, Any], key: str) -> Any:
    """``metadata[key]``, or for a dotted key its nested value (``levels.explorations``); _MISSING if none."""
    if key in metadata:
        return metadata[key]
    value: Any = metadata
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _stratum(value: Any) -> str:
    if value is _MISSING or value is None:
        return NO_STRATUM
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _strata(questions: Sequence[QuestionRecord], key: str) -> dict[str, str]:
    """Each question's stratum: its metadata value at `key` as text; refused when no question has the key."""
    values = {q.external_id: _metadata_value(q.metadata, key) for q in questions}
    if all(value is _MISSING for value in values.values()):
        keys = sorted(
            {k for q in questions for k in q.metadata}
            | {
                f"{k}.{sub}"
                for q in questions
                for k, v in q.metadata.items()
                if isinstance(v, dict)
                for sub in v
            }
        )
        message = (
            f"No question has {key!r} in its metadata, so the split cannot be stratified by it "
            f"(keys found: {', '.join(keys) or 'none'})."
        )
        raise BankImportError(message, field_errors={"stratify_by": message})
    return {question_id: _stratum(value) for question_id, value in values.items()}


def _previous_bank_import(file_sha256: str, n_files: int) -> None:
    bank = QuestionBank.objects.filter(file_sha256=file_sha256).order_by("pk").first()
    if bank is not None:
        what = "These files were" if n_files > 1 else "This file was"
        raise AlreadyImportedError(f"{what} already imported as {bank.name} (id {bank.pk}).", existing=bank)


def question_bank_import(
    *,
    name: str,
    source: str,
    created_by: AbstractBaseUser | None,
    data: bytes | BinaryIO | None = None,
    file_name: str = "",
    files: Sequence[tuple[str, bytes | BinaryIO]] | None = None,
    file_format: str | None = None,
    split_seed: str = "study",
    test_count: int | None = None,
    test_fraction: float | None = None,
    stratify_by: str | None = None,
    min_chars: int = 1,
    max_chars: int = 20_000,
    import_responses: bool = True,
    response_origin: str = "",
    max_responses_per_question: int | None = None,
    description: str = "",
) -> BankImport:
    """Import a question bank (and, if the file carries them, its candidate responses as a response set).

    The input is one file (`data`, named `file_name`) or several (`files`, (name, bytes) pairs: EPITOME's one
    file per mechanism, merged by sp_id and rp_id). One question per unique question (EPITOME sp_id; Counsel
    Chat question text; table question_id), deduped by normalised text, kept when its length is within
    [min_chars, max_chars], then split train/test with :func:`annotation.importers.split_train_test` (give
    `test_count`, e.g. 600 as in the study, or `test_fraction`; default 0.2), stratified by the question
    metadata value `stratify_by` when given (a key, or a dotted path such as ``levels.explorations``;
    questions without it form the stratum ``(none)``).

    The bank records the sha256 of each file and of the import (:func:`combined_sha256`) in ``file_sha256``
    and ``import_settings["files"]``, and the split as ``split_seed``, ``test_count``, ``test_fraction``,
    ``stratify_by`` and ``split_counts``. Raises :class:`BankImportError` (nothing written) when the files
    as a whole are unusable, the name is taken, no question passes the filters, or
    (:class:`AlreadyImportedError`) the same bytes were imported before.
    """
    name = name.strip()
    stratify_by = (stratify_by or "").strip() or None
    if not name:
        raise BankImportError("Give the question bank a name.")
    if min_chars < 0 or max_chars < max(1, min_chars):
        raise BankImportError("The length filter needs 0 <= minimum <= maximum (and maximum >= 1).")
    if QuestionBank.objects.filter(name=name).exists():
        raise BankImportError(f"A question bank named {name!r} already exists.")
    inputs = _read_files(data=data, file_name=file_name, files=files)
    file_hashes = [sha256_hex(raw) for _, raw in inputs]
    file_sha256 = combined_sha256(file_hashes)
    _previous_bank_import(file_sha256, len(inputs))
    result = _parse(
        source=source, files=inputs, file_format=file_format, response_origin=response_origin or source
    )
    kept, filtered = _length_filter(result, min_chars=min_chars, max_chars=max_chars)
    if not kept:
        raise BankImportError(
            f"No question passes the length filter ({min_chars}-{max_chars} characters); nothing imported."
        )
    if test_count is None and test_fraction is None:
        test_fraction = DEFAULT_TEST_FRACTION
    strata = _strata(kept, stratify_by) if stratify_by else None
    try:
        split = split_train_test(
            [q.external_id for q in kept],
            seed=split_seed,
            test_count=test_count,
            test_fraction=test_fraction,
            strata=strata,
        )
    except ValueError as exc:
        raise BankImportError(f"Cannot split {len(kept)} questions: {exc}.") from exc
    test_ids = set(split.test)
    groups, dropped = _grouped_responses(result, {q.external_id for q in kept}, max_responses_per_question)
    with_responses = import_responses and any(groups.values())
    responses_imported = sum(map(len, groups.values())) if with_responses else 0
    split_counts = {"train": len(split.train), "test": len(split.test)}
    split_report: dict[str, Any] = {"seed": split_seed, **split_counts, "stratify_by": stratify_by}
    if strata is not None:
        in_test = Counter(strata[i] for i in split.test)
        split_report["strata"] = {
            stratum: {"train": size - in_test[stratum], "test": in_test[stratum]}
            for stratum, size in sorted(Counter(strata.values()).items())
        }
    report = _report(
        result,
        filtered=filtered,
        rows_accepted=len(kept),
        split=split_report,
        responses_over_limit=dropped,
        responses_imported=responses_imported,
    )
    mechanisms = {entry["name"]: entry["mechanism"] for entry in result.report.facts.get("files", [])}
    settings = {
        "file_name": ", ".join(file for file, _ in inputs),
        "files": [
            {"name": file, "sha256": sha, "bytes": len(raw)}
            | ({"mechanism": mechanisms.get(file) or epitome_mechanism(file)} if source == "epitome" else {})
            for (file, raw), sha in zip(inputs, file_hashes, strict=True)
        ],
        "file_sha256": file_sha256,
        "split_seed": split_seed,
        "test_count": test_count,
        "test_fraction": test_fraction,
        "stratify_by": stratify_by,
        "split_counts": split_counts,
        "min_chars": min_chars,
        "max_chars": max_chars,
        "max_responses_per_question": max_responses_per_question,
    }
    try:
        with transaction.atomic():
            bank = QuestionBank.objects.create(
                name=name,
                source=source,
                description=description,
                file_sha256=file_sha256,
                import_settings=settings,
                import_report=report,
                created_by=created_by,
            )
            questions = Question.objects.bulk_create(
                (
                    Question(
                        bank=bank,
                        external_id=record.external_id,
                        text=record.text,
                        text_sha256=record.text_sha256,
                        split="test" if record.external_id in test_ids else "train",
                        position=position,
                        metadata=record.metadata,
                    )
                    for position, record in enumerate(kept)
                ),
                batch_size=BULK_BATCH,
            )
            response_set = None
            if with_responses:
                response_set = ResponseSet.objects.create(
                    bank=bank,
                    name=f"{bank.name}: imported responses",
                    origin=ResponseSet.Origin.IMPORTED,
                    source=f"{source}:{settings['file_name']}" if settings["file_name"] else source,
                    import_report={"accepted_responses": responses_imported, "file_sha256": file_sha256},
                    created_by=created_by,
                )
                by_external = {question.external_id: question for question in questions}
                _bulk_responses(response_set, groups, by_external)
            audit_record(
                action="question_bank.import",
                actor=created_by,
                obj=bank,
                detail={
                    "source": source,
                    "file_name": settings["file_name"],
                    "file_sha256": file_sha256,
                    "questions": len(kept),
                    "rejected": report["rows_rejected"],
                    "merged": report["rows_merged"],
                    "responses": responses_imported,
                },
            )
    except IntegrityError as exc:
        raise BankImportError(f"The import conflicts with existing data ({exc}); nothing imported.") from exc
    return BankImport(bank=bank, response_set=response_set, report=report)


def _bulk_responses(
    response_set: ResponseSet, groups: dict[str, list[Any]], questions: dict[str, Question]
) -> int:
    rows = (
        CandidateResponse(
            response_set=response_set,
            question=questions[question_id],
            external_id=record.external_id,
            index=index,
            text=record.text,
            text_sha256=record.text_sha256,
            origin=record.origin,
            metadata=record.metadata,
        )
        for question_id, records in groups.items()
        for index, record in enumerate(records)
    )
    return len(CandidateResponse.objects.bulk_create(rows, batch_size=BULK_BATCH))


def response_set_import(
    *,
    bank: QuestionBank,
    name: str,
    data: bytes | BinaryIO,
    source: str,
    created_by: AbstractBaseUser | None,
    file_name: str = "",
    file_format: str | None = None,
    response_origin: str = "",
    max_responses_per_question: int | None = None,
) -> tuple[ResponseSet, dict[str, Any]]:
    """Import candidate responses for questions already in `bank` (matched by id, then by text).

    `source` is a bank source format that carries responses (epitome, counsel_chat, response_table).
    Responses to questions the bank does not hold are rejected with that reason. The file's sha256 is kept
    in the set's ``import_report``. Raises :class:`BankImportError` (nothing written) when no response
    matches, the name is taken or (:class:`AlreadyImportedError`) the same bytes were imported into this bank.
    """
    name = name.strip()
    if not name:
        raise BankImportError("Give the response set a name.")
    if source == QuestionBank.Source.TABLE:
        raise BankImportError("A question table has no responses; use a response table.")
    if ResponseSet.objects.filter(bank=bank, name=name).exists():
        raise BankImportError(f"{bank.name} already has a response set named {name!r}.")
    inputs = _read_files(data=data, file_name=file_name, files=None)
    file_sha256 = sha256_hex(inputs[0][1])
    previous = (
        ResponseSet.objects.filter(bank=bank, import_report__file_sha256=file_sha256).order_by("pk").first()
    )
    if previous is not None:
        raise AlreadyImportedError(
            f"This file was already imported into this bank as {previous.name} (id {previous.pk}).",
            existing=previous,
        )
    result = _parse(
        source=source, files=inputs, file_format=file_format, response_origin=response_origin or source
    )
    by_external = {q.external_id: q for q in bank.questions.all()}
    by_text = {q.text_sha256: q for q in by_external.values()}
    matched: dict[str, Question] = {}
    unmatched: list[dict[str, Any]] = []
    for record in result.questions:
        question = by_external.get(record.external_id) or by_text.get(record.text_sha256)
        if question is None:
            unmatched.append(
                _issue(record.external_id, "question is not in this bank; its responses skipped")
            )
        else:
            matched[record.external_id] = question
    groups, dropped = _grouped_responses(result, set(matched), max_responses_per_question)
    total = sum(map(len, groups.values()))
    if not total:
        raise BankImportError("No response belongs to a question in this bank; nothing imported.")
    # Two source questions may match the same bank question: their responses become one group, deduped.
    merged: dict[str, list[Any]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for source_id, records in groups.items():
        target = matched[source_id].external_id
        for record in records:
            if (target, record.text_sha256) not in seen:
                seen.add((target, record.text_sha256))
                merged[target].append(record)
    if max_responses_per_question is not None:
        for key, records in merged.items():
            dropped += max(0, len(records) - max_responses_per_question)
            merged[key] = records[:max_responses_per_question]
    total = sum(map(len, merged.values()))
    report = _report(
        result,
        filtered=unmatched,
        rows_accepted=total,
        responses_over_limit=dropped,
        file_sha256=file_sha256,
    )
    try:
        with transaction.atomic():
            response_set = ResponseSet.objects.create(
                bank=bank,
                name=name,
                origin=ResponseSet.Origin.IMPORTED,
                source=f"{source}:{file_name}" if file_name else source,
                import_report=report,
                created_by=created_by,
            )
            _bulk_responses(response_set, merged, {q.external_id: q for q in matched.values()})
            audit_record(
                action="response_set.import",
                actor=created_by,
                obj=response_set,
                detail={
                    "bank": bank.pk,
                    "source": source,
                    "file_name": file_name,
                    "file_sha256": file_sha256,
                    "responses": total,
                },
            )
    except IntegrityError as exc:
        raise BankImportError(f"The import conflicts with existing data ({exc}); nothing imported.") from exc
    return response_set, report
