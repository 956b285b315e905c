"""Zero-shot stays zero-shot: no run that scores POS or NER in a language has seen gold syntax of that language.
ml-deprel is a language-fold design (intermediate.language_folds): each fold's runs score only languages outside
it, each language's result comes from the fold without it; the old design runs only when declared in-language
(eval.allow_in_language_syntax), and then is indexed zero_shot: false."""

import json
import subprocess
import sys

import pytest
from conftest import REPO, TINY

from xitcore.config import load_condition
from xitcore.data.treebanks import PUD_NON_EN
from xitcore.errors import ConfigError
from xitcore.pipeline import condition_graph, fold_of, run_condition
from xitcore.results import load_results
from xitcore.tasks import SYNTAX_TASKS, load_task_examples
from xitcore.tasks.tagging import load_deprel

PRESETS = ("smoke", "e5-small", "gpu-small", "paper")


def test_a_fold_is_size_matched_to_english_and_draws_on_its_languages_only():
    english = load_deprel("en")
    fold = load_deprel("translated", ["de", "fi", "hi"])
    assert len(fold) == len(english) == 500
    assert {ex["lang"] for ex in fold} == {"de", "fi", "hi"}
    # the same sentence positions as English: PUD sentences are translations, so lengths track each other
    assert load_deprel("translated") == load_deprel("translated", PUD_NON_EN)  # the old data, unchanged
    assert abs(sum(len(e["words"]) for e in fold) / sum(len(e["words"]) for e in english) - 1) < 0.25


@pytest.mark.parametrize(
    "folds, message",
    [
        ([["de", "fi"]], "at least two non-empty folds"),
        ([["de", "fi"], ["fi"]], "language 'fi' is in two folds"),
        ([["de"], ["sv"]], "language 'sv' is not in deprel's translated data"),
    ],
)
@pytest.mark.quick
def test_bad_folds_are_one_line(folds, message):
    with pytest.raises(ConfigError, match=message) as e:
        load_condition(REPO / "params/e5-small/ml-deprel.yaml", {"intermediate": {"language_folds": folds}})
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="needs intermediate.kind 'task' and data 'translated'"):
        load_condition(REPO / "params/e5-small/en-deprel.yaml", {"intermediate": {"language_folds": [["de"], ["fi"]]}})


@pytest.mark.quick
@pytest.mark.parametrize("preset", PRESETS)
def test_no_fold_scores_a_language_it_trained_on(preset, tmp_path):
    cfg = load_condition(REPO / f"params/{preset}/ml-deprel.yaml")
    folds = cfg.intermediate.language_folds
    assert len(folds) >= 2 and sorted(sum(folds, [])) == sorted(PUD_NON_EN)
    graph = condition_graph(cfg, tmp_path)
    nodes = {n.rel: n for n in graph.nodes}
    assert graph.index["zero_shot"] is True
    for entry in graph.index["seeds"].values():
        assert len(entry["folds"]) == len(folds)
        for fe in entry["folds"]:
            inter = nodes[fe["intermediate"]].payload
            assert inter["languages"] == fe["languages"] and inter["intermediate"]["data"] == "translated"
            for task, rel in fe["targets"].items():
                scored = nodes[rel].payload["languages"]
                assert not set(scored) & set(fe["languages"]), (preset, task, scored)
                assert nodes[rel].payload["source"] == fe["intermediate"]
                # languages no fold trains on (en, sv, pl, ja, nl) are scored by every fold
                assert {l for l in cfg.eval.languages_of(task) if l not in sum(folds, [])} <= set(scored)
        for task, rel in entry["targets"].items():  # the assembled record reads every fold's run of the task
            assert nodes[rel].kind == "assemble"
            assert {s.rel for s in nodes[rel].inputs} == {fe["targets"][task] for fe in entry["folds"]}
    # size-matched to en-deprel: the same steps, batch and sentence count per fold
    en = load_condition(REPO / f"params/{preset}/en-deprel.yaml")
    assert (cfg.intermediate.steps, cfg.intermediate.batch_size) == (en.intermediate.steps, en.intermediate.batch_size)


@pytest.mark.parametrize("preset", PRESETS)
def test_the_in_language_design_is_declared_and_keeps_the_old_keys(preset, tmp_path):
    cfg = load_condition(REPO / f"params/{preset}/ml-deprel-inlang.yaml")
    assert "IN-LANGUAGE" in cfg.description and cfg.eval.allow_in_language_syntax
    index = condition_graph(cfg, tmp_path).index
    assert index["zero_shot"] is False and index["in_language_syntax"]["hi"] == "deprel"
    # the very steps ml-deprel runs without folds (the old design): finished runs of it are reused
    unfolded = load_condition(
        REPO / f"params/{preset}/ml-deprel.yaml",
        {"intermediate": {"language_folds": []}, "eval": {"allow_in_language_syntax": True}, "seeds": cfg.seeds},
    )
    kinds = ("intermediate", "target")
    steps = {n.key for n in condition_graph(cfg, tmp_path).nodes if n.kind in kinds}
    assert steps == {n.key for n in condition_graph(unfolded, tmp_path).nodes if n.kind in kinds}


def test_planted_in_language_syntax_is_refused_with_one_line(tmp_path):
    planted = tmp_path / "e5-small" / "planted.yaml"
    planted.parent.mkdir()
    planted.write_text(
        "preset: e5-small\ncondition: planted\nseeds: [1]\n"
        "intermediate: {kind: task, tasks: [deprel], data: translated}\n"
        "eval: {pos_languages: [en, hi, sv]}\n"
    )
    with pytest.raises(ConfigError) as e:
        condition_graph(load_condition(planted), tmp_path / "runs")
    msg = str(e.value)
    # es: its NER is scored too (CoNLL-2002 es, NER's second evaluation); de: UNER's PUD; sv: not in the deprel data
    assert "\n" not in msg and "intermediate task deprel trains on gold syntax of de, es, hi," in msg
    assert "eval.allow_in_language_syntax: true" in msg and "sv" not in msg.split("whose")[0]
    assert not (tmp_path / "runs").exists()  # nothing written
    p = subprocess.run(
        [sys.executable, "-m", "xitcore.cli", "run", str(planted), "--dry-run"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    assert "deprel trains on gold syntax of de, es, hi" in p.stderr


def test_english_syntax_and_unevaluated_languages_pass():
    for name in ("en-deprel", "en-multitask", "no-intermediate", "ml-qa"):
        idx = condition_graph(load_condition(REPO / f"params/e5-small/{name}.yaml"), "/nonexistent-runs").index
        assert idx["zero_shot"] is True
    assert {"deprel", "chunk", "ccg", "pos"} <= set(SYNTAX_TASKS)
    assert {ex["lang"] for ex in load_task_examples("deprel", "translated")[1]} == set(PUD_NON_EN)


@pytest.mark.quick
def test_fold_of_picks_the_first_fold_without_the_language():
    folds = [["de", "fi"], ["es", "ar"]]
    assert [fold_of(l, folds) for l in ("de", "es", "en", "sv")] == [1, 0, 0, 0]


def test_fold_runs_assemble_one_zero_shot_score_per_language(tiny_runs):
    index = run_condition(load_condition(TINY / "deprel-folds.yaml"), tiny_runs)
    entry = index["seeds"]["1"]
    trained = {fe["intermediate"]: set(fe["languages"]) for fe in entry["folds"]}
    scored_by = {}  # target run -> the intermediate run it continued
    for fe in entry["folds"]:
        for rel in fe["targets"].values():
            scored_by[rel] = fe["intermediate"]
    assert set(entry["folds"][1]["targets"]) == {"pos"}  # es is fold 2's: its NER run would score nothing
    pos = json.loads((tiny_runs / entry["targets"]["pos"] / "metrics.json").read_text())
    assert set(pos["languages"]) == {"en", "de"} and "ewt_test_accuracy" in pos
    assert pos["from_runs"]["de"] == entry["folds"][1]["targets"]["pos"]  # de trained in fold 1: fold 2 scores it
    df = load_results(tiny_runs)
    rows = df[(df.condition == "deprel-folds") & (df.phase == "target") & (df.language != "avg")]
    assert not rows.duplicated(["seed", "task", "language", "metric"]).any()
    assert set(zip(rows.task, rows.language)) >= {("pos", "en"), ("pos", "de"), ("ner", "es")}
    for _, r in rows.iterrows():  # every score comes from a run whose intermediate phase never saw its language
        run = r.run.removeprefix("runs/")
        assert r.language not in trained[scored_by[run]], (r.task, r.language, run)
        fold_record = json.loads((tiny_runs / run / "metrics.json").read_text())
        lang = "en" if r.language == "en-ewt" else r.language
        if r.language != "en-ewt":
            assert fold_record["languages"][lang][r.metric] == r.value
    assert rows.zero_shot.all()


def test_in_language_condition_is_flagged_in_the_results(tiny_runs):
    run_condition(load_condition(TINY / "deprel-inlang.yaml"), tiny_runs)
    df = load_results(tiny_runs)
    inlang = df[df.condition == "deprel-inlang"]
    assert len(inlang) and not inlang.zero_shot.any()
    assert df[df.condition == "none"].zero_shot.all()
    assert df.attrs["in_language"]["tiny/deprel-inlang"] == {"de": "deprel"}
