"""Write docs/data-dictionary.md from the current questionnaire and the de-identification policy."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from survey_app.analysis.dictionary import data_dictionary_markdown
from survey_app.selectors import instrument_current

DEFAULT_PATH = Path(settings.BASE_DIR) / "docs" / "data-dictionary.md"


def data_dictionary_document() -> str:
    instrument = instrument_current()
    items = list(instrument.items.select_related("instrument").order_by("position", "id"))
    return data_dictionary_markdown(items=items, version=instrument.version)


class Command(BaseCommand):
    help = "Write the data dictionary (every exported variable and its disclosure class) as Markdown."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", type=Path, default=DEFAULT_PATH, help="Where to write it.")
        parser.add_argument(
            "--check", action="store_true", help="Write nothing; fail if the file differs from a fresh one."
        )

    def handle(self, *args, output: Path, check: bool, **options) -> None:
        text = data_dictionary_document()
        if check:
            if not output.exists() or output.read_text() != text:
                raise CommandError(f"{output} is out of date: run `python manage.py data_dictionary`.")
            self.stdout.write(f"{output} is up to date.")
            return
        output.write_text(text)
        self.stdout.write(f"Wrote {output}.")
