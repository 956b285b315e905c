"""Exact-text overlap between the shipped training data and the shipped evaluated sets.

The train/test guard (pipeline.check_train_test_overlap) works on declared data sets: a task's shipped data
``trains_on`` a set, a target ``evaluates`` one. This audit checks those declarations against the text itself:
for every shipped intermediate task (English and translated data) it counts the training texts (sentences,
questions, choices, sentence pairs' sides) whose whitespace-normalised, case-folded form also occurs in an
evaluated set. Declared overlaps should be large; anything else is a coincidence of short sentences.

    .venv/bin/python scripts/audit_overlap.py
"""

from __future__ import annotations

from xitcore.config import PUD_LANGUAGES
from xitcore.corpus import normalize, split_sentences
from xitcore.data import read_conll2002, read_conllu, read_tatoeba, read_xcopa, read_xquad
from xitcore.data.paths import TATOEBA_ISO3, ud_file
from xitcore.data.treebanks import XCOPA_LANGS, XQUAD_NON_EN, load_pud
from xitcore.errors import DataError
from xitcore.tasks import SHIPPED_INTERMEDIATE, TASKS, load_task_examples


def texts_of(ex: dict) -> set[str]:
    out = [ex[k] for k in ("text_a", "text_b", "premise", "question") if ex.get(k)]
    out += split_sentences(ex["context"]) if ex.get("context") else []
    out += list(ex.get("choices") or [])
    out += [" ".join(ex["words"])] if "words" in ex else []
    return {n for n in map(normalize, out) if len(n) >= 3}


def evaluated_sets() -> dict[str, set[str]]:
    def ud(sents):
        return {normalize(s.text) for s in sents} | {normalize(" ".join(s.words)) for s in sents}

    tatoeba = set()
    for iso3 in sorted(set(TATOEBA_ISO3.values())):
        xx, en = read_tatoeba(iso3)
        tatoeba |= {normalize(s) for s in xx + en}
    return {
        "UD PUD evaluation half": set().union(*(ud(load_pud(lang, "evaluation")) for lang in PUD_LANGUAGES)),
        "UD English-EWT test": ud(read_conllu(ud_file("en", "ewt-test"))),
        "CoNLL-2002 testb": {normalize(" ".join(w)) for lang in ("es", "nl") for w, _ in read_conll2002(lang, "testb")},
        "XCOPA val": {
            normalize(it[k])
            for lang in XCOPA_LANGS
            for it in read_xcopa(lang, "val")
            for k in ("premise", "choice1", "choice2")
        },
        "XCOPA test": {
            normalize(it[k])
            for lang in XCOPA_LANGS
            for it in read_xcopa(lang, "test")
            for k in ("premise", "choice1", "choice2")
        },
        "XQuAD": {
            normalize(s)
            for lang in ["en", *XQUAD_NON_EN]
            for r in read_xquad(lang)
            for s in [*split_sentences(r["context"]), r["question"]]
        },
        "Tatoeba": tatoeba,
    }


def main() -> None:
    evaluated = {name: texts - {""} for name, texts in evaluated_sets().items()}
    print(f"{'task':<10} {'data':<11} {'texts':>6}  shared with an evaluated set (declared: *)")
    for task in SHIPPED_INTERMEDIATE:
        for data in ("en", "translated"):
            try:
                _, examples = load_task_examples(task, data)
            except DataError:
                continue
            if data == "translated" and not TASKS[task].translated:
                continue
            train = set().union(*(texts_of(ex) for ex in examples))
            shared = {name: len(train & texts) for name, texts in evaluated.items() if train & texts}
            cells = ", ".join(f"{name}{'*' if name in TASKS[task].trains_on else ''} {n}" for name, n in shared.items())
            print(f"{task:<10} {data:<11} {len(train):>6}  {cells or '-'}")


if __name__ == "__main__":
    main()
