"""Target training as jiant ran it: per-task settings, periodic English dev scores, early stopping with patience,
the best checkpoint reloaded (target.early_stopping); off, nothing changes."""

import pytest
import torch
from conftest import REPO, TINY
from transformers import RobertaConfig, RobertaModel

from xitcore.config import load_condition
from xitcore.errors import ConfigError
from xitcore.model import MultiTaskModel
from xitcore.pipeline import _target_payload
from xitcore.plan import build_plan
from xitcore.runstore import Step
from xitcore.tasks import kind_module
from xitcore.train import finetune


def _tiny_tagger():
    torch.manual_seed(0)
    enc = RobertaModel(
        RobertaConfig(
            vocab_size=50,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=40,
            hidden_dropout_prob=0.0,
        )
    )
    return MultiTaskModel(enc, {"t": kind_module("tagging").make_head(16, 3, dropout=0.0)})


FEATS = [{"input_ids": [0, 5 + i % 7, 9, 2], "labels": [-100, i % 3, (i + 1) % 3, -100]} for i in range(40)]


def _train(model, **kw):
    return finetune(
        model,
        {"t": ("tagging", FEATS)},
        steps=8,
        batch_size=4,
        lr=1e-2,
        warmup=0,
        seed=1,
        pad_id=1,
        device="cpu",
        progress=False,
        **kw,
    )


def test_early_stopping_keeps_the_best_checkpoint_and_stops_after_patience():
    model = _tiny_tagger()
    scores, states = iter([1.0, 3.0, 2.0, 2.5, 9.0]), {}

    def evaluate():
        step = len(states) + 1
        states[step] = {k: v.clone() for k, v in model.state_dict().items()}
        return next(scores)

    res = _train(model, evaluate=evaluate, eval_every=1, patience=2)
    es = res["early_stopping"]
    assert es["best_step"] == 2 and es["best_dev"] == 3.0 and es["stopped_at"] == 4  # 2.0, 2.5: two without gain
    assert [d["dev"] for d in es["dev_scores"]] == [1.0, 3.0, 2.0, 2.5]
    assert all(torch.equal(v, states[2][k]) for k, v in model.state_dict().items())  # step 2's weights are back
    assert not all(torch.equal(v, states[4][k]) for k, v in model.state_dict().items())


def test_without_early_stopping_training_is_unchanged():
    a, b = _tiny_tagger(), _tiny_tagger()
    plain = _train(a)
    never_stops = _train(b, evaluate=lambda: 1.0, eval_every=100, patience=5)  # scores only at the last step
    assert "early_stopping" not in plain and never_stops["early_stopping"]["stopped_at"] == 8
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_per_task_settings_resolve_and_enter_the_key():
    cfg = load_condition(
        TINY / "none.yaml",
        {"target": {"task_batch_size": {"ner": 4}, "task_lr": {"ner": 0.1}, "task_max_length": {"ner": 32}}},
    )
    tc = cfg.target
    assert (tc.batch_size_for("ner"), tc.lr_for("ner"), tc.max_length_for("ner", 48)) == (4, 0.1, 32)
    assert (tc.batch_size_for("pos"), tc.lr_for("pos"), tc.max_length_for("pos", 48)) == (8, 0.001, 48)
    src = Step("mlm", "k", REPO / "runs")
    ner = _target_payload(cfg, src, "ner", 1, ["es"])
    assert (ner["batch_size"], ner["lr"], ner["max_length"]) == (4, 0.1, 32) and "early_stopping" not in ner
    on = load_condition(TINY / "none.yaml", {"target": {"early_stopping": True, "patience": 3}})
    assert _target_payload(on, src, "pos", 1, ["de"])["early_stopping"] == {
        "eval_every_steps": 1000,
        "patience": 3,
        "dev_fraction": 0.1,
    }


@pytest.mark.parametrize(
    "over,msg",
    [
        ({"task_lr": {"xx": 1.0}}, "target.task_lr: task 'xx' is unknown; allowed:"),
        ({"task_batch_size": {"ner": 0}}, "target.task_batch_size.ner must be > 0"),
        ({"patience": 0}, "target.eval_every_steps and target.patience must be >= 1"),
    ],
)
def test_bad_protocol_settings_are_one_line_errors(over, msg):
    with pytest.raises(ConfigError, match=msg):
        load_condition(TINY / "none.yaml", {"target": over})


def test_the_paper_preset_trains_targets_as_jiant_did():
    cfg = load_condition(REPO / "params/paper/en-squad.yaml", {"seeds": [1]})
    tc = cfg.target
    assert tc.early_stopping and (tc.eval_every_steps, tc.patience, tc.lr) == (1000, 30, 1e-5)
    assert {t: tc.epochs_for(t) for t in ("xnli", "pawsx", "udpos", "xquad")} == {
        "xnli": 2.0,
        "pawsx": 5.0,
        "udpos": 10.0,
        "xquad": 2.0,
    }
    assert (tc.batch_size_for("xnli"), tc.batch_size_for("xquad")) == (32, 16)
    plan = build_plan(cfg, REPO / "runs")
    targets = [s.what for s in plan.steps if s.kind == "target"]
    assert targets and all("early stopping: English dev every 1000 steps, patience 30" in w for w in targets)


@pytest.mark.quick
def test_a_shipped_target_stops_early_on_its_held_out_english_dev(tiny_runs, tmp_path):
    """With learning rate 0 the weights never move, so the held-out dev score never improves on the first one:
    scored every step with patience 2, training must stop after the third score, well before its last step."""
    import json
    import shutil

    from xitcore.pipeline import run_condition

    runs = tmp_path / "runs"
    shutil.copytree(tiny_runs, runs)  # phase i reused
    over = {
        "eval": {"pos_languages": ["de"], "max_sentences": 40, "tatoeba_phases": []},  # a short evaluation
        "target": {
            "tasks": ["pos"],
            "epochs": 4.0,
            "lr": 0.0,
            "early_stopping": True,
            "eval_every_steps": 1,
            "patience": 2,
            "dev_fraction": 0.25,
        },
    }
    idx = run_condition(load_condition(TINY / "none.yaml", over), runs)
    m = json.loads((runs / idx["seeds"]["1"]["targets"]["pos"] / "metrics.json").read_text())
    es = m["early_stopping"]
    assert (es["eval_every"], es["patience"]) == (1, 2)
    # one score per step until patience (2) scores in a row did not beat the first: stopped at step 3 of many
    assert [d["step"] for d in es["dev_scores"]] == [1, 2, 3]
    assert len({d["dev"] for d in es["dev_scores"]}) == 1  # nothing moved: the same dev score each time
    assert es["stopped_at"] == 3 < m["steps"] and m["steps"] >= 10
    assert m["pos_steps"] == es["stopped_at"]  # the loop took no optimizer step after it stopped
    assert es["best_step"] == 1 and es["best_dev"] == es["dev_scores"][0]["dev"]
    assert 0 < m["train_sentences"] < 24  # max_train_sentences 24, a quarter held out as the dev set


def test_an_empty_held_out_dev_set_is_one_line():
    from xitcore.errors import DataError
    from xitcore.pipeline import _shipped_target_data

    cfg = load_condition(TINY / "none.yaml", {"target": {"early_stopping": True, "dev_fraction": 0.01}})
    with pytest.raises(DataError, match=r"target pos: target.dev_fraction 0.01 of its \d+ English training sentences"):
        _shipped_target_data(cfg, "pos", ["de"])
