"""intermediate.mlm_mix: MLM batches interleaved with the intermediate task (the paper's "continuing multilingual
MLM during intermediate-task training"), on the tiny preset (CPU, seconds)."""

import json

import numpy as np
import pytest
import torch
from conftest import TINY

from xitcore.config import load_condition
from xitcore.errors import ConfigError
from xitcore.pipeline import condition_graph, run_condition
from xitcore.tasks import mlm as kmlm

torch.set_num_threads(1)


@pytest.mark.quick
def test_mix_size_gives_the_stated_share_of_batches():
    assert kmlm.mix_size(300, 0.25) == 100  # 100 / (100 + 300) = 0.25
    assert kmlm.mix_size(300, 0.5) == 300
    assert kmlm.mix_size(300, 0.0) == 0
    with pytest.raises(ValueError):
        kmlm.mix_size(300, 1.0)


def test_mix_features_are_masked_blocks_fixed_by_the_seed(make_tokenizer):
    tok = make_tokenizer(["the man walks to the house", "der Mann geht in das Haus", "el hombre camina"] * 20)
    blocks = np.array([[tok.bos_token_id] + [5 + (i + j) % 40 for j in range(47)] for i in range(30)])
    data = kmlm.MLMData({"en": blocks[:20], "de": blocks[20:]}, blocks[:0], {"en": 0.6, "de": 0.4}, 0.0)
    a = kmlm.mix_features(data, 12, tok, 0.15, seed=3)
    b = kmlm.mix_features(data, 12, tok, 0.15, seed=3)
    assert a == b and len(a) == 12
    masked = sum(t != -100 for f in a for t in f["labels"])
    total = sum(len(f["labels"]) for f in a)
    assert 0.05 < masked / total < 0.3  # BERT's 15 %
    for f in a:  # a label is the original id of a masked position, never the <s> it starts with
        assert f["labels"][0] == -100 and len(f["input_ids"]) == 48
    batch = kmlm.collate(a[:4], tok.pad_token_id)
    assert batch["input_ids"].shape == batch["labels"].shape == (4, 48)
    assert kmlm.mix_features(data, 12, tok, 0.15, seed=4) != a


@pytest.mark.quick
def test_mlm_mix_is_a_task_setting_only():
    with pytest.raises(ConfigError, match="intermediate.mlm_mix needs intermediate.kind task or multitask"):
        load_condition(TINY / "mlm.yaml", {"intermediate": {"mlm_mix": 0.5}})
    with pytest.raises(ConfigError, match=r"intermediate.mlm_mix must be in \[0, 1\)"):
        load_condition(TINY / "multi.yaml", {"intermediate": {"mlm_mix": 1.0}})


def test_mlm_mix_trains_both_and_keeps_the_task_checkpoint_clean(tmp_path):
    sets = {
        "intermediate": {"kind": "task", "tasks": ["nli"], "steps": 16},
        "target": {"tasks": ["pos"]},
        "eval": {"pos_languages": ["en"], "tatoeba_languages": ["de"]},
    }
    plain = load_condition(TINY / "multi.yaml", sets)
    mixed = load_condition(TINY / "multi.yaml", {**sets, "intermediate": {**sets["intermediate"], "mlm_mix": 0.5}})
    key = lambda cfg: next(n.key for n in condition_graph(cfg, tmp_path).nodes if n.kind == "intermediate")  # noqa: E731
    assert key(plain) != key(mixed)  # the mix is in the step key; without it the key is the one it always was
    index = run_condition(mixed, tmp_path)
    inter = tmp_path / index["seeds"]["1"]["intermediate"]
    m = json.loads((inter / "metrics.json").read_text())
    nli = m["tasks"]["nli"]["features"]
    assert m["tasks"]["mlm"]["blocks"] == nli  # mix 0.5: as many MLM blocks as task features
    assert m["nli_steps"] > 0 and m["mlm_steps"] > 0 and m["nli_steps"] + m["mlm_steps"] == 16
    assert set(json.loads((inter / "model" / "heads.json").read_text())) == {"nli"}  # the MLM head is not saved


def test_the_train_test_guard_counts_the_mixed_in_mlm_corpus():
    from xitcore.pipeline import check_train_test_overlap

    # the xquad target evaluates XQuAD, whose paragraphs the shipped corpus holds (checked from the config alone)
    sets = {"backend": "hub", "intermediate": {"kind": "task", "tasks": ["nli"]}, "target": {"tasks": ["xquad"]}}
    sets["eval"] = {"xquad_languages": ["de"], "allow_overlap": ["XQuAD", "Tatoeba"]}
    no_mlm = {"mlm": {"steps": 0}}
    plain = check_train_test_overlap(load_condition(TINY / "multi.yaml", {**sets, **no_mlm}))
    mix = {**sets["intermediate"], "mlm_mix": 0.5}
    mixed = check_train_test_overlap(load_condition(TINY / "multi.yaml", {**sets, **no_mlm, "intermediate": mix}))
    assert "XQuAD" not in plain and "the MLM corpus" in mixed["XQuAD"]
