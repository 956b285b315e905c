"""Which items of an evaluated data set a condition's training data holds, text by text.

The train/test guard (``pipeline.check_train_test_overlap``) refuses a condition on two grounds:

* by declaration: a task's shipped data ``trains_on`` a set that a target ``evaluates``
  (``tasks.registry``); this also covers hub data, which cannot be read while planning;
* by item: a text of the shipped training data whose normalised form (NFKC, case-folded, whitespace
  collapsed: ``corpus.normalize``) is also a text of a shipped evaluated set — this module.

An evaluated set's items are its texts: sentences (PUD, EWT, GSD, CoNLL-2002 testb, the UNER sets; as written and
as their joined words), both sides of each Tatoeba pair, XCOPA premises and choices, XQuAD questions and context
sentences. A training example's texts are its sentences, sentence-pair sides, questions, choices and context
sentences. Texts without a letter ("...", a list number "2.") are not items.  Sets the project does not ship
(XNLI test, PAN-X, MLQA, ...) have no items here: the declaration is their only guard.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from .config import PUD_LANGUAGES
from .corpus import normalize, split_sentences
from .data import read_conll2002, read_conllu, read_tatoeba, read_xcopa, read_xquad
from .data.iob2 import read_iob2
from .data.paths import TATOEBA_ISO3, UNER_PUD_SETS, ud_file, uner_file
from .data.treebanks import XCOPA_LANGS, XQUAD_NON_EN, load_pud, pud_split, uner_pud_aligned
from .tasks import load_task_examples, registry

#: how many of the shared texts an error line or a run index quotes
QUOTED = 3


def _item(text: str) -> str | None:
    n = normalize(text)
    return n if any(c.isalpha() for c in n) else None  # a bare number ("2.") is no item: lists hold them anywhere


def _items(texts) -> frozenset[str]:
    return frozenset(i for i in map(_item, texts) if i)


def _ud(sentences) -> frozenset[str]:
    return _items([t for s in sentences for t in (s.text, " ".join(s.words))])


def _uner(sentences) -> frozenset[str]:
    return _items([t for s in sentences for t in (s.text, " ".join(s.words))])


def _uner_pud_evaluation() -> frozenset[str]:
    _, ev = pud_split()
    return _uner([uner_pud_aligned(lang)[i] for lang in UNER_PUD_SETS for i in ev])


def _uner_file(name: str) -> Callable[[], frozenset[str]]:
    return lambda: _uner(read_iob2(uner_file(name)))


def _xcopa(split: str) -> frozenset[str]:
    return _items(
        it[k] for lang in XCOPA_LANGS for it in read_xcopa(lang, split) for k in ("premise", "choice1", "choice2")
    )


def _tatoeba() -> frozenset[str]:
    out = []
    for iso3 in sorted(set(TATOEBA_ISO3.values())):
        xx, en = read_tatoeba(iso3)
        out += xx + en
    return _items(out)


def _xquad() -> frozenset[str]:
    rows = [r for lang in ["en", *XQUAD_NON_EN] for r in read_xquad(lang)]
    return _items([s for r in rows for s in (*split_sentences(r["context"]), r["question"])])


#: evaluated set (as tasks.registry names it) -> its items, for the sets the project ships
SHIPPED_EVALUATED: dict[str, Callable[[], frozenset[str]]] = {
    "UD PUD evaluation half": lambda: frozenset().union(*(_ud(load_pud(lang, "evaluation")) for lang in PUD_LANGUAGES)),
    "UD English-EWT test": lambda: _ud(read_conllu(ud_file("en", "ewt-test"))),
    "UD Japanese-GSD test": lambda: _ud(read_conllu(ud_file("ja", "gsd-test"))),
    "CoNLL-2002 testb": lambda: _items(" ".join(w) for lang in ("es", "nl") for w, _ in read_conll2002(lang, "testb")),
    registry.UNER_PUD_SET: _uner_pud_evaluation,
    registry.UNER_EWT_TEST_SET: _uner_file("ewt-test"),
    **{name: _uner_file(lang) for lang, name in registry.UNER_TEST_SET_NAMES.items()},
    registry.XCOPA_VAL_SET: lambda: _xcopa("val"),
    registry.XCOPA_TEST_SET: lambda: _xcopa("test"),
    registry.XQUAD_SET: _xquad,
    registry.TATOEBA_SET: _tatoeba,
}


@functools.cache
def evaluated_items(name: str) -> frozenset[str] | None:
    """The items of evaluated set ``name``; None for a set the project does not ship."""
    load = SHIPPED_EVALUATED.get(name)
    return load() if load else None


def example_texts(ex: dict) -> list[str]:
    """The texts of one training example (any kind)."""
    out = [ex[k] for k in ("text_a", "text_b", "premise", "question") if ex.get(k)]
    out += split_sentences(ex["context"]) if ex.get("context") else []
    out += list(ex.get("choices") or [])
    out += [" ".join(ex["words"])] if ex.get("words") else []
    return out


@functools.cache
def training_items(task: str, data: str = "en") -> frozenset[str]:
    """The items of shipped intermediate task ``task``'s ``data`` ("en" | "translated") training examples."""
    _, examples = load_task_examples(task, data)
    return _items(t for ex in examples for t in example_texts(ex))


def shared_items(task: str, data: str, evaluated: str) -> list[str]:
    """Sorted texts that ``task``'s shipped ``data`` training examples share with evaluated set ``evaluated``
    ([] when the project does not ship that set)."""
    items = evaluated_items(evaluated)
    return sorted(training_items(task, data) & items) if items else []


def describe(shared: list[str]) -> str:
    """'7 texts: "i bit my tongue.", "i missed the bus.", "i started it.", ...' for an error line or a run index."""
    quoted = ", ".join(f'"{t}"' for t in shared[:QUOTED]) + (", ..." if len(shared) > QUOTED else "")
    return f"{len(shared)} text{'s' if len(shared) != 1 else ''}: {quoted}"
