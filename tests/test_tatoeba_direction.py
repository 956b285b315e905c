"""Tatoeba is scored in XTREME's direction: each English sentence is a query over the other language's sentences.

XTREME (google-research/xtreme, third_party/evaluate_retrieval.py, task "tatoeba") calls
``utils_retrieve.similarity_search(x, y, ...)`` with x = the xx embeddings, y = the English ones; that function
does ``idx.add(x); idx.search(y, 1)``: the index holds xx and English is the query.
"""

import numpy as np
import pytest

from xitcore.metrics import retrieval_top1

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

# Two pairs on which the two directions differ (cosine similarity, rows L2-normalised):
#   English queries: e0 -> x0 (cos .995 vs .100) right; e1 -> x0 (cos .894 vs .447) wrong      -> 1/2
#   xx queries:      x0 -> e0 (cos .995 vs .894) right; x1 -> e1 (cos .447 vs .100) right      -> 2/2
XX = np.array([[1.0, 0.0], [0.0, 1.0]])
EN = np.array([[1.0, 0.1], [1.0, 0.5]])


def test_the_constructed_case_tells_the_directions_apart():
    assert retrieval_top1(EN, XX) == pytest.approx(0.5)  # English queries
    assert retrieval_top1(XX, EN) == 1.0  # xx queries


def test_kinds_tatoeba_queries_with_english():
    from xitcore.tasks import retrieval as ret

    assert ret.tatoeba_top1(XX, EN) == pytest.approx(0.5)


def test_step_tatoeba_queries_with_english(tmp_path, monkeypatch):
    from conftest import TINY

    import xitcore.pipeline as pipeline
    from xitcore.config import load_condition
    from xitcore.pipeline import step_tatoeba
    from xitcore.runstore import RunStore, Step

    class Encoder:
        def to(self, device):
            return self

    vectors = {"x0": XX[0], "x1": XX[1], "e0": EN[0], "e1": EN[1]}
    monkeypatch.setattr(pipeline, "read_tatoeba", lambda iso3: (["x0", "x1"], ["e0", "e1"]))
    monkeypatch.setattr(pipeline, "load_tokenizer", lambda path: object())
    monkeypatch.setattr(pipeline, "load_encoder", lambda path: Encoder())
    monkeypatch.setattr(
        pipeline, "embed_sentences", lambda enc, tok, sents, *a, **k: np.stack([vectors[s] for s in sents])
    )
    cfg = load_condition(TINY / "none.yaml")
    assert cfg.eval.tatoeba_languages == ["de"]
    source = Step("mlm", "fake", tmp_path / "runs" / "mlm" / "fake")
    store = RunStore(tmp_path / "runs")
    step = store.execute(step_tatoeba(store, cfg, source, "mlm"))
    m = step.metrics()
    assert m["top1"] == {"de": 50.0}  # xx queries would give 100.0
    assert step.config()["version"] == 2  # results of the reversed direction (version 1) are not reused
