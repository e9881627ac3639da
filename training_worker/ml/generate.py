"""Generate K candidate responses per question from a policy (study step 4, and evaluation inputs).

Questions are batched; each prompt is rendered with the policy's chat template and sampled K times in one
`generate` call (num_return_sequences). With a fixed seed, batch size and inputs the output is repeatable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import GenerationMixin, PreTrainedModel, PreTrainedTokenizerBase, set_seed

from .callbacks import NullCallbacks, RunCallbacks
from .configs import GenerationRunConfig, require_existing_path
from .runtime import finish_run, load_causal_lm, load_tokenizer, resolve_hardware
from .snapshot import load_snapshot


def _render_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str) -> str:
    if tokenizer.chat_template is None:
        return prompt
    messages = [{"role": "user", "content": prompt}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if not isinstance(rendered, str):
        raise TypeError(f"The chat template rendered {type(rendered).__name__}, not text.")
    return rendered


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
    if not isinstance(model, GenerationMixin):
        raise TypeError(f"{type(model).__name__} cannot generate text.")
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
    # transformers wraps `to` with functools.wraps(Module.to), whose stub keeps the unbound `self` parameter.
    model = load_causal_lm(config.policy, dtype=dtype).to(hardware.device).eval()  # type: ignore[arg-type]
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
