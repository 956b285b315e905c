"""The book's pages on a paper-shaped preset (SYNTHETIC records, tests/book_xtreme_synthetic.py): every family read
through tables.family_spec, one adjusted p per XTREME comparison on the answer page, the comparison tables and the
claims ledger; the in-language condition kept out of every family and verdict and shown apart; a language-fold
condition's languages grouped by what its phase ii trained on; phase ii's English dev scores beside chance, and a
condition whose task was not learnt shown without a verdict word. Expected values are computed here independently
(pandas groupby, scipy, statsmodels), not copied from the code under test."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from book_xtreme_synthetic import FOLDS, INLANG, paper_results
from scipy import stats as st
from statsmodels.stats.multitest import multipletests

from xitcore.book import claims as C
from xitcore.book import figures as F
from xitcore.book import statistics as S
from xitcore.book import tables as T
from xitcore.config import ANALYSIS_MEASURES, AnalysisConfig, load_analysis
from xitcore.errors import ConfigError
from xitcore.results import load_results

ENCODER = "xlm-roberta-large"  # the paper preset's encoder is pre-trained elsewhere: no MLM-floor check
EFFECTS = {"mt-mnli": 1.5, "mt-squad": -2.0, "en-squad": 2.0, "en-copa": 3.0, "ml-qa": -1.0, INLANG: 4.0}
XTREME_PAIRS = [("mt-mnli", "en-mnli"), ("tt-mnli", "en-mnli"), ("mt-squad", "en-squad"), ("tt-squad", "en-squad")]
SHIPPED_PAIRS = [("ml-qa", "en-qa"), ("ml-copa", "en-copa"), ("ml-deprel", "en-deprel")]


@pytest.fixture(scope="module")
def df():
    return paper_results(effects=EFFECTS, fold_gain=2.0)


@pytest.fixture(scope="module")
def an(df):
    return T.analyse(df)  # the families params/paper/_preset.yaml declares


@pytest.fixture(scope="module")
def ledger(df):
    return C.ledger_table(df, pretrained=ENCODER).set_index("id")


def zero_shot_means(df: pd.DataFrame, task: str, metric: str, phases=("target",)) -> pd.DataFrame:
    """Per (condition, seed): mean over the non-English languages of the first phase a condition has, computed
    here with plain pandas."""
    r = df[(df.task == task) & (df.metric == metric) & ~df.language.isin(["en", "avg", "all"])]
    out = []
    for cond, g in r.groupby("condition"):
        phase = next(p for p in phases if (g.phase == p).any())
        out.append(g[g.phase == phase].groupby("seed").value.mean().rename(cond))
    return pd.concat(out, axis=1)


def holm_family(df, pairs_by_measure) -> dict:
    """``(a, b, measure) -> Holm-adjusted p`` of paired t-tests over seeds, one family, by scipy + statsmodels."""
    keys, ps = [], []
    for measure, pairs in pairs_by_measure:
        spec = T.family_spec(measure)
        m = zero_shot_means(df, spec["task"], spec["metric"], spec["phases"])
        for a, b in pairs:
            if a in m and b in m:
                keys.append((a, b, measure))
                ps.append(st.ttest_rel(m[a], m[b]).pvalue)
    return dict(zip(keys, multipletests(ps, method="holm")[1]))


# ------------------------------------------------------------------------------------ declared in the params


def test_the_paper_preset_declares_its_xtreme_families():
    spec = load_analysis("paper")
    assert spec.primary_tasks[:2] == ["udpos", "panx"] and spec.primary_prefixes == ["ml", "mt", "tt"]
    assert spec.secondary_tasks == ["udpos", "panx", "xnli", "pawsx", "xquad", "mlqa", "tydiqa", "tatoeba", "bucc2018"]
    # every measure a preset may declare is one the pages can read, and no other
    assert T.all_families() == ANALYSIS_MEASURES
    for m in ANALYSIS_MEASURES:
        assert T.family_label(m)
    with pytest.raises(ConfigError, match=r"analysis\.secondary_tasks: task 'bleu' is unknown; allowed: .*udpos"):
        AnalysisConfig(secondary_tasks=["bleu"])
    with pytest.raises(ConfigError, match="analysis.primary_prefixes: 'en' is not a condition prefix") as e:
        AnalysisConfig(primary_prefixes=["en"])
    assert "\n" not in str(e.value)


# ------------------------------------------------------------------------------------ one p per comparison


def test_the_primary_family_is_the_declared_pairs_on_the_targets_they_have(df, an):
    found = {(f.a, f.b, f.family): f.p_holm for f in an.families[T.PRIMARY]}
    # mt-/tt- pairs on XTREME's UD-POS and PAN-X, ml- pairs on the shipped POS and NER they run: nothing else
    expected = holm_family(
        df, [(m, XTREME_PAIRS) for m in ("udpos", "panx")] + [(m, SHIPPED_PAIRS) for m in ("pos", "ner")]
    )
    assert set(found) == set(expected) and len(found) == 14
    for key, p in expected.items():
        assert found[key] == pytest.approx(p, rel=1e-9), key


def test_an_xtreme_comparison_has_one_adjusted_p_on_answer_comparison_and_ledger(df, an, ledger):
    found = T.answer_findings(df)
    table = T.answer_table(found).set_index(["A − B", "target task (zero-shot average)"])
    # the research question on UD-POS: the primary family
    f = an.find("mt-mnli", "en-mnli", "udpos")
    assert f.group == T.PRIMARY and 0 < f.p_holm < 1
    row = table.loc[("mt-mnli − en-mnli", T.family_label("udpos", short=True))]
    assert row["p (Holm)"] == f"{f.p_holm:.3f}" and row["reads"] == f.direction
    assert ledger.loc["Q3-mt-mnli-udpos", "family"] == T.PRIMARY
    assert ledger.loc["Q3-mt-mnli-udpos", "p Holm"] == pytest.approx(f.p_holm, abs=1e-4)
    # a secondary XTREME family (every condition − no-intermediate on UD-POS, and on XNLI)
    for cond, measure, claim in (("en-squad", "udpos", "P1-squad/udpos"), ("en-mnli", "xnli", "P2-mnli/xnli")):
        conds = [c for c in T.ordered_conditions(df.condition.unique()) if c not in (T.REFERENCE, INLANG)]
        expected = holm_family(df, [(measure, [(c, T.REFERENCE) for c in conds])])
        p = expected[(cond, T.REFERENCE, measure)]
        assert an.find(cond, T.REFERENCE, measure).p_holm == pytest.approx(p, rel=1e-9)
        summary = T.delta_summary(df)  # the comparison page
        assert summary.attrs["p_holm"][(cond, measure)] == pytest.approx(p, rel=1e-12)
        assert T.family_label(measure, short=True) in summary.columns
        spec = T.family_spec(measure)
        zs = T.delta_stats(df, T.REFERENCE, spec["task"], spec["metric"], spec["phases"], conditions=[cond])
        assert zs.loc[zs.language == T.ZERO_SHOT_MEAN, "p_holm"].item() == pytest.approx(p, rel=1e-12)
        assert ledger.loc[claim, "p Holm"] == pytest.approx(p, abs=1e-4)
        assert ledger.loc[claim, "treatment"] == cond  # the paper's own condition, not the laptop analogue
        if measure == "udpos":  # on the answer page too (its secondary families: the primary target tasks)
            row = table.loc[(f"{cond} − {T.REFERENCE}", T.family_label(measure, short=True))]
            assert row["p (Holm)"] == f"{p:.3f}"
    # the ledger's verdicts follow those adjusted p
    decided = ledger[ledger.verdict.isin([C.SUPPORTED, C.CONTRADICTED])]
    assert len(decided) and (decided["p Holm"] < 0.05).all()
    # a claim on a measure its conditions do not run (ml-qa has no UD-POS here) is left out, and said so
    assert "Q3-qa-udpos" in ledger.attrs["not_evaluated"] and "Q3-qa-udpos" not in ledger.index
    assert "Q3-qa-pos" in ledger.index and "Q3-mt-squad-panx" in ledger.index


# ------------------------------------------------------------------------------------ in-language, apart


def test_the_in_language_condition_is_in_no_family_and_no_verdict(df, an, ledger):
    assert an.in_language == (INLANG,)
    every = [f for fs in an.families.values() for f in fs]
    assert every and not [f for f in every if INLANG in (f.a, f.b)]
    # ... and its rows change no adjusted p: the families are those of the runs without it
    without = T.analyse(df[df.condition != INLANG])
    assert {(f.a, f.b, f.family): f.p_holm for f in every} == {
        (f.a, f.b, f.family): f.p_holm for fs in without.families.values() for f in fs
    }
    # per language: its cells are computed, in no family (no adjusted p), the others' Holm unchanged
    cells = T.delta_stats(df, "en-deprel", "pos", "accuracy", zero_shot_mean=False)
    own = cells[cells.condition == INLANG]
    assert len(own) and own.p_holm.isna().all() and (own.family == "").all()
    base = T.delta_stats(df[df.condition != INLANG], "en-deprel", "pos", "accuracy", zero_shot_mean=False)
    assert cells[cells.condition != INLANG].p_holm.tolist() == pytest.approx(base.p_holm.tolist())
    assert INLANG not in T.delta_summary(df).index
    found = T.answer_findings(df)
    page = " ".join([T.headline(found), *T.verdict_sentences(found), T.answer_table(found).to_string()])
    assert INLANG not in page
    # the ledger: no default claim names it; one that does reads no verdict and carries no family
    assert not [i for i, r in ledger.iterrows() if INLANG in (r.treatment + ", " + r.reference).split(", ")]
    claim = C.Claim("X", "s", None, "", "", "", (INLANG,), ("ml-deprel",), family="pos", needs_mlm=False)
    row = C.ledger_table(df, claims=[claim]).iloc[0]
    assert row.verdict == C.IN_LANGUAGE and row.family == "" and np.isnan(row["p Holm"])


def test_the_in_language_condition_has_its_own_section(df):
    table = T.in_language_table(df)
    assert set(table.condition) == {INLANG} and (table.reads == T.IN_LANGUAGE_LABEL).all()
    pos = table[table["target task (average over non-English languages)"] == "POS accuracy"].iloc[0]
    # its Δ to its zero-shot design (ml-deprel), paired by seed, computed here
    m = zero_shot_means(df, "pos", "accuracy")
    d = m[INLANG] - m["ml-deprel"]
    assert pos["Δ to its zero-shot design"].startswith(f"ml-deprel: {T.num(d.mean(), '+.1f')}\u00a0[")
    assert "(unadjusted)" in pos["Δ to its zero-shot design"]
    assert T.overview(df).loc[INLANG, "transfer"] == T.IN_LANGUAGE_LABEL
    assert "in-language, not zero-shot" in T.fold_note(df, INLANG)
    # the flag alone, or load_results' attrs alone, name it
    flag_only = df.copy()
    flag_only.attrs = {}
    attrs_only = df.drop(columns="zero_shot")
    attrs_only.attrs = dict(df.attrs)
    assert T.in_language_conditions(flag_only) == T.in_language_conditions(attrs_only) == [INLANG]


# ------------------------------------------------------------------------------------ language folds


def test_a_fold_conditions_languages_are_grouped_by_what_phase_ii_trained(df):
    trained = set(sum(FOLDS, []))
    rel = T.fold_relation(df, "ml-deprel")
    assert set(rel) == set(df[df.condition == "ml-deprel"].language)  # every language it scores, any task
    for lang, group in rel.items():
        want = T.SOURCE_GROUP if lang == "en" else T.FOLD_OTHER if lang in trained else T.FOLD_NEVER
        assert group == want, lang
    assert {l for l, g in rel.items() if g == T.FOLD_NEVER} == {"sv", "pl", "ja"}
    inlang = T.fold_relation(df, INLANG)
    assert inlang["de"] == T.OWN_TRAINING and inlang["sv"] == T.NEVER_TRAINED
    assert T.fold_relation(df, "en-qa") is None and T.fold_group_table(df, "en-qa").empty
    table = T.fold_group_table(df, "ml-deprel")
    assert list(dict.fromkeys(table.index.get_level_values("group"))) == [T.FOLD_OTHER, T.FOLD_NEVER, T.SOURCE_GROUP]
    # each group's Δ to the English side, from per-seed group means computed here
    r = df[(df.task == "pos") & (df.metric == "accuracy")]
    for group in (T.FOLD_OTHER, T.FOLD_NEVER):
        ls = [l for l, g in rel.items() if g == group and l in set(r.language)]
        per = r[r.language.isin(ls)].groupby(["condition", "seed"]).value.mean()
        d = per["ml-deprel"] - per["en-deprel"]
        lo, hi = st.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=d.std(ddof=1) / np.sqrt(len(d)))
        cell = table.loc[(group, f"mean of {len(ls)}"), "Δ to en-deprel [95% CI]"]
        assert cell.startswith(f"{T.num(d.mean(), '+.1f')}\u00a0[{T.num(lo, '+.1f')},\u00a0{T.num(hi, '+.1f')}]")
    fig = F.fold_groups(df, "ml-deprel")
    used = df[df.condition.isin(["ml-deprel", "en-deprel"]) & df.task.isin(["pos", "ner"])]
    assert "en-deprel" in fig.xit_title and f"({used.run.nunique()} runs)" in fig.xit_caption


def test_load_results_names_each_folds_languages_and_reads_only_dev_scores(tmp_path):
    """Every fold's English dev score is read; extra fields of an intermediate record (a dev curve, a stopped
    step: phase ii with early stopping) are left alone; the folds' training languages reach ``attrs``."""
    runs = tmp_path / "runs"
    dev = {
        "a": {"accuracy": 55.0, "examples": 2002, "curve": [[10, 40.0], [20, 55.0]], "stopped_step": 20},
        "b": {"accuracy": 51.0, "examples": 2002, "best": {"step": 10}, "note": "x"},
    }
    for key, scores in dev.items():
        folder = runs / "intermediate" / key
        folder.mkdir(parents=True)
        record = {"phase": "intermediate", "english_dev": {"deprel": scores, "broken": [1, 2]}, "dev_curve": [1]}
        (folder / "metrics.json").write_text(json.dumps(record))
    folds = [{"languages": ["de", "fi"], "intermediate": "intermediate/a", "targets": {}}]
    folds.append({"languages": ["ar"], "intermediate": "intermediate/b", "targets": {}})
    seeds = {"1": {"intermediate": "intermediate/a", "folds": folds}}
    index = {"preset": "xsynth", "condition": "ml-x", "seeds": seeds}
    (runs / "index" / "xsynth").mkdir(parents=True)
    (runs / "index" / "xsynth" / "ml-x.json").write_text(json.dumps(index))
    out = load_results(runs, report=False)
    rows = out[out.task == "dev:deprel"]
    assert sorted(zip(rows.metric, rows.value, rows.run)) == [
        ("accuracy", 51.0, "runs/intermediate/b"),
        ("accuracy", 55.0, "runs/intermediate/a"),
        ("examples", 2002.0, "runs/intermediate/a"),
        ("examples", 2002.0, "runs/intermediate/b"),
    ]
    assert set(out.task) == {"dev:deprel"}
    assert out.attrs["folds"] == {"xsynth/ml-x": [["de", "fi"], ["ar"]]}
    checks = T.dev_checks(out)
    assert checks.loc[0, "mean"] == pytest.approx(53.0)  # the folds of one seed, averaged
    # one seed: the exact binomial bound over one fold's items (the folds score the same English dev items)
    k = round(0.53 * 2002)
    assert checks.loc[0, "lower bound"] == pytest.approx(100 * st.beta.ppf(0.05, k, 2002 - k + 1), abs=1e-6)


# ------------------------------------------------------------------------------------ did phase ii learn its task


def test_chance_levels_are_the_registrys_label_counts():
    from xitcore.tasks import registry

    checked = 0
    for name, chance in T.DEV_CHANCE.items():
        task = registry.get_task(name)
        if task.kind in ("classification", "tagging") and task.labels:
            assert chance == pytest.approx(100 / len(task.labels)), name
            assert f"{len(task.labels)} " in T.DEV_CHANCE_BASIS[name]
            checked += 1
        elif task.kind == "qa":
            assert chance == 0.0
    assert checked >= 8


def test_the_lower_bound_is_a_one_sided_t_or_binomial_bound():
    b = S.dev_bound([50.0, 52.0, 54.0])
    assert b.value == pytest.approx(52.0 - st.t.ppf(0.95, 2) * 2.0 / np.sqrt(3))
    b = S.dev_bound([60.0], items=50)
    assert b.value == pytest.approx(100 * st.beta.ppf(0.05, 30, 21)) and "50 items" in b.method
    assert np.isnan(S.dev_bound([9.0], items=120, proportion=False).value)  # F1 is not a count of items


def test_a_task_not_above_chance_is_not_put_to_the_test(df, an, ledger):
    checks = T.dev_checks(df).set_index(["condition", "task"])
    assert checks.loc[("en-copa", "copa"), "reads"] == T.NOT_PUT
    assert checks.loc[("en-deprel", "deprel"), "reads"] == T.PUT_TO_TEST
    assert checks.loc[("ml-qa", "qa"), "reference condition"] == "en-qa"
    dev = df[df.task == "dev:deprel"]
    per_seed = dev[(dev.condition == "ml-deprel") & (dev.metric == "accuracy")].groupby("seed").value.mean()
    assert checks.loc[("ml-deprel", "deprel"), "mean"] == pytest.approx(per_seed.mean())  # folds averaged per seed
    assert set(an.untested) == {"en-copa", "ml-copa"}
    # en-copa's gain would read "helped" without the check; with it, the numbers stay and the word goes
    copa = an.find("en-copa", T.REFERENCE, "tatoeba")
    assert copa.p_holm < 0.05 and copa.direction == S.NOT_PUT and T.UNTESTED_MARK in copa.cell and "*" not in copa.cell
    unchecked = T.analyse(df[~df.task.str.startswith("dev:")])
    assert unchecked.find("en-copa", T.REFERENCE, "tatoeba").direction == S.HELPED
    # ... and no adjusted p moves: the condition stays in its declared families
    assert {(f.a, f.b, f.family): f.p_holm for fs in an.families.values() for f in fs} == {
        (f.a, f.b, f.family): f.p_holm for fs in unchecked.families.values() for f in fs
    }
    found = T.answer_findings(df)
    head = T.headline(found)
    assert "Not put to the test (no verdict): `en-copa`, `ml-copa`" in head
    assert not [f for fs in found.values() for f in fs if "copa" in f.a and f.direction in (S.HELPED, S.HURT)]
    assert T.dev_check_table(df).loc[("ml-copa", "copa"), "reads"] == T.NOT_PUT
    # the ledger: numbers and the adjusted p shown, no verdict
    for claim in ("Q4-xcopa", "Q3-copa-pos"):
        assert ledger.loc[claim, "verdict"] == C.NOT_PUT and np.isfinite(ledger.loc[claim, "p Holm"])
    assert "left out as not put to the test: en-copa, ml-copa" in ledger.loc["Q1-ml-vs-en-pos", "reason"]
    note = C.ledger_note(ledger.reset_index())
    assert "Q4-xcopa" in note.split("not put to the test:")[1] and "Left out: " in note


# ------------------------------------------------------------------------------------ real records


def test_real_fold_and_in_language_records_reach_the_pages(tiny_runs):
    """The tiny pipeline's own records (a two-fold deprel condition and an in-language one), read as a chapter
    reads them (``reading.book_results``): the folds and the in-language flag survive, and the pages use them."""
    from conftest import TINY

    from xitcore.book import reading
    from xitcore.config import load_condition
    from xitcore.pipeline import run_condition

    folds_cfg = load_condition(TINY / "deprel-folds.yaml")
    for cfg in (folds_cfg, load_condition(TINY / "deprel-inlang.yaml")):
        run_condition(cfg, tiny_runs)
    df = reading.book_results(tiny_runs, "tiny", ["none", "deprel-folds", "deprel-inlang"])
    assert T.in_language_conditions(df) == ["deprel-inlang"]
    assert df.loc[df.condition == "deprel-inlang", "zero_shot"].eq(False).all()
    assert T.language_folds(df, "deprel-folds") == folds_cfg.intermediate.language_folds
    rel = T.fold_relation(df, "deprel-folds")
    assert rel["de"] == T.FOLD_OTHER and rel["en"] == T.SOURCE_GROUP  # de: fold 1 trained it, fold 2 scored it
    assert T.fold_relation(df, "deprel-inlang")["de"] == T.OWN_TRAINING
    assert T.fold_relation(df, "none") is None
    an = T.analyse(df)
    assert an.in_language == ("deprel-inlang",)
    assert not [f for fs in an.families.values() for f in fs if "deprel-inlang" in (f.a, f.b)]
