"""Published zero-shot cross-lingual reference numbers that the book prints beside its own results.

Plain data, no network access at run time. Every entry of :data:`PUBLISHED` is one number read in a
source, with that source named exactly (paper + table, or repository + path + commit). Nothing here
is recalled from memory or estimated; a number that could not be read in its source is left out and
listed in :data:`NOT_FOUND` instead.

What was looked for (brief of this module)
------------------------------------------
* UD-POS (XTREME ``udpos``), per language, mBERT and XLM-R Large, zero-shot from English, as the
  XTREME paper's appendix reports them (Hu et al. 2020, arXiv:2003.11080), for ar de en es fi fr hi
  id it ja pt ru tr zh (sv, pl: not XTREME languages, see below).
* PAN-X (WikiANN NER) F1 for es, nl (de, en), same two models.
* Tatoeba top-1 accuracy for ar de es fr nl ru tr zh, same two models.

What could be read, and what could not (state of this file)
-----------------------------------------------------------
**No per-language number could be read, so** :data:`PUBLISHED` **is empty.** The appendix tables of
arXiv:2003.11080 (and of XTREME-R, arXiv:2104.07412) were not reachable from the sources this
module was built from: the stored copies of the paper pages (arxiv-vanity, dokumen.tips, ar5iv)
are kept only from their beginning (abstract, introduction), the google-research/xtreme repository
holds no result tables (its README carries none in any version of its git history), and no public
repository in the index quotes those tables. :data:`NOT_FOUND` lists each missing table with where
to read it; fill :data:`PUBLISHED` from the PDF, one entry per number, with the table number.

What *was* read and is recorded here, with its source:

* which of the wanted languages each XTREME task covers (:data:`XTREME_LANGUAGES`), from
  ``XTREME_TASK2LANGS`` in google-research/xtreme ``evaluate.py`` (commit
  ``838c13b69daafb9328785d16caae2711e4012123``). All 14 POS languages above are XTREME ``udpos``
  languages; **sv and pl are not** (pl only joins in XTREME-R, ``XTREME_R_TASK2LANGS``; sv in neither);
  es, nl, de, en are ``panx`` languages; ar de es fr nl ru tr zh are ``tatoeba`` languages.
* how each task is scored (:data:`XTREME_SCORING`), from ``METRIC_FUNCTION`` in the same file.

Caveats a reader needs beside any XTREME number
-----------------------------------------------
* **UD-POS data.** XTREME's ``udpos`` is UD v2.5 (``scripts/download_data.sh``, ``download_treebank
  xtreme``) and, per language, *every* treebank of that language: ``utils_preprocess.py``
  ``udpos_preprocess`` concatenates all files with ``test`` in their name found in the language's
  directory, i.e. the test files of all of that language's treebanks (a PUD treebank, where there is
  one, is among them in full). The book's POS target uses the PUD evaluation half only, so XTREME's
  per-language test sets are different, multi-treebank, mixed-genre sets: not comparable number for
  number.
* **UD-POS metric.** ``evaluate.py`` scores ``udpos`` with ``f1`` = ``seqeval.metrics.f1_score`` over
  the UPOS tag sequences, the same call as for NER (``third_party/run_tag.py`` does the same). That
  is chunk F1 over runs of identical tags, not token accuracy (see
  :func:`xitcore.metrics.xtreme_seqeval_f1`). The paper's appendix POS table is headed "accuracy"
  according to google-research/xtreme issue #56 ("Table.20 POS accuracy results"), whose author
  reports that re-running the released code gives an XLM-R average close to the paper's (74.2 seqeval
  F1 vs the reported 73.8) while token accuracy is higher (78.23): i.e. the published POS numbers are
  most likely seqeval F1 under an "accuracy" header. The maintainers' answer in that (closed) issue
  could not be read. The book's POS headline is token accuracy: compare with care, or compare the
  book's ``seqeval_f1`` column instead.
* **PAN-X is WikiANN** (Pan et al. 2017; the Rahimi et al. splits), scored by entity-level seqeval F1
  (``'panx': f1``). It is not CoNLL-2002 (es, nl) or CoNLL-2003 (de, en): NER numbers quoted for
  those datasets (e.g. in model papers) are a different test set and not comparable with PAN-X ones.
* **Tatoeba** in XTREME: ``'tatoeba': accuracy`` (top-1) over sentences paired with English; the
  models are *not* fine-tuned for it in XTREME (2020): ``scripts/run_tatoeba.sh`` at
  commit ``d224426a1b4c98c2daa126436f95b3c4be122b86`` (2020-03-31) embeds sentences with the
  pre-trained model, mean-pooled (``run_retrieval.py`` default ``--pool_type mean``) hidden states of
  ``--specific_layer`` 7 (mBERT) / 13 (XLM-R Large, 24 layers), cosine similarity; the faiss index is
  built on the non-English side and queried with the English sentences (``utils_retrieve.py``
  ``similarity_search``: ``idx.add(x)`` source language, ``idx.search(y, 1)`` English), i.e. English
  queries. The current ``run_tatoeba.sh`` (XTREME-R) instead points at a SQuAD-fine-tuned XLM-R, so
  XTREME-R Tatoeba numbers are a different setting from XTREME's.
* **Model size.** XLM-R Large: 560M parameters per fairseq ``examples/xlmr/README.md`` (commit
  ``e23e5eaa321e2aa18330f1d13b70a9851e125901`` and later versions; the XLM-R paper's own figure could
  not be read here), 24 layers x 1024. mBERT (bert-base-multilingual-cased): 12 x 768. The book's
  encoder, multilingual-e5-small, has about 117.5M parameters (computed from the packaged file's
  dimensions: hidden 384, 12 layers, FFN 1536, 250037 vocabulary rows, 512 positions; 96.2M of them,
  82%, are the embedding layer), 12 x 384, i.e. roughly a fifth of XLM-R Large. It was also
  contrastively fine-tuned on text pairs (``xitcore.packaged``), which should favour retrieval
  (Tatoeba) more than tagging.
* Re-runs of the released XTREME code do not always reach the paper's numbers: google-research/xtreme
  issue #8 (XQuAD, mBERT: several languages far below the paper) and #65 (XNLI, PAWS-X, mBERT). A gap
  of a point or two between the book and a published number says little on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: the keys every entry of :data:`PUBLISHED` carries
ENTRY_KEYS = ("task", "language", "model", "metric", "value", "source")

#: model names as the book prints them (columns of :func:`published_table`)
MODELS = ("mBERT", "XLM-R Large")

#: task keys (XTREME's own names)
TASKS = ("udpos", "panx", "tatoeba")

XTREME_REPO = "google-research/xtreme"
XTREME_COMMIT = "838c13b69daafb9328785d16caae2711e4012123"  # newest stored snapshot read for this module
XTREME_2020_COMMIT = (
    "d224426a1b4c98c2daa126436f95b3c4be122b86"  # the repository's first commit (2020-03-31): the 2020 baseline scripts
)


def _languages(codes: str) -> tuple[str, ...]:
    return tuple(codes.split())


#: The languages of each XTREME task, as listed in ``XTREME_TASK2LANGS`` in
#: google-research/xtreme ``evaluate.py`` at :data:`XTREME_COMMIT` (copied in that file's order).
XTREME_LANGUAGES: dict[str, tuple[str, ...]] = {
    "udpos": _languages(
        "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo zh "
    ),
    "panx": _languages(
        "ar he vi id jv ms tl eu ml ta te af nl en de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw yo "
        "my zh kk tr et fi hu "
    ),
    "tatoeba": _languages(
        "ar he vi id jv tl eu ml ta te af nl de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw zh kk tr et fi hu "
    ),
}

#: How XTREME scores each task: ``METRIC_FUNCTION`` in ``evaluate.py`` at :data:`XTREME_COMMIT`
#: (``'udpos': f1``, ``'panx': f1``, ``'tatoeba': accuracy``; ``f1`` = ``seqeval.metrics.f1_score``).
XTREME_SCORING = {
    "udpos": "seqeval f1_score over UPOS tag sequences (chunk F1 over runs of identical tags), x100",
    "panx": "seqeval f1_score over IOB2 entity tags (entity-level F1), x100",
    "tatoeba": "top-1 accuracy of retrieving the paired sentence, x100",
}

#: The metric name to store with a number read from the paper (the table header, see the caveats).
METRIC = {
    "udpos": "POS 'accuracy' per the paper's table header (computed as seqeval F1 by the released code)",
    "panx": "F1",
    "tatoeba": "accuracy (top-1)",
}

#: Sources consulted, by key (the ``source`` of an entry should name one of these, plus a table number).
SOURCES = {
    "xtreme-paper": "Hu et al. 2020, XTREME, arXiv:2003.11080 (appendix: per-language results per task)",
    "xtreme-r-paper": "Ruder et al. 2021, XTREME-R, arXiv:2104.07412 (appendix: per-language results)",
    "xtreme-evaluate": f"{XTREME_REPO} evaluate.py @ {XTREME_COMMIT}",
    "xtreme-udpos-prep": f"{XTREME_REPO} utils_preprocess.py (udpos_preprocess), scripts/download_data.sh "
    f"(download_treebank) @ {XTREME_COMMIT}",
    "xtreme-tatoeba-2020": f"{XTREME_REPO} scripts/run_tatoeba.sh, third_party/run_retrieval.py, "
    f"third_party/utils_retrieve.py @ {XTREME_2020_COMMIT}",
    "xtreme-issue-56": "https://github.com/google-research/xtreme/issues/56 (POS table header vs seqeval F1)",
    "fairseq-xlmr": "facebookresearch/fairseq examples/xlmr/README.md @ e23e5eaa321e2aa18330f1d13b70a9851e125901 "
    "(xlmr.large: 560M params)",
}

#: Tables that were looked for and could not be read (so no entry of theirs is in PUBLISHED).
NOT_FOUND: list[dict] = [
    {
        "task": "udpos",
        "models": MODELS,
        "languages": ("ar", "de", "en", "es", "fi", "fr", "hi", "id", "it", "ja", "pt", "ru", "tr", "zh"),
        "where": SOURCES["xtreme-paper"] + "; the POS table (Table 20 in the arXiv version cited by xtreme issue #56)",
        "why": "stored copies of the paper hold only its beginning; no repository quotes the table",
    },
    {
        "task": "panx",
        "models": MODELS,
        "languages": ("es", "nl", "de", "en"),
        "where": SOURCES["xtreme-paper"] + "; the NER (PAN-X) table of the appendix",
        "why": "as above",
    },
    {
        "task": "tatoeba",
        "models": MODELS,
        "languages": ("ar", "de", "es", "fr", "nl", "ru", "tr", "zh"),
        "where": SOURCES["xtreme-paper"] + "; the Tatoeba table of the appendix",
        "why": "as above",
    },
]

#: Published numbers: one dict per number, keys :data:`ENTRY_KEYS`. ``value`` is on the paper's
#: 0-100 scale; ``source`` names the paper and table (or repo + path + commit) where it was read.
#: Empty: no per-language number could be read (see the module docstring and NOT_FOUND).
PUBLISHED: list[dict] = []


def validate_entry(entry: dict) -> dict:
    """Check one published entry; return it unchanged or raise ``ValueError``."""
    missing = [k for k in ENTRY_KEYS if k not in entry]
    if missing:
        raise ValueError(f"published entry lacks {missing}: {entry!r}")
    for k in ("task", "language", "model", "metric", "source"):
        if not isinstance(entry[k], str) or not entry[k].strip():
            raise ValueError(f"published entry has an empty {k!r}: {entry!r}")
    if entry["task"] not in TASKS:
        raise ValueError(f"published entry has unknown task {entry['task']!r} (known: {TASKS})")
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 100.0:
        raise ValueError(f"published value must be a number on the 0-100 scale: {entry!r}")
    return entry


def _check_all(entries: Iterable[dict]) -> None:
    seen = set()
    for e in entries:
        validate_entry(e)
        key = (e["task"], e["language"], e["model"])
        if key in seen:
            raise ValueError(f"two published entries for {key}")
        seen.add(key)


_check_all(PUBLISHED)


def published_entries(task: str | None = None) -> list[dict]:
    """The entries of :data:`PUBLISHED` (of one task, if given), validated."""
    rows = [e for e in PUBLISHED if task is None or e["task"] == task]
    _check_all(rows)
    return rows


def published_table(task: str, languages: Sequence[str], models: Sequence[str] | None = None) -> list[dict]:
    """One row per language of ``languages`` (in that order): ``{"language": l, <model>: value or None, ...,
    "in_xtreme": bool}``.

    Columns are :data:`MODELS` (or ``models``) followed by any other model :data:`PUBLISHED` has for the
    task. A missing number is ``None``; ``in_xtreme`` says whether XTREME has the task for that language
    at all (``False``: no number can exist, e.g. sv/pl for udpos), so a printer can tell "not in XTREME"
    from "not transcribed".
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r} (known: {TASKS})")
    entries = published_entries(task)
    cols = list(models) if models is not None else list(MODELS)
    for e in entries:
        if models is None and e["model"] not in cols:
            cols.append(e["model"])
    value = {(e["language"], e["model"]): float(e["value"]) for e in entries}
    covered = set(XTREME_LANGUAGES[task])
    rows = []
    for lang in languages:
        row = {"language": lang}
        for m in cols:
            row[m] = value.get((lang, m))
        row["in_xtreme"] = lang in covered
        rows.append(row)
    return rows


# ------------------------------------------------------------------ the paper's own numbers (task averages)
# The X-STILTs numbers are read in google-research/multilingual-t5 README.md lines 43-49 (the results table,
# commit 9dcd60fc43c31a8651461f9a21894a134ba22166), which quotes Phang et al. 2020's XTREME submission (X-STILTs:
# the best intermediate task per target task) beside XLM-R Large; the claims ledger (claims.SUBMISSION) reads the
# same table at an earlier commit, and tests/test_published.py keeps the two equal.
# The table gives one number per task: the average over the task's XTREME languages. The README heads it
# "zero-shot ... (showing F1 scores)"; XNLI and PAWS-X are accuracy in XTREME (evaluate.py METRIC_FUNCTION).
# Split: the README names none; mT5 and XTREME report XTREME's evaluation split, which is the test set for every
# task here except TyDiQA-GoldP, whose dev set XTREME evaluates (XTREME has no GoldP test set).
MT5_README = (
    "google-research/multilingual-t5 README.md:43-49 @ 9dcd60fc43c31a8651461f9a21894a134ba22166 "
    "(results table: X-STILTs row, XLM-R row)"
)
SOURCES["mt5-readme"] = MT5_README

#: xitcore task -> (metric as this project's results name it, XLM-R Large, X-STILTs, split)
PAPER_TASK_AVERAGES: dict[str, tuple[str, float, float, str]] = {
    "xnli": ("accuracy", 79.2, 80.4, "test"),
    "pawsx": ("accuracy", 86.4, 87.7, "test"),
    "panx": ("span_f1", 65.4, 64.7, "test"),
    "xquad": ("f1", 76.6, 77.2, "test"),
    "mlqa": ("f1", 71.6, 72.3, "test"),
    "tydiqa": ("f1", 65.1, 76.0, "dev (XTREME's TyDiQA-GoldP evaluation split)"),
}
PAPER_MODELS = ("XLM-R", "X-STILTs")


def paper_entries() -> list[dict]:
    """The mT5 README's X-STILTs / XLM-R numbers, one dict per (task, model): task, language "avg", model,
    metric, value, split, source."""
    rows = []
    for task, (metric, xlmr, xstilts, split) in PAPER_TASK_AVERAGES.items():
        for model, value in zip(PAPER_MODELS, (xlmr, xstilts)):
            rows.append(
                {
                    "task": task,
                    "language": "avg",
                    "model": model,
                    "metric": metric,
                    "value": value,
                    "split": split,
                    "source": MT5_README,
                }
            )
    return rows


def paper_comparison(df, preset: str = "paper"):
    """One row per task of :data:`PAPER_TASK_AVERAGES`: the published XLM-R and X-STILTs averages with their
    split, beside this preset's seed means of the same metric's zero-shot average (``language == "avg"``,
    phase target) per condition (keys named by condition; None where not run). ``df``: results.load_results.
    Note: XTREME averages include English; this project's "avg" leaves the training language out."""
    mine = df[(df.preset == preset) & (df.phase == "target") & (df.language == "avg")] if len(df) else df
    conds = sorted(mine.condition.unique()) if len(mine) else []
    out = []
    for task, (metric, xlmr, xstilts, split) in PAPER_TASK_AVERAGES.items():
        row = {
            "task": task,
            "metric": metric,
            "split": split,
            "XLM-R (published)": xlmr,
            "X-STILTs (published)": xstilts,
        }
        for c in conds:
            v = mine[(mine.condition == c) & (mine.task == task) & (mine.metric == metric)].value
            row[c] = round(float(v.mean()), 2) if len(v) else None
        out.append(row)
    return out
