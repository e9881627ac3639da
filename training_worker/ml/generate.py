"""Generate K candidate responses per question from a policy (study step 4, and evaluation inputs).

Questions are batched; each prompt is rendered with the policy's chat template and sampled K times in one
`generate` call (num_return_sequences). With a fixed seed, batch size and inputs the output is repeatable.

A prompt and its response must fit the policy's token limit (`token_limits`): a rendered prompt longer than
the limit minus `max_new_tokens` loses its start (its end and the assistant turn marker stay), is flagged
`prompt_truncated` and counted in the result's `truncated_prompts`.

`responses.jsonl` holds one line per response, {item_id, question_id, prompt, response, index, settings,
prompt_truncated} with item_id "<question_id>:<index>", which is also the single-response item format the
`score` method reads (see `score.py`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import GenerationMixin, PreTrainedModel, PreTrainedTokenizerBase, set_seed

from .callbacks import NullCallbacks, RunCallbacks
from .configs import ConfigFieldError, GenerationRunConfig, require_existing_path
from .runtime import finish_run, load_causal_lm, load_tokenizer, resolve_hardware
from .snapshot import load_snapshot
from .token_limits import model_token_limit

RESPONSES_FILE = "responses.jsonl"


def _render_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str) -> str:
    if tokenizer.chat_template is None:
        return prompt
    messages = [{"role": "user", "content": prompt}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if not isinstance(rendered, str):
        raise TypeError(f"The chat template rendered {type(rendered).__name__}, not text.")
    return rendered


def prompt_token_budget(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, max_new_tokens: int
) -> int | None:
    """Most prompt tokens that leave room for `max_new_tokens` within the model's limit (None: no limit)."""
    limit = model_token_limit(model.config, tokenizer)
    if limit is None:
        return None
    if max_new_tokens >= limit:
        raise ConfigFieldError(
            "max_new_tokens",
            f"max_new_tokens {max_new_tokens} leaves no room for a prompt within the policy's {limit}-token "
            f"limit; set it below {limit}.",
        )
    return limit - max_new_tokens


@torch.inference_mode()
def generate_responses(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    questions: Sequence[tuple[str, str]],
    config: GenerationRunConfig,
    callbacks: RunCallbacks | None = None,
) -> list[dict[str, Any]]:
    """K responses per (question_id, prompt), as the records of `responses.jsonl` (module docstring).

    Stops between batches when the callbacks ask to cancel; the responses generated so far are returned.
    """
    if not isinstance(model, GenerationMixin):
        raise TypeError(f"{type(model).__name__} cannot generate text.")
    callbacks = callbacks or NullCallbacks()
    budget = prompt_token_budget(model, tokenizer, config.max_new_tokens)
    set_seed(config.seed)
    # Left padding keeps each prompt's last token adjacent to the generated continuation; left truncation
    # keeps a long prompt's end, where the question closes and the assistant turn begins.
    tokenizer.padding_side = "left"
    tokenizer.truncation_side = "left"
    settings = config.settings()
    records: list[dict[str, Any]] = []
    batches = range(0, len(questions), config.batch_size)
    for number, start in enumerate(batches, start=1):
        if callbacks.should_cancel():
            break
        batch = questions[start : start + config.batch_size]
        rendered = [_render_prompt(tokenizer, prompt) for _, prompt in batch]
        # Chat templates already contain any BOS token; adding special tokens again would duplicate it.
        special = tokenizer.chat_template is None
        lengths = [
            len(ids) for ids in tokenizer(rendered, add_special_tokens=special, verbose=False)["input_ids"]
        ]
        encoded = tokenizer(
            rendered,
            return_tensors="pt",
            padding=True,
            truncation=budget is not None,
            max_length=budget,
            add_special_tokens=special,
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
            question = offset // config.num_responses
            question_id, prompt = batch[question]
            index = offset % config.num_responses
            records.append(
                {
                    "item_id": f"{question_id}:{index}",
                    "question_id": question_id,
                    "prompt": prompt,
                    "response": text.strip(),
                    "index": index,
                    "settings": settings,
                    "prompt_truncated": budget is not None and lengths[question] > budget,
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
    responses_path = output_dir / RESPONSES_FILE
    responses_path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    complete = len(records) == len(questions) * config.num_responses
    return finish_run(
        method="generate",
        config=config,
        snapshot=snapshot,
        output_dir=output_dir,
        status="completed" if complete else "cancelled",
        metrics={
            "questions": len(questions),
            "responses": len(records),
            # Prompts, not responses: each truncated prompt was answered num_responses times.
            "truncated_prompts": sum(r["prompt_truncated"] for r in records if r["index"] == 0),
        },
        artifacts={"responses": str(responses_path)},
        parents=[config.policy],
        hardware=hardware,
    )
