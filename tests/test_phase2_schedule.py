"""Phase ii's schedule (issue 21): early stopping on the English dev sets, a head learning-rate multiplier,
per-task window lengths with answerless QA windows down-sampled, temperature sampling across tasks, and the MLM
head warmed up alone before continued MLM. Tiny models, CPU, seconds."""

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import TINY
from transformers import RobertaConfig, RobertaForMaskedLM, RobertaModel

from xitcore.config import load_condition
from xitcore.errors import ConfigError
from xitcore.model import MultiTaskModel
from xitcore.tasks import kind_module, qa
from xitcore.tasks import mlm as kmlm
from xitcore.train import finetune, task_weights, train_mlm_head

torch.set_num_threads(1)


def _config(**kw):
    base = dict(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=60,
        hidden_dropout_prob=0.0,
    )
    return RobertaConfig(**{**base, **kw})


def _tagger(heads=("t",)):
    torch.manual_seed(0)
    return MultiTaskModel(
        RobertaModel(_config()), {h: kind_module("tagging").make_head(16, 3, dropout=0.0) for h in heads}
    )


def _feats(n, offset=0):
    return [
        {"input_ids": [0, 5 + (i + offset) % 7, 9, 2], "labels": [-100, i % 3, (i + 1) % 3, -100]} for i in range(n)
    ]


def _train(model, tasks, steps, **kw):
    return finetune(
        model, tasks, steps=steps, batch_size=4, lr=1e-2, warmup=0, seed=1, pad_id=1, device="cpu", progress=False, **kw
    )


# ------------------------------------------------------------------ early stopping


def test_early_stopping_stops_before_the_cap_on_a_plateau_and_restores_the_best_weights():
    model = _tagger()
    curve = [40.0, 55.0, 55.0, 54.0] + [55.0] * 20  # gains until step 4, then a plateau (ties are no gain)
    seen, states = [], {}

    def evaluate():
        step = 2 * (len(seen) + 1)
        states[step] = {k: v.clone() for k, v in model.state_dict().items()}
        seen.append(step)
        return {"score": curve[len(seen) - 1], "t": curve[len(seen) - 1]}

    res = _train(model, {"t": ("tagging", _feats(40))}, 40, evaluate=evaluate, eval_every=2, patience=2)
    es = res["early_stopping"]
    assert es["stopped_at"] == 8 < res["steps"] == 40  # two scores without gain after step 4
    assert es["best_step"] == 4 and es["best_dev"] == 55.0
    assert [(d["step"], d["dev"], d["t"]) for d in es["dev_scores"]] == [
        (2, 40.0, 40.0),
        (4, 55.0, 55.0),
        (6, 55.0, 55.0),
        (8, 54.0, 54.0),
    ]
    assert res["t_steps"] == 8
    assert all(torch.equal(v, states[4][k]) for k, v in model.state_dict().items())  # step 4's weights are back
    assert not all(torch.equal(v, states[8][k]) for k, v in model.state_dict().items())


def test_the_intermediate_step_stops_early_and_records_its_curve(tiny_runs, tmp_path):
    from xitcore.pipeline import run_condition

    runs = tmp_path / "runs"
    shutil.copytree(tiny_runs, runs)  # phase i reused
    over = {
        "target": {"tasks": []},
        "eval": {"tatoeba_phases": []},
        "intermediate": {
            "kind": "multitask",
            "tasks": ["qa", "nli"],
            "steps": 60,
            "lr": 0.0,  # nothing learns: the dev curve is flat from the first score, so patience ends it
            "dev_fraction": 0.2,
            "early_stopping": True,
            "eval_every_steps": 2,
            "patience": 2,
            "temperature": 2.0,
            "task_max_length": {"qa": 32},  # below the tiny model's 48: windows of its own length
            "qa_answerless_keep": 0.5,
        },
    }
    idx = run_condition(load_condition(TINY / "multi.yaml", over), runs)
    m = json.loads((runs / idx["seeds"]["1"]["intermediate"] / "metrics.json").read_text())
    es = m["early_stopping"]
    assert es["stopped_at"] == 6 < 60 and es["best_step"] == 2
    assert [d["step"] for d in es["dev_scores"]] == [2, 4, 6]
    first = es["dev_scores"][0]
    assert first["dev"] == pytest.approx((first["qa"] + first["nli"]) / 2, abs=1e-3)  # the mean of the tasks
    assert m["english_dev"]["nli"]["accuracy"] == pytest.approx(first["nli"])  # the best weights were scored
    assert m["qa_steps"] + m["nli_steps"] == 6
    w = m["tasks"]["qa"]["answerless_windows"]
    assert w["kept"] == round(0.5 * w["of"]) and w["of"] > 0 and m["tasks"]["qa"]["max_length"] == 32
    assert set(m["sampling"]) == {"temperature", "qa", "nli"} and m["sampling"]["temperature"] == 2.0


# ------------------------------------------------------------------ head learning rate


def test_head_lr_multiplies_the_heads_learning_rate_only():
    model = _tagger()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    finetune(
        model,
        {"t": ("tagging", _feats(40))},
        steps=8,
        batch_size=4,
        lr=1e-4,
        warmup=0,
        seed=1,
        pad_id=1,
        device="cpu",
        progress=False,
        head_lr=100.0,
    )
    moved = {k: float((v - before[k]).abs().max()) for k, v in model.state_dict().items()}
    enc = max(v for k, v in moved.items() if k.startswith("encoder."))
    head = max(v for k, v in moved.items() if k.startswith("heads."))
    # AdamW moves a weight by about lr a step: 8 steps at 1e-4 against 8 at 1e-2
    assert enc < 8 * 1e-4 * 1.5 and head > 8 * 1e-4 * 10


# ------------------------------------------------------------------ temperature sampling


def test_temperature_weights_are_size_to_the_one_over_t():
    assert task_weights([900, 100], 1.0) == [900, 100]  # examples-proportional, as before the option
    w = task_weights([900, 100], 2.0)
    assert [x / sum(w) for x in w] == pytest.approx([0.75, 0.25])  # 30 : 10
    w = task_weights([800, 100, 100], 1e6)
    assert [x / sum(w) for x in w] == pytest.approx([1 / 3] * 3, abs=1e-4)  # large T: uniform


def test_temperature_sampling_gives_the_stated_proportions():
    model = _tagger(("a", "b"))
    tasks = {"a": ("tagging", _feats(360)), "b": ("tagging", _feats(40, 3))}
    res = _train(model, tasks, 400, temperature=2.0)
    p = {"a": 3 / 4, "b": 1 / 4}  # sqrt(360) : sqrt(40) = 3 : 1; proportional mixing would give 0.9 : 0.1
    assert res["sampling"] == {"temperature": 2.0, "a": 0.75, "b": 0.25}
    assert res["a_steps"] + res["b_steps"] == 400
    sd = (400 * 0.75 * 0.25) ** 0.5  # binomial: 8.7 steps
    assert abs(res["b_steps"] - 400 * p["b"]) < 4 * sd
    assert res["b_steps"] > 400 * 0.1 + 4 * sd  # clearly not examples-proportional


# ------------------------------------------------------------------ answerless QA windows


def test_answerless_windows_are_down_sampled_to_the_stated_share():
    feats = [{"example": i, "input_ids": [0, i], "start": 1 if i % 5 == 0 else 0, "end": 1 if i % 5 == 0 else 0}
             for i in range(50)]  # fmt: skip
    answered = [f for f in feats if f["start"]]
    for keep, want in [(0.25, 10), (0.5, 20), (0.0, 0), (1.0, 40)]:
        kept = qa.keep_answerless(feats, keep, seed=0)
        empty = [f for f in kept if not f["start"]]
        assert len(empty) == want and [f for f in kept if f["start"]] == answered
        assert [f["example"] for f in kept] == sorted(f["example"] for f in kept)  # order kept
    assert qa.keep_answerless(feats, 0.5, seed=0) == qa.keep_answerless(feats, 0.5, seed=0)


def test_answerless_windows_of_real_featurised_questions(make_tokenizer):
    ctx = " ".join(f"word{i} is here." for i in range(60)) + " The answer is Paris."
    tok = make_tokenizer([ctx, "where is it?"], vocab_size=200)
    ex = qa.qa_example("q", ctx, "where is it?", ["Paris"], [ctx.index("Paris")], "en")
    feats = qa.featurise(tok, [ex] * 4, [], 32)
    empty = sum(1 for f in feats if f["start"] == 0)
    assert empty > 4 and len(feats) - empty >= 4
    kept = qa.keep_answerless(feats, 0.5, seed=0)
    assert sum(1 for f in kept if f["start"] == 0) == round(0.5 * empty)
    assert sum(1 for f in kept if f["start"] > 0) == len(feats) - empty


# ------------------------------------------------------------------ MLM head warm-up


def test_mlm_head_warm_up_trains_only_the_head(make_tokenizer):
    tok = make_tokenizer(["the man walks to the house", "der Mann geht in das Haus"] * 20)
    torch.manual_seed(0)
    model = RobertaForMaskedLM(_config(vocab_size=len(tok)))
    model.base_model.encoder.layer[0].attention.self.query.weight.requires_grad_(False)  # a frozen layer stays so
    blocks = np.array([[tok.bos_token_id] + [5 + (i + j) % 40 for j in range(31)] for i in range(30)])
    data = kmlm.MLMData({"en": blocks[:20], "de": blocks[20:]}, blocks[:4], {"en": 0.6, "de": 0.4}, 0.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = {k: p.requires_grad for k, p in model.named_parameters()}
    res = train_mlm_head(
        model, tok, data, steps=6, batch_size=4, lr=1e-2, warmup=0, weight_decay=0.01, mask_prob=0.15, seed=1,
        device="cpu", progress=False,
    )  # fmt: skip
    after = model.state_dict()
    tied = "roberta.embeddings.word_embeddings.weight"  # the decoder's weight is tied to it: part of the encoder
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    assert changed and all(k.startswith("lm_head.") and k != "lm_head.decoder.weight" for k in changed)
    assert torch.equal(after[tied], before[tied]) and "lm_head.dense.weight" in changed
    assert {k: p.requires_grad for k, p in model.named_parameters()} == flags  # flags restored
    assert res["final_heldout_loss"] == res["curve"][-1]["heldout_loss"]


def test_the_continued_mlm_step_records_its_head_warm_up(tiny_runs, tmp_path):
    from xitcore.pipeline import run_condition

    runs = tmp_path / "runs"
    shutil.copytree(tiny_runs, runs)
    over = {"target": {"tasks": []}, "eval": {"tatoeba_phases": []}, "intermediate": {"mlm_head_warmup_steps": 2}}
    idx = run_condition(load_condition(TINY / "mlm.yaml", over), runs)
    m = json.loads((runs / idx["seeds"]["1"]["intermediate"] / "metrics.json").read_text())
    warm = m["mlm_head_warmup"]
    assert warm["steps"] == 2 and warm["lr"] == 0.001 and len(warm["curve"]) >= 1
    assert m["curve"][-1]["step"] == 3  # then intermediate.steps of continued MLM


# ------------------------------------------------------------------ keys and bad values


def test_defaults_keep_the_step_keys_and_settings_enter_them():
    from xitcore.pipeline import condition_graph

    def inter(over):
        cfg = load_condition(TINY / "multi.yaml", {"intermediate": {"dev_fraction": 0.1, **over}})
        return next(n for n in condition_graph(cfg, "/nonexistent").nodes if n.kind == "intermediate")

    plain = inter({})
    for k in ("early_stopping", "head_lr", "task_max_length", "qa_answerless_keep", "temperature", "eval_every_steps"):
        assert k not in plain.payload["intermediate"]
    off = inter({"patience": 7})  # patience without early stopping computes nothing different
    assert off.rel == plain.rel
    on = inter({"early_stopping": True, "head_lr": 10.0, "temperature": 2.0, "task_max_length": {"qa": 256}})
    got = on.payload["intermediate"]
    assert (got["early_stopping"], got["eval_every_steps"], got["patience"]) == (True, 50, 3)
    assert (got["head_lr"], got["temperature"], got["task_max_length"]) == (10.0, 2.0, {"qa": 256})
    assert on.rel != plain.rel
    # a preset's settings for every condition: what a condition does not train stays out of its key
    preset_wide = {"temperature": 2.0, "task_max_length": {"qa": 256, "sentiment": 64}, "qa_answerless_keep": 0.3}
    single = load_condition(TINY / "multi.yaml", {"intermediate": {"kind": "task", "tasks": ["nli"], **preset_wide}})
    assert single.intermediate.schedule_key() == {}
    mlm = load_condition(TINY / "mlm.yaml", {"intermediate": {"early_stopping": True, "head_lr": 5.0}})
    assert mlm.intermediate.schedule_key() == {}  # no warm-up: head_lr changes nothing there
    mlm = load_condition(TINY / "mlm.yaml", {"intermediate": {"head_lr": 5.0, "mlm_head_warmup_steps": 4}})
    assert mlm.intermediate.schedule_key() == {"head_lr": 5.0, "mlm_head_warmup_steps": 4}


@pytest.mark.parametrize(
    "over,msg",
    [
        ({"head_lr": 0}, r"^intermediate.head_lr must be > 0 \(a multiplier on lr\), got 0.0$"),
        ({"head_lr": "big"}, r"intermediate.head_lr"),
        ({"temperature": -1.0}, r"^intermediate.temperature must be > 0, got -1.0$"),
        ({"qa_answerless_keep": 1.5}, r"^intermediate.qa_answerless_keep must be between 0 and 1, got 1.5$"),
        ({"task_max_length": {"ner": 256}}, r"^intermediate.task_max_length: task 'ner' is unknown; allowed: .*qa"),
        ({"task_max_length": {"qa": 8}}, r"^intermediate.task_max_length.qa must be an integer in \[16, 512\], got 8$"),
        ({"eval_every_steps": 0}, r"^intermediate.eval_every_steps and intermediate.patience must be >= 1"),
        ({"early_stopping": True, "dev_fraction": 0.0}, r"^intermediate.early_stopping needs English dev sets"),
        ({"early_stopping": "yes"}, r"intermediate.early_stopping"),
        ({"mlm_mix": 0.2, "temperature": 2.0}, r"^intermediate.temperature with mlm_mix > 0"),
        ({"mlm_head_warmup_steps": -1}, r"^intermediate.mlm_head_warmup_steps must be >= 0, got -1$"),
        ({"kind": "task", "tasks": ["copa"], "early_stopping": True}, r"copa's English dev is XCOPA val in English"),
    ],
)
def test_bad_phase2_settings_are_one_line_errors(over, msg):
    with pytest.raises(ConfigError, match=msg) as e:
        load_condition(TINY / "multi.yaml", {"intermediate": {"dev_fraction": 0.1, **over}})
    assert "\n" not in str(e.value)


def test_e5_small_turns_the_schedule_on_and_other_presets_keep_it_off():
    """e5-small's phase ii as chosen on dev (book: log of trials); every other shipped preset keeps its keys."""
    from conftest import REPO

    e5 = REPO / "params" / "e5-small"
    qa_key = load_condition(e5 / "en-qa.yaml").intermediate.schedule_key()
    assert qa_key["early_stopping"] and qa_key["task_max_length"] == {"qa": 256} and qa_key["qa_answerless_keep"] < 1
    assert load_condition(e5 / "en-multitask.yaml").intermediate.schedule_key()["temperature"] > 1
    assert "early_stopping" not in load_condition(e5 / "en-copa.yaml").intermediate.schedule_key()
    assert load_condition(e5 / "ml-mlm.yaml").intermediate.schedule_key() == {}  # continued MLM as before
    for preset in ("smoke", "paper", "gpu-small"):
        for path in sorted((REPO / "params" / preset).glob("[!_]*.yaml")):
            assert load_condition(path).intermediate.schedule_key() == {}, path
