"""MODPO (multi-objective DPO) on TRL's DPOTrainer, with margins from reward models computed once up front.

For a primary criterion k with weight w_k and margin reward models r_j with weights w_j (j != k):

    margin(x, y_w, y_l) = sum_{j != k} w_j * (r_j(x, y_w) - r_j(x, y_l))
    loss = -log sigmoid( (beta / w_k) * [(log pi(y_w) - log ref(y_w)) - (log pi(y_l) - log ref(y_l))]
                         - margin / w_k )

`MODPOTrainer` reuses TRL's sigmoid DPO loss unchanged: with beta' = beta / w_k and the reference log-prob of
the chosen response raised by margin / beta, TRL's logit

    beta' * [(log pi(y_w) - (log ref(y_w) + margin / beta)) - (log pi(y_l) - log ref(y_l))]

is exactly the MODPO logit above. TRL's collator would drop a `margin` column silently (the bug that makes
the study's original MODPO trainer train plain DPO), so the trainer carries it with its own collator.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from trl import DPOConfig, DPOTrainer

from .callbacks import RunCallbacks
from .configs import MODPORunConfig
from .dpo import (
    PreferenceRunPlan,
    dpo_arguments,
    held_out_sets,
    train_preference_policy,
    with_extra_columns,
)
from .margins import modpo_margins, write_margins
from .policy import PolicySetup
from .runtime import lora_config, read_artifact_metadata
from .snapshot import Snapshot, preference_dataset


@dataclass
class MODPOConfig(DPOConfig):
    """TRL `DPOConfig` plus the primary objective's weight w_k."""

    objective_weight: float = field(
        default=1.0,
        metadata={"help": "Weight w_k of the primary objective; the loss uses beta / w_k and margin / w_k."},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.objective_weight <= 1:
            raise ValueError(f"objective_weight (w_k) must be in (0, 1], got {self.objective_weight}.")
        # The margin enters through a shifted reference log-prob, which equals MODPO only for the plain
        # sigmoid loss on log-ratios.
        if list(self.loss_type) != ["sigmoid"]:
            raise ValueError(f"MODPO needs loss_type='sigmoid', got {self.loss_type}.")
        if self.f_divergence_type != "reverse_kl":
            raise ValueError(f"MODPO needs f_divergence_type='reverse_kl', got {self.f_divergence_type!r}.")


class MODPOTrainer(DPOTrainer):
    """DPOTrainer whose loss is the MODPO loss; the training dataset needs a float `margin` column.

    TRL's logged `rewards/*` metrics become MODPO's implicit rewards of the primary objective: computed with
    beta / w_k, and with the margin term booked on the chosen response, so `rewards/margins` is the mean
    MODPO logit and `rewards/accuracies` the share of pairs where it is positive. `modpo/margin` logs the
    batch's mean margin.
    """

    _tag_names = ["trl", "dpo", "modpo"]
    _name = "MODPO"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.args, MODPOConfig):
            raise TypeError(f"MODPOTrainer needs a MODPOConfig, got {type(self.args).__name__}.")
        self.modpo_args: MODPOConfig = self.args
        # TRL reads `self.beta` in the loss and its reward metrics, so its rewards are MODPO's implicit ones.
        self.beta = self.modpo_args.beta / self.modpo_args.objective_weight
        with_extra_columns(self, {"margin": torch.float32})

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        columns: list[str] = list(self._signature_columns or [])
        if "margin" not in columns:
            # transformers declares this cache as None only, though it holds the forward's column names.
            self._signature_columns = [*columns, "margin"]  # type: ignore[assignment]

    @contextlib.contextmanager
    def _reference_from_batch(self) -> Iterator[None]:
        """Make TRL read the (shifted) reference log-probs from the batch instead of recomputing them."""
        previous = self.precompute_ref_logps
        self.precompute_ref_logps = True
        try:
            yield
        finally:
            self.precompute_ref_logps = previous

    def _compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool) -> Any:
        inputs = dict(inputs)
        if "margin" not in inputs:
            raise ValueError("MODPOTrainer batches need a `margin` column; compute margins before training.")
        margin = inputs.pop("margin")
        if "ref_chosen_logps" not in inputs:
            reference = self.ref_model if self.ref_model is not None else self.model
            inputs["ref_chosen_logps"], inputs["ref_rejected_logps"] = self.compute_ref_log_probs(
                reference, inputs
            )
        ref_chosen = inputs["ref_chosen_logps"]
        inputs["ref_chosen_logps"] = (
            ref_chosen + margin.to(ref_chosen.device, ref_chosen.dtype) / self.modpo_args.beta
        )
        mode = "train" if model.training else "eval"
        self._metrics[mode]["modpo/margin"].append(self.accelerator.gather(margin.detach()).mean().item())
        with self._reference_from_batch():
            return super()._compute_loss(model, inputs, return_outputs)


def check_margin_reward_models(config: MODPORunConfig, snapshot: Snapshot) -> None:
    """The config fits the snapshot, and each margin artifact is a reward model of its criterion and set."""
    config.validate_against_snapshot(snapshot)
    for spec in config.margin_reward_models:
        metadata = read_artifact_metadata(spec.path)
        if metadata.get("kind") != "reward_model":
            raise ValueError(f"{spec.path} is a {metadata.get('kind')!r} artifact, not a reward model.")
        if metadata.get("criterion") != spec.criterion:
            raise ValueError(
                f"{spec.path} scores {metadata.get('criterion')!r}, but the config names {spec.criterion!r}."
            )
        trained_set = metadata.get("criteria_set", {}).get("key")
        if trained_set != snapshot.criteria_set_key:
            raise ValueError(
                f"The {spec.criterion!r} reward model at {spec.path} was trained on criteria set "
                f"{trained_set!r}, not on this snapshot's {snapshot.criteria_set_key!r}."
            )


def run_modpo(
    config: MODPORunConfig,
    snapshot_dir: str | Path,
    output_dir: str | Path,
    callbacks: RunCallbacks | None = None,
) -> dict[str, Any]:
    """Train a policy with MODPO: margins first (once, batched), then the MODPO loss on TRL's DPOTrainer."""

    def build(snapshot: Snapshot, policy: PolicySetup, out: Path) -> PreferenceRunPlan:
        weights = config.resolved_weights(snapshot)
        margins = modpo_margins(config, snapshot, hardware=policy.hardware)
        train_pairs, test_pairs, report = margins.train_pairs, margins.test_pairs, margins.report
        train_margins, test_margins = margins.train_margins, margins.test_margins
        margins_path = out / "margins.jsonl"
        write_margins(margins_path, [*train_pairs, *test_pairs], report.margins)
        train = preference_dataset(train_pairs, conversational=policy.conversational)
        train = train.add_column("margin", train_margins)
        test = None
        if test_pairs:
            test = preference_dataset(test_pairs, conversational=policy.conversational)
            test = test.add_column("margin", test_margins)
        args = dpo_arguments(
            MODPOConfig,
            config,
            out,
            policy.hardware,
            beta=config.beta,
            objective_weight=weights[config.criterion],
        )
        eval_sets, tested = held_out_sets({config.criterion: test}, config.evaluate_on_test)
        trainer = MODPOTrainer(
            model=policy.model,
            ref_model=policy.ref_model,
            args=args,
            train_dataset=train,
            eval_dataset=eval_sets,
            processing_class=policy.tokenizer,
            peft_config=lora_config(config),
        )
        metrics = {
            "n_train_pairs": len(train_pairs),
            "weights": weights,
            "margin_mean": sum(train_margins) / len(train_margins),
            "margin_abs_max": max(abs(m) for m in train_margins),
            "margin_unique_texts": report.unique_texts,
            "margin_models": report.per_model,
        }
        parents = [spec.path for spec in config.margin_reward_models]
        return PreferenceRunPlan(
            trainer,
            [config.criterion],
            {c: 1.0 for c in tested},
            metrics,
            parents,
            {"margins": str(margins_path)},
        )

    return train_preference_policy(
        config,
        snapshot_dir,
        output_dir,
        callbacks,
        method="modpo",
        validate=lambda snapshot: check_margin_reward_models(config, snapshot),
        build=build,
    )
