"""Generate K candidate responses per question from a policy (study step 4, and evaluation inputs).

Questions are batched; each prompt is rendered with the policy's chat template and sampled K times in one
`generate` call (num_return_sequences). With a fixed seed, batch size and inputs the output is repeatable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase, set_seed

from .callbacks import NullCallbacks, RunCallbacks
from .config import PRECISIONS, require_existing_path
from .runtime import finish_run, load_causal_lm, load_tokenizer, resolve_hardware
from .snapshot import SPLITS, load_snapshot


@dataclass(kw_only=True)
class GenerationRunConfig:
    """Sample responses from one policy."""

    policy: str = field(metadata={"help": "Policy directory: a full model or a LoRA adapter (`adapter/`)."})
    num_responses: int = field(default=5, metadata={"help": "Responses K per question."})
    temperature: float = field(
        default=0.8, metadata={"help": "Sampling temperature; 0 means greedy decoding."}
    )
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass."})
    max_new_tokens: int = field(default=256, metadata={"help": "Maximum tokens per response."})
    batch_size: int = field(default=8, metadata={"help": "Questions per generate call."})
    seed: int = field(default=0, metadata={"help": "Sampling seed."})
    split: str = field(default="test", metadata={"help": "Snapshot split whose questions to answer."})
    max_questions: int | None = field(default=None, metadata={"help": "Answer only the first N questions."})
    precision: str = field(
        default="auto", metadata={"help": "'fp32', 'bf16' or 'auto' (bf16 on capable GPUs)."}
    )

    def __post_init__(self) -> None:
        if self.num_responses < 1:
            raise ValueError(f"num_responses must be at least 1, got {self.num_responses}.")
        if self.temperature < 0:
            raise ValueError(f"temperature must be non-negative, got {self.temperature}.")
        if self.temperature == 0 and self.num_responses > 1:
            raise ValueError("Greedy decoding (temperature 0) gives one response; set num_responses=1.")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}.")
        if self.max_new_tokens < 1 or self.batch_size < 1:
            raise ValueError("max_new_tokens and batch_size must be at least 1.")
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}.")
        if self.max_questions is not None and self.max_questions < 1:
            raise ValueError(f"max_questions must be positive or None, got {self.max_questions}.")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}.")

    def settings(self) -> dict[str, Any]:
        """Sampling settings stored with every response, so each one can be traced and reproduced."""
        return {
            "policy": self.policy,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
            "batch_size": self.batch_size,
        }


def _render_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str) -> str:
    if tokenizer.chat_template is None:
        return prompt
    messages = [{"role": "user", "content": prompt}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


@torch.inference_mode()
def generate_responses(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    questions: Sequence[tuple[str, str]],
    config: GenerationRunConfig,
    callbacks: RunCallbacks | None = None,
) -> list[dict[str, Any]]:
    """K responses per (question_id, prompt): dicts {question_id, prompt, response, index, settings}.

    Stops between batches when the callbacks ask to cancel; the responses generated so far are returned.
    """
    callbacks = callbacks or NullCallbacks()
    set_seed(config.seed)
    # Left padding keeps each prompt's last token adjacent to the generated continuation.
    tokenizer.padding_side = "left"
    settings = config.settings()
    records: list[dict[str, Any]] = []
    batches = range(0, len(questions), config.batch_size)
    for number, start in enumerate(batches, start=1):
        if callbacks.should_cancel():
            break
        batch = questions[start : start + config.batch_size]
        # Chat templates already contain any BOS token; adding special tokens again would duplicate it.
        encoded = tokenizer(
            [_render_prompt(tokenizer, prompt) for _, prompt in batch],
            return_tensors="pt",
            padding=True,
            add_special_tokens=tokenizer.chat_template is None,
        ).to(model.device)
        sampling = {"do_sample": True, "temperature": config.temperature, "top_p": config.top_p}
        output = model.generate(
            **encoded,
            max_new_tokens=config.max_new_tokens,
            num_return_sequences=config.num_responses,
            pad_token_id=tokenizer.pad_token_id,
            **(sampling if config.temperature > 0 else {"do_sample": False}),
        )
        texts = tokenizer.batch_decode(output[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
        for offset, text in enumerate(texts):
            question_id, prompt = batch[offset // config.num_responses]
            records.append(
                {
                    "question_id": question_id,
                    "prompt": prompt,
                    "response": text.strip(),
                    "index": offset % config.num_responses,
                    "settings": settings,
                }
            )
        callbacks.on_progress(number, len(batches), {"responses": float(len(records))})
    return records


def run_generation(
    config: GenerationRunConfig,
    snapshot_dir: str | Path,
    output_dir: str | Path,
    callbacks: RunCallbacks | None = None,
) -> dict[str, Any]:
    """Answer the snapshot split's questions K times each; write `responses.jsonl` in `output_dir`."""
    callbacks = callbacks or NullCallbacks()
    output_dir = Path(output_dir)
    require_existing_path(config.policy, what="policy")
    snapshot = load_snapshot(snapshot_dir)
    questions = snapshot.questions(config.split)[: config.max_questions]
    hardware = resolve_hardware(config.precision)
    dtype = torch.bfloat16 if hardware.bf16 else torch.float32
    model = load_causal_lm(config.policy, dtype=dtype).to(hardware.device).eval()
    tokenizer = load_tokenizer(config.policy)
    records = generate_responses(model, tokenizer, questions, config, callbacks)
    output_dir.mkdir(parents=True, exist_ok=True)
    responses_path = output_dir / "responses.jsonl"
    responses_path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    complete = len(records) == len(questions) * config.num_responses
    return finish_run(
        method="generate",
        config=config,
        snapshot=snapshot,
        output_dir=output_dir,
        status="completed" if complete else "cancelled",
        metrics={"questions": len(questions), "responses": len(records)},
        artifacts={"responses": str(responses_path)},
        parents=[config.policy],
        hardware=hardware,
    )
