"""Pure metric functions and the project's local ``evaluate`` modules.

Every function here is a plain function of Python lists / arrays: no model, no I/O. Scores are
fractions in 0..1 (the results table multiplies accuracy/F1 by 100), except where a docstring says
otherwise. Malformed input (different numbers of sentences, a sentence whose gold and predicted
lengths differ, nothing to score) raises ``ValueError`` with one line saying what is wrong.

The local ``evaluate`` modules live in ``xitcore/metrics/<name>/<name>.py``; :func:`load_metric`
loads one by path, which works offline (``evaluate.load("seqeval")`` would need the Hub).
"""

from __future__ import annotations

import math
import re
import string
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "pos_accuracy",
    "xtreme_seqeval_f1",
    "span_f1",
    "ner_scores",
    "NER_MODES",
    "iob2_spans",
    "retrieval_top1",
    "multiple_choice_accuracy",
    "squad_normalize_answer",
    "squad_f1_em",
    "mean_ci",
    "t_quantile",
    "unigram_entropy",
    "available_metrics",
    "load_metric",
    "METRICS_DIR",
]

METRICS_DIR = Path(__file__).resolve().parent


# --------------------------------------------------------------------------- helpers


def _check_sequences(gold, pred, what: str = "sentence") -> None:
    """Same number of sequences, and each pair of the same length; else ValueError."""
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} {what}s but pred has {len(pred)}")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if isinstance(g, str) or isinstance(p, str):
            raise ValueError(f"{what} {i}: expected a list of tags, got a string")
        if len(g) != len(p):
            raise ValueError(f"{what} {i}: gold has {len(g)} tags but pred has {len(p)}")


# --------------------------------------------------------------------------- POS


def pos_accuracy(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    """Token accuracy (0..1) over lists of per-sentence tag lists.

    Every token counts once (micro average over all tokens of all sentences).
    Raises ValueError if the sentence counts differ, if sentence ``i`` has gold and predicted
    sequences of different lengths (the message names ``i``), or if there is no token at all.
    """
    _check_sequences(gold, pred)
    total = correct = 0
    for g, p in zip(gold, pred):
        total += len(g)
        correct += sum(1 for a, b in zip(g, p) if a == b)
    if total == 0:
        raise ValueError("pos_accuracy: no tokens to score")
    return correct / total


def xtreme_seqeval_f1(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    """The number XTREME's ``third_party/run_tag.py`` reports as "f1" for UD-POS (0..1).

    ``run_tag.py`` calls ``seqeval.metrics.f1_score(out_label_list, preds_list)`` on the raw UPOS
    label sequences (first sub-word of each word), in seqeval's default (conlleval-like,
    non-strict) mode. This function does exactly that with the installed ``seqeval``.

    **This is not token accuracy.** seqeval reads every label as a chunk tag: the first character
    is the IOBES prefix and the rest is the chunk type. ``NOUN`` becomes prefix ``N`` + type
    ``OUN``, ``PUNCT`` is ``P`` + ``UNCT``, and so on. Since ``N``, ``P``, ``V``, ... are not IOBES
    prefixes, a chunk is (almost always) a *maximal run of identical tags*: ``NOUN NOUN`` is one
    chunk spanning two words. The score is micro F1 over these runs, a predicted run counting only
    if its start, end and type all match a gold run. Consequently one wrong tag inside a gold run of
    length k costs the whole run, and merging/splitting runs costs extra false positives. Example
    (checked in tests/test_metrics.py)::

        gold  DET NOUN NOUN VERB PUNCT   -> runs DET[0] NOUN[1-2] VERB[3] PUNCT[4]       (4)
        pred  DET NOUN ADJ  VERB PUNCT   -> runs DET[0] NOUN[1] ADJ[2] VERB[3] PUNCT[4]  (5)
        correct runs 3: P = 3/5, R = 3/4, F1 = 2/3, while token accuracy = 4/5.

    Quirks of the letters that *are* IOBES prefixes: ``SCONJ`` and ``SYM`` start with ``S``
    ("single"), so each such word is its own chunk even when repeated; ``INTJ`` starts with ``I``
    and behaves like the other tags.

    Version note: XTREME's install script pins no seqeval version; the paper's numbers (2020) came
    from seqeval 0.0.12, which took the *whole* label as the type. seqeval >= 1.0 (what is
    installed here) takes ``label[1:]``, so ``CCONJ`` and ``SCONJ`` share the type ``CONJ`` and a
    sentence-final ``X`` (type ``_``, the same as the sentence-separating ``O``) is never closed
    and silently dropped. These corner cases change the score only slightly; with either version
    the number tracks, but is below, token accuracy.

    seqeval's "seems not to be NE tag" warnings are silenced. Sentences are passed as lists
    (seqeval only flattens nested *lists*), separated internally by an ``O`` as in seqeval.
    """
    _check_sequences(gold, pred)
    if sum(len(g) for g in gold) == 0:
        raise ValueError("xtreme_seqeval_f1: no tokens to score")
    from seqeval.metrics import f1_score

    g = [list(s) for s in gold]
    p = [list(s) for s in pred]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(f1_score(g, p))


# --------------------------------------------------------------------------- NER spans

_IOB2 = re.compile(r"^(O|[BI]-.+)$")

#: seqeval's two readings of IOB2 tags. "default" is seqeval's default mode, which reads chunks as the CoNLL
#: ``conlleval`` script does (an ``I-X`` after ``O`` or after another type starts an entity); CoNLL-2002 and
#: XTREME's PAN-X (``evaluate.py``, ``run_tag.py``) score with it. "strict" is ``mode="strict", scheme=IOB2``:
#: an entity must start with ``B-X``, so a stray ``I-X`` is no entity at all.
NER_MODES = ("default", "strict")


def _iob2_sentences(seqs, typeset, what: str) -> list[list[str]]:
    """Check IOB2 labels (ValueError naming sentence and position) and read other types as ``O``."""
    out = []
    for k, tags in enumerate(seqs):
        sent = []
        for i, tag in enumerate(tags):
            if not isinstance(tag, str) or not _IOB2.match(tag):
                where = f"{what} sentence {k}: " if what else ""
                raise ValueError(f"{where}tag {tag!r} at position {i} is not IOB2 (allowed: O, B-<type>, I-<type>)")
            sent.append("O" if typeset is not None and tag != "O" and tag[2:] not in typeset else tag)
        out.append(sent)
    return out


def _entities(sents: list[list[str]], mode: str) -> set[tuple[int, str, int, int]]:
    """``{(sentence, type, start, end_inclusive)}`` as seqeval reads them in ``mode``."""
    if mode == "default":
        from seqeval.metrics.sequence_labeling import get_entities

        # One sentence at a time: seqeval joins sentences with an "O", which ends any chunk the same way.
        return {(k, t, s, e) for k, sent in enumerate(sents) for t, s, e in get_entities(sent)}
    if mode == "strict":
        from seqeval.scheme import IOB2, Entities

        return {(e.sent_id, e.tag, e.start, e.end - 1) for ents in Entities(sents, IOB2).entities for e in ents}
    raise ValueError(f"NER mode {mode!r} is unknown; allowed: {', '.join(NER_MODES)}")


def iob2_spans(
    tags: Sequence[str], types: set[str] | frozenset[str] | None = None, mode: str = "strict"
) -> list[tuple[str, int, int]]:
    """Entity spans ``(type, start, end_inclusive)`` of one IOB2 tag sequence, as seqeval reads them.

    ``mode="strict"`` (seqeval ``mode="strict", scheme=IOB2``): an entity is ``B-X`` followed by any number of
    ``I-X``; an ``I-X`` that does not continue a ``B-X``/``I-X`` of the same type is not part of any entity.
    ``mode="default"`` (seqeval's default, conlleval's reading): such an ``I-X`` starts an entity of type X.
    If ``types`` is given, labels of other types are read as ``O``. Labels other than ``O``, ``B-*``, ``I-*``
    raise ValueError.
    """
    (sent,) = _iob2_sentences([list(tags)], None if types is None else frozenset(types), "")
    return sorted(((t, s, e) for _, t, s, e in _entities([sent], mode)), key=lambda x: (x[1], x[2], x[0]))


def _prf(n_correct: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = n_correct / n_pred if n_pred else 0.0
    r = n_correct / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def span_f1(
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    types: Iterable[str] | None = None,
    mode: str = "strict",
) -> dict:
    """Entity-span precision / recall / F1 (micro over all entities), each 0..1, computed by ``seqeval``.

    The entities of gold and pred are read by the ``seqeval`` package in ``mode`` (see :data:`NER_MODES`):
    ``"strict"`` (this function's default, kept for the callers that stored it under that meaning) or
    ``"default"`` (seqeval's default = conlleval, the headline NER number: see :func:`ner_scores`). A predicted
    entity is correct only if a gold entity has exactly the same sentence, start, end and type; precision,
    recall and F1 equal ``seqeval.metrics.{precision,recall,f1}_score`` in the same mode. ``types`` restricts
    scoring to those entity types: labels of any other type are turned into ``O`` in gold *and* pred first (so
    a predicted MISC is neither a false positive nor counted anywhere).

    Returns ``{"precision", "recall", "f1", "n_gold", "n_pred", "n_correct", "per_type", "mode"}`` where
    ``per_type[type] = {"precision", "recall", "f1", "support" (= number of gold entities),
    "n_pred", "n_correct"}``, for every type seen in gold or pred (and every requested type).
    A ratio whose denominator is 0 is 0.0 (seqeval's ``zero_division`` default), so empty
    predictions give precision = recall = f1 = 0.
    """
    _check_sequences(gold, pred)
    if mode not in NER_MODES:
        raise ValueError(f"NER mode {mode!r} is unknown; allowed: {', '.join(NER_MODES)}")
    typeset = None if types is None else frozenset(types)
    gold_spans = _entities(_iob2_sentences(gold, typeset, "gold"), mode)
    pred_spans = _entities(_iob2_sentences(pred, typeset, "pred"), mode)
    correct = gold_spans & pred_spans
    all_types = {s[1] for s in gold_spans | pred_spans} | set(typeset or ())
    per_type = {}
    for t in sorted(all_types):
        ng = sum(1 for s in gold_spans if s[1] == t)
        npred = sum(1 for s in pred_spans if s[1] == t)
        nc = sum(1 for s in correct if s[1] == t)
        p, r, f = _prf(nc, npred, ng)
        per_type[t] = {"precision": p, "recall": r, "f1": f, "support": ng, "n_pred": npred, "n_correct": nc}
    p, r, f = _prf(len(correct), len(pred_spans), len(gold_spans))
    return {
        "precision": p,
        "recall": r,
        "f1": f,
        "n_gold": len(gold_spans),
        "n_pred": len(pred_spans),
        "n_correct": len(correct),
        "per_type": per_type,
        "mode": mode,
    }


def ner_scores(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], types: Iterable[str] | None = None
) -> dict[str, float]:
    """The per-language NER record, in percent rounded to 2 decimals, both readings labelled.

    ``span_f1``, ``precision``, ``recall``: seqeval's default mode, i.e. conlleval's reading, which CoNLL-2002
    and XTREME's PAN-X scorer (``evaluate.py``: ``seqeval.metrics.f1_score(labels, predictions)``) report;
    this is the headline number. ``span_f1_strict``: seqeval ``mode="strict", scheme=IOB2`` F1, beside it
    (stray ``I-`` tags, frequent from small models, are no entities there, so it is usually the higher one).
    ``types`` as in :func:`span_f1`.
    """
    d = span_f1(gold, pred, types, mode="default")
    s = span_f1(gold, pred, types, mode="strict")
    pct = lambda v: round(100 * v, 2)  # noqa: E731
    return {
        "span_f1": pct(d["f1"]),
        "span_f1_strict": pct(s["f1"]),
        "precision": pct(d["precision"]),
        "recall": pct(d["recall"]),
    }


# --------------------------------------------------------------------------- retrieval / classification


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor without importing torch
        x = x.detach().cpu().float().numpy()
    return np.asarray(x, dtype=np.float64)


def retrieval_top1(src, tgt) -> float:
    """Top-1 accuracy of cosine nearest-neighbour retrieval (0..1): row ``i`` of ``src`` should
    retrieve row ``i`` of ``tgt`` among all rows of ``tgt``.

    Rows are L2-normalised (a zero row stays zero and so has similarity 0 to everything), the
    similarity matrix is ``src @ tgt.T``, and ties go to the lowest index (``argmax``). Accepts
    numpy arrays or torch tensors (any dtype/device) of shape ``(n, d)`` each.
    """
    s, t = _to_numpy(src), _to_numpy(tgt)
    if s.ndim != 2 or t.ndim != 2:
        raise ValueError(f"retrieval_top1: expected 2-d arrays, got shapes {s.shape} and {t.shape}")
    if s.shape != t.shape:
        raise ValueError(f"retrieval_top1: src shape {s.shape} != tgt shape {t.shape} (row i must match row i)")
    if s.shape[0] == 0:
        raise ValueError("retrieval_top1: no rows to score")
    if not (np.isfinite(s).all() and np.isfinite(t).all()):
        raise ValueError("retrieval_top1: embeddings contain NaN or inf")

    def norm(a):
        n = np.linalg.norm(a, axis=1, keepdims=True)
        return a / np.where(n > 0, n, 1.0)

    sim = norm(s) @ norm(t).T
    return float(np.mean(sim.argmax(axis=1) == np.arange(s.shape[0])))


def multiple_choice_accuracy(gold: Sequence[int], pred: Sequence[int]) -> float:
    """Fraction (0..1) of examples whose predicted choice index equals the gold index."""
    gold, pred = list(gold), list(pred)
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} examples but pred has {len(pred)}")
    if not gold:
        raise ValueError("multiple_choice_accuracy: no examples to score")
    return sum(int(g) == int(p) for g, p in zip(gold, pred)) / len(gold)


# --------------------------------------------------------------------------- SQuAD

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_normalize_answer(s: str) -> str:
    """Official SQuAD v1.1 ``normalize_answer``: lower-case, drop ASCII punctuation, drop the
    articles a/an/the, collapse whitespace (applied in that order, as in ``evaluate-v1.1.py``)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _squad_f1(pred: str, gold: str) -> float:
    p_toks = squad_normalize_answer(pred).split()
    g_toks = squad_normalize_answer(gold).split()
    common = Counter(p_toks) & Counter(g_toks)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(p_toks)
    recall = same / len(g_toks)
    return 2 * precision * recall / (precision + recall)


def squad_f1_em(gold_answers: Sequence[Sequence[str]], pred: Sequence[str]) -> dict:
    """SQuAD v1.1 token F1 and exact match, each the mean over questions of the max over that
    question's gold answers. Returns ``{"f1", "exact_match"}`` as fractions 0..1 (the official
    script prints the same numbers times 100)."""
    if len(gold_answers) != len(pred):
        raise ValueError(f"gold has {len(gold_answers)} questions but pred has {len(pred)}")
    if not pred:
        raise ValueError("squad_f1_em: no questions to score")
    f1 = em = 0.0
    for i, (golds, p) in enumerate(zip(gold_answers, pred)):
        if isinstance(golds, str):
            golds = [golds]
        if not golds:
            raise ValueError(f"question {i}: no gold answer")
        f1 += max(_squad_f1(p, g) for g in golds)
        em += max(float(squad_normalize_answer(p) == squad_normalize_answer(g)) for g in golds)
    return {"f1": f1 / len(pred), "exact_match": em / len(pred)}


# --------------------------------------------------------------------------- statistics


def t_quantile(p: float, df: float) -> float:
    """Quantile function of Student's t distribution (``scipy.stats.t.ppf``). ``t_quantile(0.975, 2) == 4.3027...``."""
    from scipy.stats import t

    if not 0.0 < p < 1.0:
        raise ValueError(f"t_quantile: p must be in (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"t_quantile: df must be > 0, got {df}")
    return float(t.ppf(p, df))


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval ``(mean, lo, hi)`` over e.g. seeds.

    ``lo, hi = mean -/+ t_{(1+confidence)/2, n-1} * s / sqrt(n)`` with ``s`` the sample standard
    deviation (ddof=1). One value gives ``(value, nan, nan)``; no value, or a NaN/inf value,
    raises ValueError.
    """
    v = [float(x) for x in values]
    if not v:
        raise ValueError("mean_ci: no values")
    if not all(math.isfinite(x) for x in v):
        raise ValueError(f"mean_ci: values must be finite, got {v}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"mean_ci: confidence must be in (0, 1), got {confidence}")
    n = len(v)
    m = math.fsum(v) / n
    if n == 1:
        return m, math.nan, math.nan
    s = math.sqrt(math.fsum((x - m) ** 2 for x in v) / (n - 1))
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * s / math.sqrt(n)
    return m, m - half, m + half


def unigram_entropy(token_id_counts) -> float:
    """Entropy in nats, ``-sum_i p_i ln p_i`` with ``p_i = c_i / sum(c)``, of a unigram distribution.

    ``token_id_counts`` is a mapping ``token_id -> count`` (e.g. a ``Counter``), or a 1-d
    sequence/array/tensor of counts indexed by token id. Zero counts are ignored.

    Meaning: the masked-LM cross-entropy (in nats, as the HF loss) of a model that ignores context
    and always predicts these unigram frequencies, when evaluated on the tokens the counts came
    from. An MLM loss at or above this number means the model has learned nothing beyond token
    frequencies. Count only tokens that can be MLM targets (leave out ``<s>``, ``</s>``, padding).
    """
    if isinstance(token_id_counts, Mapping):
        c = np.asarray(list(token_id_counts.values()), dtype=np.float64)
    else:
        c = _to_numpy(token_id_counts).ravel()
    if c.size and (not np.isfinite(c).all() or (c < 0).any()):
        raise ValueError("unigram_entropy: counts must be finite and >= 0")
    total = c.sum()
    if total <= 0:
        raise ValueError("unigram_entropy: no tokens counted")
    p = c[c > 0] / total
    return float(-(p * np.log(p)).sum())


# --------------------------------------------------------------------------- evaluate modules


def available_metrics() -> list[str]:
    """Names of the local evaluate modules (``xitcore/metrics/<name>/<name>.py``)."""
    return sorted(d.name for d in METRICS_DIR.iterdir() if d.is_dir() and (d / f"{d.name}.py").is_file())


def load_metric(name: str, **kwargs):
    """``evaluate.load`` of a local metric module by path (works with ``HF_HUB_OFFLINE=1``).

    Raises ValueError listing the available names if ``name`` is unknown.
    """
    names = available_metrics()
    if name not in names:
        raise ValueError(f"unknown metric {name!r}; available: {', '.join(names)}")
    import evaluate

    return evaluate.load(str(METRICS_DIR / name), **kwargs)
