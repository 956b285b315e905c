"""mC4 as a corpus source, offline: small shards in allenai/c4's multilingual layout (synthetic text, tests only,
plus two real evaluated sentences that must be cleared): alpha-sampled, deduplicated, resumable."""

import gzip
import json

import pytest
from conftest import REPO, TINY

from xitcore.config import load_condition
from xitcore.corpus import build_mc4_corpus, evaluated_elsewhere, evaluation_sentences, normalize, read_corpus
from xitcore.data import read_xquad
from xitcore.data.treebanks import load_pud
from xitcore.errors import ConfigError, DataError
from xitcore.pipeline import check_train_test_overlap, condition_graph
from xitcore.runstore import RunStore

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

PUD_DE = load_pud("de", "evaluation")[0].text
XQUAD_DE = read_xquad("de")[0]["context"].split(". ")[0] + "."


def _shards(root, docs_per_lang=40):
    root.mkdir(parents=True, exist_ok=True)
    for lang in ("de", "en"):
        for shard in range(2):
            rows = []
            for i in range(docs_per_lang // 2):
                k = shard * 100 + i
                text = f"Satz {lang} {k} eins ist hier. Satz {lang} {k} zwei folgt. Gemeinsamer Satz {lang}."
                if lang == "de" and k == 3:
                    text += " " + PUD_DE  # evaluated by the pos target
                if lang == "de" and k == 5:
                    text += " " + XQUAD_DE  # evaluated by the xquad target
                rows.append(json.dumps({"text": text, "timestamp": "2020", "url": f"https://x/{k}"}))
            with gzip.open(root / f"c4-{lang}.tfrecord-{shard:05d}-of-00002.json.gz", "wt", encoding="utf-8") as f:
                f.write("\n".join(rows) + "\n")
    return root


def test_mc4_corpus_is_capped_deduplicated_and_cleared_of_evaluated_sentences(tmp_path):
    shards = _shards(tmp_path / "mc4")
    stats = build_mc4_corpus(tmp_path / "out", ["de", "en"], 30, alpha=0.3, files=str(shards))
    corpus = read_corpus(tmp_path / "out")
    ev = evaluation_sentences() | evaluated_elsewhere()
    assert set(corpus) == {"de", "en"} and all(len(v) == 30 for v in corpus.values())
    assert not any(normalize(s) in ev for v in corpus.values() for s in v)
    assert stats["excluded_evaluation_sentences"] >= 2 and normalize(PUD_DE) in ev and normalize(XQUAD_DE) in ev
    assert all(len(set(v)) == len(v) for v in corpus.values())  # "Gemeinsamer Satz de." only once
    assert stats["source"] == "mc4 (local shards)" and sum(stats["stream"].values()) == stats["documents"]


def test_an_interrupted_build_resumes_to_the_same_corpus(tmp_path):
    shards = _shards(tmp_path / "mc4")
    whole = build_mc4_corpus(tmp_path / "a", ["de", "en"], 40, alpha=0.3, seed=3, files=str(shards))
    cache = tmp_path / "cache"
    part = build_mc4_corpus(
        tmp_path / "b",
        ["de", "en"],
        40,
        alpha=0.3,
        seed=3,
        files=str(shards),
        cache_dir=cache,
        flush_every=1,
        max_documents=7,
    )
    assert part["documents"] == 7 and (cache / "state.json").is_file()
    resumed = build_mc4_corpus(
        tmp_path / "b", ["de", "en"], 40, alpha=0.3, seed=3, files=str(shards), cache_dir=cache, flush_every=1
    )
    assert read_corpus(tmp_path / "b") == read_corpus(tmp_path / "a")
    assert resumed["documents"] == whole["documents"] and resumed["stream"] == whole["stream"]


def test_a_malformed_shard_is_one_line(tmp_path):
    root = tmp_path / "mc4"
    root.mkdir()
    with gzip.open(root / "c4-de.tfrecord-00000-of-00001.json.gz", "wt") as f:
        f.write('{"url": "no text"}\n')
    with pytest.raises(DataError, match=r"c4-de.tfrecord-00000-of-00001.json.gz:1: not an mC4 JSON object"):
        build_mc4_corpus(tmp_path / "out", ["de"], 5, alpha=0.3, files=str(root))


def test_the_corpus_step_reads_mc4_shards_and_keys_them(tmp_path):
    shards = _shards(tmp_path / "mc4")
    over = {
        "corpus": {
            "source": "mc4",
            "mc4_files": str(shards),
            "languages": ["de", "en"],
            "max_sentences_per_language": 20,
        }
    }
    cfg = load_condition(TINY / "none.yaml", over)
    store = RunStore(tmp_path / "runs")
    node = next(n for n in condition_graph(cfg, store.root).nodes if n.kind == "corpus")
    plain = next(n for n in condition_graph(load_condition(TINY / "none.yaml"), store.root).nodes if n.kind == "corpus")
    assert node.key != plain.key and "mc4" in node.payload["source"] and "source" not in plain.payload
    store.execute(node)
    assert node.done and node.step.metrics()["languages"]["de"]["sentences"] == 20
    assert not (store.root / ".cache" / "corpus-mc4" / node.key).exists()  # the resume cache is cleared when done


def test_mc4_settings_are_checked_and_the_guard_knows_the_corpus_is_cleared(tmp_path):
    with pytest.raises(ConfigError, match="corpus.source 'mc4' streams allenai/c4 from the hub: set backend: hub"):
        load_condition(TINY / "none.yaml", {"corpus": {"source": "mc4"}})
    with pytest.raises(ConfigError, match="corpus.mc4_files needs corpus.source: mc4"):
        load_condition(TINY / "none.yaml", {"corpus": {"mc4_files": str(tmp_path)}})
    xquad = {"backend": "hub", "target": {"tasks": ["xquad"]}}
    with pytest.raises(ConfigError, match="evaluates XQuAD, which the MLM corpus trains on"):
        check_train_test_overlap(load_condition(REPO / "params/smoke/en-qa.yaml", xquad))
    mc4 = load_condition(REPO / "params/smoke/en-qa.yaml", {**xquad, "corpus": {"source": "mc4"}})
    assert check_train_test_overlap(mc4) == {}
