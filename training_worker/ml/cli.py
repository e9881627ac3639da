"""Command line: train any method from an exported snapshot directory, without the web app.

    python -m training_worker.ml train --method modpo --snapshot SNAP --config modpo.yaml --output OUT
    python -m training_worker.ml train --method score --config score.yaml --output OUT  (items in the config)
    python -m training_worker.ml build-tiny-models --output DIR
    python -m training_worker.ml build-toy-snapshot --output DIR

Each command prints one JSON document (the run's result) on stdout; logs go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from .configs import config_from_dict
from .registry import METHODS, method_spec


class PrintProgress:
    """Report progress on stderr so that stdout stays one JSON document."""

    def on_progress(self, step: int, total: int, metrics: dict[str, float]) -> None:
        shown = {key: round(value, 4) for key, value in metrics.items() if key in {"loss", "eta_seconds"}}
        print(f"step {step}/{total} {shown}", file=sys.stderr)

    def should_cancel(self) -> bool:
        return False


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML or JSON config file (JSON is valid YAML) into a mapping."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} must contain a mapping of config fields.")
    return data


def _train(args: argparse.Namespace) -> dict[str, Any]:
    spec = method_spec(args.method)
    config = config_from_dict(spec.config_class, load_config_file(args.config))
    return spec.load_runner()(config, args.snapshot, args.output, PrintProgress())


def _build_tiny_models(args: argparse.Namespace) -> dict[str, Any]:
    from .tiny_models import build_tiny_models

    return build_tiny_models(args.output, seed=args.seed)


def _build_toy_snapshot(args: argparse.Namespace) -> dict[str, Any]:
    from .toy_data import write_toy_snapshot

    path = write_toy_snapshot(
        args.output, criteria_set=args.criteria_set, n_questions=args.questions, seed=args.seed
    )
    return {"snapshot": str(path)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training_worker.ml", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train",
        help="Train (or merge, generate, score) from a snapshot directory.",
        epilog="methods: " + "; ".join(f"{spec.key} = {spec.label}" for spec in METHODS.values()),
    )
    train.add_argument("--method", choices=list(METHODS), required=True)
    optional = ", ".join(spec.key for spec in METHODS.values() if not spec.needs_snapshot)
    train.add_argument(
        "--snapshot", type=Path, help=f"Exported snapshot directory (optional for {optional})."
    )
    train.add_argument("--config", type=Path, required=True, help="YAML or JSON run config.")
    train.add_argument(
        "--output", type=Path, required=True, help="Output directory (resumes if it has checkpoints)."
    )
    train.set_defaults(handler=_train)

    tiny = commands.add_parser("build-tiny-models", help="Build a tiny policy and reward backbone offline.")
    tiny.add_argument("--output", type=Path, required=True)
    tiny.add_argument("--seed", type=int, default=0)
    tiny.set_defaults(handler=_build_tiny_models)

    toy = commands.add_parser("build-toy-snapshot", help="Write a synthetic snapshot directory.")
    toy.add_argument("--output", type=Path, required=True)
    toy.add_argument("--criteria-set", default="therapeutic")
    toy.add_argument("--questions", type=int, default=24)
    toy.add_argument("--seed", type=int, default=0)
    toy.set_defaults(handler=_build_toy_snapshot)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; configuration errors exit with status 2 and a one-line message."""
    # The worker has no model hub access: fail fast on a missing local file instead of trying the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    if args.command == "train" and method_spec(args.method).needs_snapshot and args.snapshot is None:
        print(f"error: --snapshot is required for method {args.method!r}", file=sys.stderr)
        return 2
    try:
        # transformers prints each log line on stdout; keep stdout for the one JSON result.
        with contextlib.redirect_stdout(sys.stderr):
            result = args.handler(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str))
    return 0
