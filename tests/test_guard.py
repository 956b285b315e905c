"""The guard against training on evaluated items: planning refuses a condition whose MLM corpus or intermediate
data holds items of a data set it evaluates, unless eval.allow_overlap names the set (and the book flags it)."""

import dataclasses
import subprocess
import sys

import pytest
from conftest import REPO

from xitcore import overlap
from xitcore.config import XTREME_TARGET_TASKS, load_condition
from xitcore.errors import ConfigError
from xitcore.pipeline import check_train_test_overlap, condition_graph, xcopa_split
from xitcore.tasks import SHIPPED_INTERMEDIATE, SHIPPED_TARGETS, TASKS, registry

QA_HUB = {"backend": "hub", "target": {"tasks": ["xquad"]}}


@pytest.mark.quick
def test_every_shipped_training_set_and_every_target_declares_its_items():
    assert all(TASKS[t].trains_on for t in SHIPPED_INTERMEDIATE)
    assert all(TASKS[t].evaluates for t in [*SHIPPED_TARGETS, *XTREME_TARGET_TASKS])
    assert TASKS["qa"].trains_on == TASKS["xquad"].evaluates == ("XQuAD",)
    assert TASKS["copa"].trains_on == TASKS["xcopa"].evaluates == ("XCOPA test",)


@pytest.mark.quick
def test_xquad_in_the_mlm_corpus_refuses_the_xquad_target(tmp_path):
    cfg = load_condition(REPO / "params/smoke/en-qa.yaml", QA_HUB)
    with pytest.raises(ConfigError) as e:
        condition_graph(cfg, tmp_path)
    msg = str(e.value)
    assert "\n" not in msg and "target xquad evaluates XQuAD, which the MLM corpus trains on" in msg
    assert "eval.allow_overlap: [XQuAD]" in msg
    assert not any(tmp_path.iterdir())  # nothing written


def test_the_dry_run_fails_with_one_line():
    cmd = [
        sys.executable,
        "-m",
        "xitcore.cli",
        "run",
        "params/smoke/en-qa.yaml",
        "--set",
        "backend=hub",
        "--set",
        "target.tasks=[xquad]",
        "--dry-run",
    ]
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [p.stderr.strip()] and "evaluates XQuAD" in p.stderr


def test_allow_overlap_runs_it_and_the_index_flags_it(tmp_path):
    cfg = load_condition(REPO / "params/smoke/en-qa.yaml", {**QA_HUB, "eval": {"allow_overlap": ["XQuAD"]}})
    graph = condition_graph(cfg, tmp_path)
    assert graph.index["train_test_overlap"] == {"XQuAD": "the MLM corpus"}
    plain = condition_graph(load_condition(REPO / "params/smoke/en-qa.yaml"), tmp_path)
    assert "train_test_overlap" not in plain.index


@pytest.mark.quick
def test_what_is_not_trained_on_does_not_count():
    # No MLM training on the corpus, and backend hub reads SQuAD for the qa task: nothing overlaps.
    cfg = load_condition(REPO / "params/e5-small/en-qa.yaml", QA_HUB)
    assert cfg.mlm.steps == 0 and check_train_test_overlap(cfg) == {}


@pytest.mark.quick
def test_shipped_intermediate_data_is_checked_too(monkeypatch):
    # A task whose only data is the shipped one (no hub source) trains on its shipped items under any backend.
    monkeypatch.setitem(registry.TASKS, "qa", dataclasses.replace(TASKS["qa"], hub_dataset=None))
    cfg = load_condition(REPO / "params/e5-small/en-qa.yaml", QA_HUB)
    with pytest.raises(ConfigError, match="target xquad evaluates XQuAD, which intermediate task qa trains on"):
        check_train_test_overlap(cfg)


@pytest.mark.quick
def test_xcopa_after_copa_is_scored_on_test_unless_copa_trained_on_it():
    local = load_condition(REPO / "params/smoke/en-copa.yaml")
    assert xcopa_split(local) == "val" and set(check_train_test_overlap(local)) == {"Tatoeba"}  # not XCOPA
    hub = load_condition(REPO / "params/e5-small/en-copa.yaml", {"backend": "hub"})
    assert xcopa_split(hub) == "test" and check_train_test_overlap(hub) == {}  # COPA train from the hub
    gpu = load_condition(REPO / "params/gpu-small/en-copa.yaml", {"backend": "hub"})  # its corpus holds XCOPA test
    with pytest.raises(ConfigError, match="the XCOPA score after COPA evaluates XCOPA test, which the MLM corpus"):
        check_train_test_overlap(gpu)


# ---------------------------------------------------------------- item by item (xitcore/overlap.py)


@pytest.mark.quick
def test_items_are_matched_whitespace_normalised_and_case_folded():
    assert overlap._item("  Paris  is the\tcapital of FRANCE. ") == "paris is the capital of france."
    assert overlap._item("...") is None  # no letter: not an item
    assert overlap._item("2.") is None  # a list number (XQuAD-en has one, so has UNER Slovak test): not an item
    assert "paris is the capital of france." in overlap.evaluated_items("Tatoeba")
    assert overlap.evaluated_items("XNLI test") is None  # not shipped: the declaration is its only guard


@pytest.mark.quick
def test_an_undeclared_shared_item_refuses_the_condition_with_one_line(tmp_path):
    # RTE declares no evaluated set, but one of its sentences is a Tatoeba sentence, which en-nli evaluates.
    cfg = load_condition(REPO / "params/smoke/en-nli.yaml", {"eval": {"allow_overlap": []}})
    with pytest.raises(ConfigError) as e:
        condition_graph(cfg, tmp_path)
    msg = str(e.value)
    assert "\n" not in msg and "Tatoeba retrieval evaluates Tatoeba, which intermediate task nli (1 text:" in msg
    assert '"paris is the capital of france."' in msg and "eval.allow_overlap: [Tatoeba]" in msg
    assert not any(tmp_path.iterdir())


@pytest.mark.quick
def test_the_committed_allowances_are_the_overlaps_found_and_the_index_records_them(tmp_path):
    cfg = load_condition(REPO / "params/smoke/en-multitask.yaml")
    assert cfg.eval.allow_overlap == ["Tatoeba"]
    flagged = condition_graph(cfg, tmp_path).index["train_test_overlap"]["Tatoeba"]
    assert "intermediate task nli (1 text" in flagged and "intermediate task copa (7 texts" in flagged
    # Without Tatoeba retrieval there is nothing to allow: the shared sentences are of Tatoeba only.
    assert (
        check_train_test_overlap(load_condition(REPO / "params/smoke/en-nli.yaml", {"eval": {"tatoeba_phases": []}}))
        == {}
    )


@pytest.mark.quick
def test_a_planted_item_of_a_scored_set_is_found(monkeypatch):
    pud = sorted(overlap.evaluated_items("UD PUD evaluation half"))[0]
    monkeypatch.setattr(overlap, "training_items", lambda task, data: frozenset({pud, "not evaluated anywhere x"}))
    cfg = load_condition(REPO / "params/smoke/en-sentiment.yaml")
    with pytest.raises(
        ConfigError, match="target pos evaluates UD PUD evaluation half, which intermediate task sentiment"
    ):
        check_train_test_overlap(cfg)


@pytest.mark.quick
def test_allow_overlap_names_a_known_set():
    with pytest.raises(ConfigError, match="eval.allow_overlap: data set 'Tatoba' is unknown; allowed: .*Tatoeba"):
        load_condition(REPO / "params/smoke/en-nli.yaml", {"eval": {"allow_overlap": ["Tatoba"]}})
