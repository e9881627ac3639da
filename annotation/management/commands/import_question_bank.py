"""Import a question bank from files on disk, as the import page does, and print the report as JSON."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.models import QuestionBank
from annotation.services.banks import BankImportError, question_bank_import

SOURCES = {
    "epitome": QuestionBank.Source.EPITOME,
    "counsel_chat": QuestionBank.Source.COUNSEL_CHAT,
    "questions": QuestionBank.Source.TABLE,
    "responses": QuestionBank.Source.RESPONSE_TABLE,
}


class Command(BaseCommand):
    help = (
        "Import a question bank (and the responses its files carry) from FILE(s): EPITOME takes its three "
        "files (one per mechanism) at once. Prints the import report as one JSON document; on any refusal "
        "exits non-zero, says why on stderr and writes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", type=Path)
        parser.add_argument("--source", required=True, choices=sorted(SOURCES))
        parser.add_argument("--name", required=True, help="Name of the new question bank.")
        size = parser.add_mutually_exclusive_group()
        size.add_argument("--test-count", type=int, help="Exact number of test questions (the study: 600).")
        size.add_argument("--test-fraction", type=float, help="Share of test questions (default 0.2).")
        parser.add_argument("--seed", default="study", help="Split seed (same seed, same split).")
        parser.add_argument("--stratify-by", help="Question metadata key to stratify the split by.")
        parser.add_argument("--format", choices=["csv", "jsonl"], help="Row format (default: detected).")
        parser.add_argument("--min-chars", type=int, default=1, help="Shortest question kept (characters).")
        parser.add_argument("--max-chars", type=int, default=20_000, help="Longest question kept.")
        parser.add_argument("--max-responses-per-question", type=int, help="Responses kept per question.")
        parser.add_argument("--response-origin", default="", help="Who wrote the responses.")
        parser.add_argument("--no-responses", action="store_true", help="Import the questions only.")

    def handle(self, *args, files: list[Path], **options) -> None:
        inputs = []
        for path in files:
            try:
                inputs.append((path.name, path.read_bytes()))
            except OSError as exc:
                raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        try:
            result = question_bank_import(
                name=options["name"],
                files=inputs,
                source=SOURCES[options["source"]],
                created_by=None,
                file_format=options["format"],
                split_seed=options["seed"],
                test_count=options["test_count"],
                test_fraction=options["test_fraction"],
                stratify_by=options["stratify_by"],
                min_chars=options["min_chars"],
                max_chars=options["max_chars"],
                import_responses=not options["no_responses"],
                response_origin=options["response_origin"],
                max_responses_per_question=options["max_responses_per_question"],
            )
        except BankImportError as exc:
            raise CommandError(f"Nothing was imported: {exc.message}") from exc
        self.stdout.write(json.dumps(result.summary(), indent=2, ensure_ascii=False))
