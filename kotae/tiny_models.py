"""Tiny random-weight models built on the fly, for tests only.

kotae never downloads models, and tests run offline, so the generator backends are
exercised with a model made here: a 2-layer Llama (about 0.4 M parameters) with random
weights and a byte-level BPE tokenizer trained in about a second on short Japanese and
English business sentences. Its output is gibberish, but every code path is the real one:
loading from a folder, chat template, tokenization, generation, streaming, token counts.

The folder has the standard Hugging Face layout (``config.json``, ``model.safetensors``,
``tokenizer.json``, ``tokenizer_config.json``, ``chat_template.jinja``), so llama.cpp's
``convert_hf_to_gguf.py`` turns it into a GGUF for the llama-cpp-python backend.

:func:`build_tiny_cross_encoder` makes a 1-layer random BERT cross-encoder the same way, for
the reranker backend.

torch, transformers and tokenizers are imported inside the functions (test extras).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# Renders each message as "<|role|>\n{content}</s>\n", then "<|assistant|>\n" as the
# generation prompt. Plain Jinja that both transformers and llama-cpp-python render alike.
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

SPECIAL_TOKENS = ("<unk>", "<s>", "</s>", "<pad>")  # ids 0, 1, 2, 3

_TOPICS = (
    ("経費精算", "expense report"),
    ("出張旅費", "travel expense"),
    ("有給休暇", "paid leave"),
    ("API キー", "API key"),
    ("情報セキュリティ", "information security"),
    ("勤怠管理", "attendance record"),
    ("VPN 接続", "VPN access"),
    ("パスワード変更", "password reset"),
    ("社内ポータル", "intranet portal"),
    ("在宅勤務", "remote work"),
)
_JA_TEMPLATES = (
    "{}の申請期限は毎月末です。",
    "{}について総務部に問い合わせてください。",
    "{}の手続きは社内ポータルから行います。",
    "{}に関する規程は2025年4月に改定されました。",
    "{}の承認には上長の確認が必要です。",
    "{}の詳細は就業規則の第5章を参照してください。",
    "新入社員は入社初日に{}の説明を受けます。",
    "{}で不明な点があれば情報システム部へ連絡してください。",
    "{}の記録は3年間保存されます。",
    "{}の変更は翌月1日から有効になります。",
)
_EN_TEMPLATES = (
    "The {} request must be submitted by the end of the month.",
    "Ask the general affairs team about the {}.",
    "The {} procedure is on the internal portal.",
    "The {} policy was revised in April 2025.",
    "Your manager must approve the {} first.",
    "See chapter 5 of the work rules for the {} details.",
    "New employees learn about the {} on their first day.",
    "Contact the IT department if the {} does not work.",
    "Records of the {} are kept for three years.",
    "Changes to the {} take effect on the first of next month.",
)


def default_training_texts() -> list[str]:
    """200 short business sentences (100 Japanese, 100 English) to train the tokenizer."""
    texts = [template.format(ja) for ja, _ in _TOPICS for template in _JA_TEMPLATES]
    texts += [template.format(en) for _, en in _TOPICS for template in _EN_TEMPLATES]
    return texts


def build_tiny_llama(
    out_dir: Path, texts: Sequence[str] | None = None, vocab_size: int = 4000
) -> Path:
    """Write a tiny random Llama and its tokenizer to ``out_dir``; return ``out_dir``.

    The tokenizer is a byte-level BPE trained on ``texts`` (default:
    :func:`default_training_texts`) with at most ``vocab_size`` tokens; a small corpus
    yields fewer, and the model's vocabulary is sized to the tokenizer's actual one, so that
    every token the model can emit decodes. Special tokens: ``<unk>`` 0, ``<s>`` (bos) 1,
    ``</s>`` (eos) 2, ``<pad>`` 3. Weights are random but reproducible (seed 0).
    For tests only: the model knows nothing.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = list(texts) if texts is not None else default_training_texts()

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(corpus, trainer)

    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
    )
    tokenizer.chat_template = TINY_CHAT_TEMPLATE

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=172,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)

    tokenizer.save_pretrained(out_dir)
    model.save_pretrained(out_dir)
    return out_dir


def build_tiny_cross_encoder(
    out_dir: Path,
    corpus: Sequence[str],
    *,
    hidden_size: int = 16,
    max_length: int = 128,
    initializer_range: float = 0.3,
    seed: int = 0,
) -> Path:
    """A 1-layer random BERT with one output label (a cross-encoder reranker) and a
    WordPiece tokenizer trained on ``corpus`` (BERT's normalizer and pair template), saved
    to ``out_dir`` as a Hugging Face folder that sentence-transformers' ``CrossEncoder``
    loads. A wide ``initializer_range`` spreads the random scores apart."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import (  # type: ignore[attr-defined]
        BertConfig,
        BertForSequenceClassification,
        PreTrainedTokenizerFast,
    )

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=300, special_tokens=specials, show_progress=False
    )
    wordpiece.train_from_iterator(list(corpus), trainer)
    cls, sep = wordpiece.token_to_id("[CLS]"), wordpiece.token_to_id("[SEP]")
    wordpiece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=wordpiece,
        model_max_length=max_length,
        **{f"{name}_token": f"[{name.upper()}]" for name in ("pad", "unk", "cls", "sep", "mask")},
    )
    torch.manual_seed(seed)
    config = BertConfig(  # type: ignore[call-arg]
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=max_length,
        num_labels=1,
        initializer_range=initializer_range,
    )
    tokenizer.save_pretrained(str(out_dir))
    BertForSequenceClassification(config).save_pretrained(str(out_dir))
    return out_dir
