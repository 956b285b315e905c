"""Generate the book's notebooks from this file, so they stay reviewable as plain Python.

    .venv/bin/python notebooks/make_notebooks.py          # (re)write notebooks/*.ipynb
    .venv/bin/python notebooks/make_notebooks.py --check  # exit 1 if a committed notebook is stale

The notebooks hold no training logic: they call ``xitcore.config.notebook_config``,
``xitcore.pipeline.run_condition``, ``xitcore.results.load_results`` and the ``xitcore.book``
modules, and explain in Markdown what each table and figure shows.  The first code cell of each
is tagged ``parameters`` (papermill); ``backend`` is for the book tests only (a stand-in results
provider, see ``xitcore.book.use_backend``) and stays ``None`` for real runs.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

SETUP_BACKEND = (
    "import xitcore.book\n"
    "from IPython.display import Markdown, display\n"
    "_backend = xitcore.book.use_backend(backend)  # None: the real xitcore pipeline\n"
    "if backend:\n"
    "    display(Markdown(f\"> **Warning:** {_backend}; the numbers below are not results.\"))\n"
)


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(src: str, *tags: str):
    cell = new_code_cell(src.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def notebook(name: str, cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell.id = f"{name}-{i:02d}"  # stable ids: regenerating gives the same file
    return nb


# ---------------------------------------------------------------------------------------------
CONDITION = notebook("condition", [
    md("""
# Condition

One experimental condition of the study. Its training steps (multilingual MLM pre-training →
intermediate task → English target tasks) are run, or reused from the run store, by
`xitcore.pipeline.run_condition`; every number on this page is then read back from the long
results table (`xitcore.results.load_results`, see `docs/DESIGN.md`). This notebook trains
nothing itself. Papermill fills the parameters cell from `params/<preset>/<condition>.yaml`.
"""),
    code("""
preset = "smoke"
condition = "no-intermediate"
description = ""
seeds = [1, 2, 3]
languages = None
device = "cpu"
intermediate = None
mlm = None
model = None
overrides = {}
runs_dir = "runs"
backend = None
""", "parameters"),
    code(SETUP_BACKEND + """
import xitcore.config, xitcore.pipeline, xitcore.results
from xitcore.book import figures, tables

seeds, languages = xitcore.book.as_list(seeds), xitcore.book.as_list(languages)  # `papermill -p` passes text
overrides = xitcore.book.as_dict(overrides)
cfg = xitcore.config.notebook_config(preset=preset, condition=condition, seeds=seeds, languages=languages, device=device, overrides=dict(overrides, **{k: v for k, v in (("intermediate", intermediate), ("mlm", mlm), ("model", model)) if v}))
display(Markdown(f"**{cfg.condition}** — preset `{cfg.preset}`, seeds {list(cfg.seeds)}. {getattr(cfg, 'description', '') or description}"))
""", "hide-input"),
    md("""
## Run (or reuse) every step

Each step lives in `runs/<step>/<key>/`, where the key hashes the step's resolved configuration
and the keys of the steps it depends on, so a step that already finished is reused, not rerun.
The log of this cell is folded away.
"""),
    code("run_index = xitcore.pipeline.run_condition(cfg, runs_dir)", "hide-output"),
    code("""
results = xitcore.results.load_results(runs_dir)
df = tables.select(results, preset=cfg.preset, conditions=[cfg.condition], seeds=cfg.seeds)
print(f"{len(df)} result rows for {cfg.condition} (seeds {sorted(set(df.loc[~df.condition.str.startswith('baseline:'), 'seed']))}) and the baselines")
print(figures.source_note(df))
""", "hide-input"),
    md("""
## Part-of-speech tagging (UPOS)

The tagging head is trained on English only and evaluated on the PUD treebanks, the same
sentences translated into each language: `en` is the in-language check, every other row is
zero-shot transfer. Each value is the mean over seeds ± the standard deviation over seeds. The
two trivial baselines need no model at all (`baseline:majority`, `baseline:punct-majority`, from
`xitcore.baselines`); at smoke scale the interesting question is first whether the model beats
them, and only then whether the intermediate task moves it.
"""),
    code("tables.or_note(tables.pos_table(df, cfg.condition), 'No POS results for this condition.')"),
    code("figures.pos_by_language(df, conditions=[cfg.condition])"),
    md("""
## Named-entity recognition

Trained on English (NLTK's IEER, entity types mapped to PER/ORG/LOC) and evaluated zero-shot on
CoNLL-2002 Spanish and Dutch with strict span F1 over PER/ORG/LOC.
"""),
    code("tables.or_note(tables.metric_table(df, cfg.condition, 'ner'), 'No NER results for this condition.')"),
    code("figures.ner_by_language(df, conditions=[cfg.condition])"),
    md("""
## Sentence retrieval (Tatoeba)

Retrieval needs no task training: every non-English Tatoeba sentence is matched to its nearest
English sentence by cosine similarity of the encoder's sentence vectors, and top-1 is the share
matched to its own translation. It is measured on each checkpoint the condition has: after MLM
pre-training, after the intermediate task, and after target-task training.
"""),
    code("tables.or_note(tables.metric_table(df, cfg.condition, 'tatoeba'), 'No Tatoeba results for this condition.')"),
    code("figures.tatoeba_by_phase(df, conditions=[cfg.condition])"),
    md("""
## XCOPA

Only conditions whose intermediate task is COPA (`en-copa`, `ml-copa`) can answer XCOPA; chance
is 50 %.
"""),
    code("tables.or_note(tables.metric_table(df, cfg.condition, 'xcopa'), 'This condition has no XCOPA results.')"),
    md("""
## Did the encoder learn language? MLM loss vs the unigram-entropy floor

A model that predicted masked words from their corpus frequency alone would score the unigram
entropy. The claims ledger only judges transfer claims when the MLM loss is clearly (5 %) below
that floor; otherwise it reports them as not testable at this scale.
"""),
    code("tables.or_note(tables.mlm_table(df, cfg.condition), 'No MLM loss recorded for this condition.')"),
    md("""
## Tokenizer coverage

Scripts the English training data never shows (Devanagari danda `।`, CJK `。`) and rare characters
(Chinese above all) can fall outside a small vocabulary. Share of `<unk>` subwords and subwords per word on
each language's PUD evaluation half; evaluation is on syntactic words (UD splits contractions such as
`zur` → `zu der`), one label per word at its first non-empty subword.
"""),
    code("tables.or_note(tables.tokenizer_table(results[results.preset == cfg.preset]), 'No tokenizer statistics recorded.')"),
])

# ---------------------------------------------------------------------------------------------
COMPARISON = notebook("comparison", [
    md("""
# Comparison across conditions

All conditions of one preset side by side, read from the results table. `no-intermediate` is the
reference: it goes straight from MLM pre-training to the English target tasks. Differences are
seed means; spreads are standard deviations over seeds.
"""),
    code("""
preset = "smoke"
conditions = None
seeds = None
reference = "no-intermediate"
runs_dir = "runs"
backend = None
""", "parameters"),
    code(SETUP_BACKEND + """
import xitcore.results
from xitcore.book import figures, tables

conditions, seeds = xitcore.book.as_list(conditions), xitcore.book.as_list(seeds)
df = tables.select(xitcore.results.load_results(runs_dir), preset=preset, conditions=conditions, seeds=seeds)
print(f"{len(df)} result rows, {df.condition.nunique()} conditions incl. baselines;", figures.source_note(df))
""", "hide-input"),
    code("""
from IPython.display import Markdown
Markdown(tables.encoder_card(runs_dir, preset))
""", "hide-input"),
    md("""
## Overview

Zero-shot averages per condition (English excluded): POS over the 12 non-English PUD languages,
NER over Spanish and Dutch, Tatoeba over its languages (read on the intermediate checkpoint, or
on the MLM checkpoint for a condition without one), and their mean as a small analogue of the
paper's XTREME average.
"""),
    code("tables.overview(df)"),
    md("""
## Did phase ii learn its task?

Each intermediate task scored on an English dev set that its training never saw (dependency relations: EWT
dev; COPA: the XCOPA validation items' English machine translations; QA, NLI, sentiment: held-out items,
`intermediate.dev_fraction`). SQuAD-style F1/EM for QA, accuracy otherwise; seed mean ± sd.
"""),
    code("tables.or_note(tables.intermediate_dev_table(df), 'No English dev scores recorded (intermediate.dev_fraction is 0).')"),
    md("## Part-of-speech tagging per language"),
    code("figures.pos_by_language(df)"),
    code("figures.delta_heatmap(df, reference, 'pos', 'accuracy')"),
    md("""
### Δ to `no-intermediate` per language, with 95 % intervals over seeds

Each cell is the mean over seeds of (condition − `no-intermediate`) on the same seed, with a Student-t
interval over those paired differences; `·` marks an interval that excludes zero. One interval per cell and
no correction for the number of cells: read this table as exploratory (the claims ledger states its tests).
"""),
    code("tables.or_note(tables.delta_ci_table(df, reference, 'pos', 'accuracy'), 'No paired seeds to compare.')"),
    md("""
**Published numbers beside these.** XTREME's per-language UD-POS, PAN-X and Tatoeba results for mBERT and
XLM-R (Hu et al. 2020, appendix tables) could not be read from a source this project can cite offline, so no
per-language published column is printed; `xitcore/book/published.py` records what was searched and the
caveats (XTREME's UD-POS pools every UD treebank of a language and is scored with seqeval F1, not accuracy on
a PUD half; PAN-X is WikiANN, not CoNLL-2002). The traceable test-set averages of XLM-R and of the paper's
X-STILTs submission are in the claims ledger.
"""),
    md("## NER per language"),
    code("figures.ner_by_language(df)"),
    code("figures.delta_heatmap(df, reference, 'ner', 'span_f1')"),
    code("tables.or_note(tables.delta_ci_table(df, reference, 'ner', 'span_f1'), 'No paired seeds to compare.')"),
    md("""
## Retrieval by checkpoint

The paper found its largest gains on retrieval. Here each line follows one condition from the
MLM checkpoint through the intermediate checkpoint to the target checkpoint.
"""),
    code("figures.tatoeba_by_phase(df)"),
    code("figures.delta_heatmap(df, reference, 'tatoeba', 'top1', phases=('intermediate', 'mlm'))"),
    md("""
## By script and by family

Zero-shot POS averaged within scripts (Latin: de es fi fr id it pt tr; Arabic: ar; Devanagari:
hi; Cyrillic: ru; Han: zh) and within language families. Transfer across scripts is where a
small encoder trained briefly is expected to struggle most.
"""),
    code("figures.by_group(df)"),
    code("figures.by_group(df, mapping=tables.FAMILY, group_name='family')"),
    md("""
## The research question: English vs multilingual intermediate data

Each `ml-X` condition trains on the same kind of intermediate task as `en-X`, size-matched, but
in other languages. The claims ledger turns these pairs into verdicts.
"""),
    code("figures.en_vs_ml(df)"),
    md("## MLM loss vs the unigram-entropy floor"),
    code("figures.mlm_floor(df)"),
])

# ---------------------------------------------------------------------------------------------
CLAIMS = notebook("claims", [
    md("""
# Claims ledger

Each row is a claim of Phang et al. (2020), or this project's research question, with the
analogue that this study can measure (`test here`). For every seed the difference Δ =
treatment − reference is computed on the zero-shot scores; the row reports its mean, its
standard deviation and a 95 % t-interval over seeds. The verdict is computed, never typed:

* **supported**: the interval excludes 0 on the side the claim predicts;
* **contradicted**: it excludes 0 on the other side;
* **inconclusive**: it contains 0;
* **not testable at this scale**: with the reason (data not available offline, a condition or
  task missing, fewer than two seeds, or an encoder whose MLM loss is not clearly below the
  unigram-entropy floor).

The paper's figures are on XLM-R Large and XTREME; the numbers here come from a tiny encoder
and proxy tasks, so a verdict says what this run shows, not whether the paper is right.
"""),
    code("""
preset = "smoke"
seeds = None
runs_dir = "runs"
ledger_path = None
backend = None
""", "parameters"),
    code(SETUP_BACKEND + """
import xitcore.results
from xitcore.book import claims, figures, tables

seeds = xitcore.book.as_list(seeds)
df = tables.select(xitcore.results.load_results(runs_dir), preset=preset, seeds=seeds, baselines=False)
ledger = claims.ledger_table(df, preset=preset)
if ledger_path:
    from pathlib import Path
    Path(ledger_path).write_text(claims.ledger_yaml(ledger), encoding="utf-8")
print(figures.source_note(df))
""", "hide-input"),
    code("claims.style_ledger(ledger)", "full-width"),
    md("## Verdicts at a glance"),
    code("ledger['verdict'].value_counts().rename_axis('verdict').to_frame('claims')"),
    md("""
## Full records

Every column of the ledger, including the conditions compared, the seeds used and the direction
the claim predicts. The same records are written as YAML next to this chapter when the book is
built, and `python -m xitcore.book.claims` prints the claim definitions.
"""),
    code("ledger", "full-width"),
])

# ---------------------------------------------------------------------------------------------
EXPLORE = notebook("explore", [
    md("""
# Explorer

Pick conditions, languages, a task, a metric and a checkpoint, and the figure redraws from the
results table. **In this HTML book the figure below is a static rendering of the default
selection**; the controls are interactive when `notebooks/explore.ipynb` is opened in Jupyter
(with `ipywidgets`), e.g. `jupyter lab notebooks/explore.ipynb`.
"""),
    code("""
preset = "smoke"
seeds = None
runs_dir = "runs"
interactive = True
backend = None
""", "parameters"),
    code(SETUP_BACKEND + """
import xitcore.results
from xitcore.book import explorer, tables

seeds = xitcore.book.as_list(seeds)
df = tables.select(xitcore.results.load_results(runs_dir), preset=preset, seeds=seeds)
state = explorer.default_state(df)
print(f"default selection: task={state.task}, metric={state.metric}, phase={state.phase}, "
      f"{len(state.conditions)} conditions, {len(state.languages)} languages")
""", "hide-input"),
    code("explorer.redraw(state)"),
    code("""
if interactive:
    display(explorer.build_widgets(df, state))
else:
    print("Static rendering (book build). Open notebooks/explore.ipynb in Jupyter for the controls.")
"""),
])

NOTEBOOKS = {"condition": CONDITION, "comparison": COMPARISON, "claims": CLAIMS, "explore": EXPLORE}


def render(nb) -> str:
    return nbformat.writes(nb, version=4) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    stale = []
    for name, nb in NOTEBOOKS.items():
        nbformat.validate(nb)
        path = HERE / f"{name}.ipynb"
        text = render(nb)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"stale notebook(s): {', '.join(stale)}; run notebooks/make_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
