"""Answer metrics, implemented exactly as the reference scripts of each dataset define them.

- :func:`squad_em` and :func:`squad_f1`: the official SQuAD v1.1 evaluation script
  (``evaluate-v1.1.py``, Rajpurkar et al.): lower-case, remove ASCII punctuation, remove the
  articles a/an/the, collapse whitespace; F1 over whitespace tokens; the maximum over the gold
  answers.
- :func:`char_f1`: JGLUE's JSQuAD metric (yahoojapan/JGLUE,
  ``fine-tuning/patch/transformers-4.9.2_jglue-1.1.0.patch``, ``squad_metrics.py``): the
  answer is lower-cased, a trailing 。 removed and whitespace collapsed (punctuation and
  articles are kept), then F1 is computed over characters; the maximum over the gold answers
  that are not empty after normalization.
- :func:`answer_in_evidence`: kotae's measure of extractive answers: whether a gold answer
  appears verbatim (after NFKC, whitespace removal, case folding) in one of the top-k
  evidence texts.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def squad_normalize(text: str) -> str:
    """``normalize_answer`` of the official SQuAD v1.1 evaluation script."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _squad_f1_one(prediction: str, gold: str) -> float:
    """``f1_score`` of the official script: token F1, 0 when no token is shared."""
    pred_tokens = squad_normalize(prediction).split()
    gold_tokens = squad_normalize(gold).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_f1(prediction: str, golds: Sequence[str]) -> float:
    """Token F1 of ``prediction`` against the best of ``golds`` (SQuAD v1.1)."""
    return max((_squad_f1_one(prediction, g) for g in golds), default=0.0)


def squad_em(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when ``prediction`` equals one of ``golds`` after SQuAD normalization, else 0.0."""
    pred = squad_normalize(prediction)
    return float(any(pred == squad_normalize(g) for g in golds))


def jglue_normalize(text: str) -> str:
    """``normalize_answer`` as JGLUE patches it: lower-case, trailing 。 removed, whitespace
    collapsed (punctuation and articles kept)."""
    return " ".join(text.lower().rstrip("。").split())


def _char_f1_one(prediction: str, gold: str) -> float:
    """``compute_f1`` as JGLUE patches it: F1 over the characters of the normalized texts."""
    gold_chars = list(jglue_normalize(gold))
    pred_chars = list(jglue_normalize(prediction))
    if not gold_chars or not pred_chars:
        return float(gold_chars == pred_chars)
    same = sum((Counter(gold_chars) & Counter(pred_chars)).values())
    if same == 0:
        return 0.0
    precision = same / len(pred_chars)
    recall = same / len(gold_chars)
    return 2 * precision * recall / (precision + recall)


def char_f1(prediction: str, golds: Sequence[str]) -> float:
    """Character F1 of ``prediction`` against the best of ``golds`` (JGLUE JSQuAD).

    As in JGLUE (transformers' ``get_raw_scores``), golds empty after normalization are
    ignored, and when none is left the prediction is compared with the empty answer.
    """
    usable = [g for g in golds if jglue_normalize(g)] or [""]
    return max(_char_f1_one(prediction, g) for g in usable)


def _squeeze(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def answer_in_evidence(evidence_texts: Sequence[str], golds: Sequence[str], k: int) -> bool:
    """Whether a gold answer appears in one of the first ``k`` evidence texts.

    Both sides are NFKC-normalized, stripped of all whitespace and lower-cased (Latin letters
    match whatever their case). Golds that are empty after this are ignored: an empty
    string is in every text.
    """
    wanted = [s for s in map(_squeeze, golds) if s]
    texts = [_squeeze(t) for t in evidence_texts[:k]]
    return any(g in t for g in wanted for t in texts)
