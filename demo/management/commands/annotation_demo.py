"""Load the built-in preference-data demo: questions, responses, personas, synthetic rankings, a snapshot."""

from django.core.management.base import BaseCommand

from demo.preference_data import demo_seed


class Command(BaseCommand):
    help = (
        "Import the demo question bank (20 questions x 5 responses), six judge personas and seeded synthetic "
        "persona rankings, then freeze one dataset snapshot. Safe to run again: nothing is duplicated."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=0, help="Seed of the synthetic rankings.")

    def handle(self, *args, seed: int, **options) -> None:
        made = demo_seed(seed=seed)
        snapshot = made["snapshot"]
        pairs = snapshot.manifest["counts"]["pairs"]
        self.stdout.write(
            f"Question bank: {made['bank'].name} ({made['bank'].questions.count()} questions)\n"
            f"Response set: {made['response_set'].name}\n"
            f"Judge personas: {made['personas']}; synthetic judgements added: {made['judgements_added']}\n"
            f"Snapshot: {snapshot.name} {snapshot.content_hash} "
            f"({'new' if made['snapshot_created'] else 'unchanged'}; "
            f"{sum(v['train'] + v['test'] for v in pairs.values())} preference pairs)\n"
        )
