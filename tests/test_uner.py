"""Universal NER as the NER target's data (target.ner_data uner): the IOB2 reader, the vendored files, the PUD
alignment, the user's own IOB2 file (eval.ner_files), the config rules, the overlap guard and a tiny end-to-end run
whose results keep the UNER average apart from CoNLL-2002."""

from __future__ import annotations

import gzip
import json
from collections import Counter

import pytest
from conftest import TINY

from xitcore.config import load_condition
from xitcore.data.iob2 import read_iob2
from xitcore.data.paths import UNER_PUD_SETS, UNER_SETS, UNER_TEST_SETS, uner_file, verify_checksums
from xitcore.data.treebanks import (
    NER_LABELS,
    load_ner_eval,
    load_ner_train,
    load_pos_eval,
    load_pos_train,
    load_uner_eval,
    ner_file_keys,
    pud_split,
    uner_pud_aligned,
)
from xitcore.errors import ConfigError, DataError

UNER_TEXT = (
    "# newdoc id = d1\n# sent_id = d1-0001\n# text = Ana went to Oslo.\n"
    "1\tAna\tB-PER\t-\tann\n2\twent\tO\t-\t-\n3\tto\tO\t-\t-\n4\tOslo\tB-LOC\t-\tann\n5\t.\tO\t-\t-\n\n"
    "# sent_id = d1-0002\n# text = The Red Cross helps.\n"
    "1\tThe\tO\t-\t-\n2\tRed\tB-ORG\t-\tann\n3\tCross\tI-ORG\t-\tann\n4\thelps\tO\t-\t-\n5\t#\tB-OTH\t-\tann\n\n"
)
COLUMNS_TEXT = "-DOCSTART- O\n\n# B-PER\nAna I-PER\nwent O\n\nOslo I-LOC\n"


def _one_line(exc) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


@pytest.fixture
def xx_file(tmp_path):
    p = tmp_path / "xx-test.iob2"
    p.write_text(UNER_TEXT, encoding="utf-8")
    return p


# --------------------------------------------------------------------------- reader
@pytest.mark.quick
def test_reader_uner_layout(xx_file):
    sents = read_iob2(xx_file)
    assert [s.sent_id for s in sents] == ["d1-0001", "d1-0002"]
    assert [s.doc_id for s in sents] == ["d1", "d1"]
    assert sents[0].words == ["Ana", "went", "to", "Oslo", "."]
    assert sents[0].tags == ["B-PER", "O", "O", "B-LOC", "O"]
    assert sents[1].text == "The Red Cross helps."
    assert sents[1].tags == ["O", "B-ORG", "I-ORG", "O", "B-OTH"]  # types kept as found by the reader


@pytest.mark.quick
def test_reader_column_layout_and_iob1_repair(tmp_path):
    p = tmp_path / "cols.txt.gz"
    p.write_bytes(gzip.compress(COLUMNS_TEXT.encode()))
    sents = read_iob2(p)
    # a '#' line is a word in this layout; an I- that starts an entity becomes B-
    assert [s.words for s in sents] == [["#", "Ana", "went"], ["Oslo"]]
    assert [s.tags for s in sents] == [["B-PER", "I-PER", "O"], ["B-LOC"]]
    assert sents[1].sent_id == "cols.txt.gz#2"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1\tAna\tB-PERSON!\t-\n", "bad.iob2:1: tag 'B-PERSON!' is not IOB2; allowed: O, B-<TYPE>, I-<TYPE>"),
        ("1\tAna\tO\t-\n3\tx\tO\t-\n", "bad.iob2:2: token index 3 where 2 was expected"),
        ("1\tAna\tO\t-\nAna O\n", "bad.iob2:2: expected a token line 'index<TAB>word<TAB>tag[<TAB>...]'"),
        ("Ana\n", "bad.iob2:1: expected 'word ... tag' (at least 2 columns), got 'Ana'"),
        ("# only = comments\n\n", "holds no sentences (expected IOB2 token lines)"),
    ],
)
@pytest.mark.quick
def test_malformed_file_is_one_data_error_line(tmp_path, text, expected):
    p = tmp_path / "bad.iob2"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_iob2(p, source="bad.iob2")
    assert expected in _one_line(e)


@pytest.mark.quick
def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(DataError) as e:
        read_iob2(tmp_path / "none.iob2")
    assert "does not exist (expected an IOB2 NER file" in _one_line(e)
    p = tmp_path / "latin1.iob2"
    p.write_bytes("1\tJosé\tB-PER\t-\n".encode("latin-1"))
    with pytest.raises(DataError) as e:
        read_iob2(p)
    assert "cannot decode as utf-8" in _one_line(e)


# --------------------------------------------------------------------------- vendored files
SIZES = {"en": 1000, "de": 1000, "pt": 1000, "ru": 1000, "sv": 1000, "zh": 1000}
SIZES.update({"da": 565, "hr": 1136, "sr": 520, "sk": 1061, "pt-bosque": 1167, "zh-gsd": 500})


@pytest.mark.parametrize("name", UNER_SETS)
def test_vendored_sets_sizes_and_labels(name):
    sents = read_iob2(uner_file(name))
    assert len(sents) == SIZES[name]
    types = {t[2:] for s in sents for t in s.tags if t != "O"}
    assert types == ({"PER", "ORG", "LOC", "OTH"} if name in ("hr", "sr") else {"PER", "ORG", "LOC"})
    ev = load_uner_eval(name)
    assert len(ev) == (500 if name in UNER_PUD_SETS else SIZES[name])
    assert {t for e in ev for t in e["tags"]} == set(NER_LABELS)  # OTH scored as O
    assert {e["lang"] for e in ev} == {name}


def test_vendored_files_are_checksummed_and_licensed():
    from xitcore.data.paths import data_root, read_checksums

    listed = {p for p in read_checksums() if p.startswith("uner/")}
    on_disk = {p.relative_to(data_root()).as_posix() for p in (data_root() / "uner").rglob("*") if p.is_file()}
    assert listed == on_disk
    verify_checksums(sorted(listed))
    for folder in {p.split("/")[1] for p in on_disk}:
        assert {"LICENSE.txt", "README.md", "SOURCE.txt"} <= {p.split("/")[2] for p in on_disk if f"/{folder}/" in p}
    assert "UniversalNER/UNER_German-PUD @ 47eb039b6d80079b280ba70efe4136413fb7af9c" in (
        data_root() / "uner/UNER_German-PUD/SOURCE.txt"
    ).read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", UNER_PUD_SETS)
def test_pud_alignment_gives_the_upos_evaluation_half(lang):
    aligned = uner_pud_aligned(lang)
    assert len(aligned) == 1000
    ner, pos = load_uner_eval(lang), load_pos_eval(lang)
    same = sum(n["words"] == p["words"] for n, p in zip(ner, pos))
    assert same >= 495, same  # 996-1000 of the 1,000 PUD sentences tokenise alike
    if lang != "zh":  # UNER ids name UD's document: the aligned sentence is from the same document
        ud_docs = [p["sentence"].sent_id[:-3] for p in pos]
        _, ev = pud_split()
        assert [aligned[i].sent_id.rsplit("-", 1)[0] for i in ev] == ud_docs
    # the dev split is the other half, never the evaluation sentences
    dev = load_uner_eval(lang, "dev")
    assert len(dev) == 500 and not {" ".join(e["words"]) for e in dev} & {" ".join(e["words"]) for e in ner}


def test_training_data_is_ewt_dev_in_upos_order():
    train, pos = load_ner_train("uner"), load_pos_train()
    assert len(train) == len(pos) == 2001
    assert sum(t["words"] == p["words"] for t, p in zip(train, pos)) == 1998
    counts = Counter(t for e in train for t in e["tags"] if t.startswith("B-"))
    assert counts == {"B-LOC": 399, "B-PER": 343, "B-ORG": 224}
    with pytest.raises(DataError) as e:
        load_ner_train("wikiann")
    assert _one_line(e) == "unknown NER training data 'wikiann': allowed are ieer, uner"


@pytest.mark.quick
def test_test_sets_have_no_dev_split():
    with pytest.raises(DataError) as e:
        load_uner_eval("hr", "dev")
    assert "UNER set 'hr' is a test set only, with no dev split; allowed with eval.split dev: en, de" in _one_line(e)


# --------------------------------------------------------------------------- config
def _cfg(**over):
    base = {"target": {"ner_data": "uner"}, "eval": {"ner_languages": ["de", "da"]}}
    for k, v in over.items():
        base.setdefault(k, {}).update(v)
    return load_condition(TINY / "none.yaml", base)


@pytest.mark.quick
def test_config_languages_follow_the_ner_data():
    cfg = _cfg(eval={"ner_languages": list(UNER_SETS), "ner_conll2002": ["es", "nl"]})
    assert cfg.eval.languages_of("ner") == list(UNER_SETS)
    with pytest.raises(ConfigError) as e:
        _cfg(eval={"ner_languages": ["es"]})
    assert _one_line(e).startswith(
        "eval.ner_languages: language 'es' is unknown for target.ner_data 'uner'; allowed: en, de, pt, ru, sv, zh, da"
    )
    with pytest.raises(ConfigError) as e:  # IEER-trained NER: CoNLL-2002 is already its evaluation
        load_condition(TINY / "none.yaml", {"eval": {"ner_conll2002": ["es"]}})
    assert "eval.ner_conll2002 is for target.ner_data uner" in _one_line(e)
    with pytest.raises(ConfigError) as e:
        _cfg(target={"ner_data": "wikiann"})
    assert _one_line(e) == "target.ner_data 'wikiann' is unknown; allowed: ieer, uner"
    with pytest.raises(ConfigError) as e:
        _cfg(eval={"ner_conll2002": ["de"]})
    assert "eval.ner_conll2002: language 'de' is unknown; allowed: es, nl" in _one_line(e)


def test_dev_split_keeps_the_sets_with_a_dev_split(xx_file):
    cfg = _cfg(
        eval={"split": "dev", "ner_languages": ["en", "de", "hr", "zh-gsd", "xx"], "ner_files": {"xx": str(xx_file)}}
    )
    assert cfg.eval.languages_of("ner") == ["en", "de"]


# --------------------------------------------------------------------------- a user's IOB2 file
@pytest.mark.quick
def test_user_file_by_one_key(xx_file):
    cfg = _cfg(eval={"ner_languages": ["de", "xx"], "ner_files": {"xx": str(xx_file)}})
    assert cfg.eval.ner_files == {"xx": str(xx_file.resolve())}
    ev = load_ner_eval("xx", "evaluation", "uner", cfg.eval.ner_files)
    assert [e["tags"] for e in ev] == [["B-PER", "O", "O", "B-LOC", "O"], ["O", "B-ORG", "I-ORG", "O", "O"]]
    first = load_ner_eval("xx", "evaluation", "uner", {"xx": f"{xx_file}#first:1"})
    assert len(first) == 1
    # IEER-trained NER takes a user file too
    ieer = load_condition(
        TINY / "none.yaml", {"eval": {"ner_languages": ["es", "xx"], "ner_files": {"xx": str(xx_file)}}}
    )
    assert len(load_ner_eval("xx", "evaluation", "ieer", ieer.eval.ner_files)) == 2
    with pytest.raises(ConfigError) as e:  # unknown code without a file
        _cfg(eval={"ner_languages": ["yy"]})
    assert "language 'yy' is unknown" in _one_line(e)
    with pytest.raises(ConfigError) as e:
        _cfg(eval={"ner_languages": ["xx"], "ner_files": {"xx": str(xx_file.parent / "missing.iob2")}})
    missing = (xx_file.parent / "missing.iob2").resolve()
    assert _one_line(e) == f"eval.ner_files.xx: file '{missing}' does not exist"


@pytest.mark.quick
def test_malformed_user_file_fails_with_one_line_naming_the_key(tmp_path):
    p = tmp_path / "xx.iob2"
    p.write_text("1\tAna\tPERSON\t-\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_ner_eval("xx", "evaluation", "uner", {"xx": str(p)})
    assert _one_line(e) == "eval.ner_files.xx:1: tag 'PERSON' is not IOB2; allowed: O, B-<TYPE>, I-<TYPE>"


def test_user_file_key_follows_the_bytes(xx_file, tmp_path):
    files = {"xx": str(xx_file)}
    assert ner_file_keys(["de"], files) == {}
    k = ner_file_keys(["de", "xx"], files)
    moved = tmp_path / "moved.iob2"
    moved.write_bytes(xx_file.read_bytes())
    assert ner_file_keys(["xx"], {"xx": str(moved)}) == k
    xx_file.write_text(UNER_TEXT.replace("B-LOC", "B-ORG"), encoding="utf-8")
    assert ner_file_keys(["xx"], files)["xx"]["sha256"] != k["xx"]["sha256"]


# --------------------------------------------------------------------------- step keys and the overlap guard
@pytest.mark.quick
def test_step_key_changes_only_with_uner(xx_file, tmp_path):
    from xitcore.pipeline import condition_graph

    def ner_key(over):
        graph = condition_graph(load_condition(TINY / "none.yaml", over), tmp_path / "runs")
        (node,) = [n for n in graph.nodes if n.kind == "target" and n.payload["target"] == "ner"]
        return node.payload

    ieer = ner_key({})
    assert "ner_data" not in ieer and "ner_files" not in ieer and "conll2002" not in ieer
    uner = ner_key({"target": {"ner_data": "uner"}, "eval": {"ner_languages": ["de"], "ner_conll2002": ["es"]}})
    assert uner["ner_data"] == "uner" and uner["conll2002"] == ["es"] and uner["languages"] == ["de"]
    user = ner_key({"eval": {"ner_languages": ["es", "xx"], "ner_files": {"xx": str(xx_file)}}})
    assert set(user["ner_files"]) == {"xx"}


def test_overlap_guard_knows_the_uner_sets():
    from xitcore import overlap
    from xitcore.pipeline import _evaluates
    from xitcore.tasks import registry

    cfg = _cfg(eval={"ner_languages": ["en", "de", "hr"], "ner_conll2002": ["nl"]})
    assert _evaluates(cfg, "ner") == (
        "UNER English-EWT test",
        "UNER PUD evaluation half",
        "UNER Croatian-SET test",
        "CoNLL-2002 testb",
    )
    assert set(registry.UNER_TEST_SET_NAMES.values()) | {"UNER PUD evaluation half"} <= set(registry.DATA_SETS)
    pud = overlap.evaluated_items("UNER PUD evaluation half")
    assert len(pud) > 5000
    # the German PUD evaluation half is in it, the intermediate half (what ml-deprel trains on) is not
    ev_text = overlap._item(" ".join(load_uner_eval("de")[0]["words"]))
    dev_text = overlap._item(" ".join(load_uner_eval("de", "dev")[0]["words"]))
    assert ev_text in pud and dev_text not in pud
    assert overlap._item(" ".join(load_uner_eval("hr")[0]["words"])) in overlap.evaluated_items(
        "UNER Croatian-SET test"
    )
    assert set(UNER_TEST_SETS) == set(registry.UNER_TEST_SET_NAMES)


@pytest.mark.quick
def test_overlap_guard_refuses_training_on_an_evaluated_uner_set(monkeypatch):
    """An intermediate task whose training data holds a UNER evaluation sentence is refused by name."""
    from xitcore import overlap, pipeline

    sentence = " ".join(load_uner_eval("sv")[3]["words"])
    monkeypatch.setattr(overlap, "training_items", lambda task, data="en": overlap._items([sentence]))
    cfg = load_condition(
        TINY / "none.yaml",
        {
            "intermediate": {"kind": "task", "tasks": ["sentiment"]},
            "target": {"ner_data": "uner"},
            "eval": {"ner_languages": ["sv"]},
        },
    )
    with pytest.raises(ConfigError) as e:
        pipeline.check_train_test_overlap(cfg)
    msg = _one_line(e)
    assert "target ner evaluates UNER PUD evaluation half, which intermediate task sentiment" in msg
    allowed = load_condition(
        TINY / "none.yaml",
        {
            "intermediate": {"kind": "task", "tasks": ["sentiment"]},
            "target": {"ner_data": "uner"},
            "eval": {"ner_languages": ["sv"], "allow_overlap": ["UNER PUD evaluation half"]},
        },
    )
    assert "UNER PUD evaluation half" in pipeline.check_train_test_overlap(allowed)


# --------------------------------------------------------------------------- end to end (tiny preset)
def test_tiny_pipeline_scores_ner_on_uner_sets(tiny_runs, xx_file):
    from xitcore.pipeline import run_condition
    from xitcore.results import load_results

    over = {
        "target": {"tasks": ["ner"], "ner_data": "uner", "max_train_sentences": 24},
        "eval": {
            "ner_languages": ["en", "de", "da", "zh-gsd", "xx"],
            "ner_files": {"xx": str(xx_file)},
            "ner_conll2002": ["es"],
            "ner_max_sentences": 20,
        },
    }
    cfg = load_condition(TINY / "none.yaml", over)
    idx = run_condition(cfg, tiny_runs)
    rel = idx["seeds"]["1"]["targets"]["ner"]
    m = json.loads((tiny_runs / rel / "metrics.json").read_text())
    assert set(m["languages"]) == {"en", "de", "da", "zh-gsd", "xx"}
    assert m["languages"]["de"]["sentences"] == 20 and m["languages"]["xx"]["sentences"] == 2
    assert m["train_sentences"] == 24
    assert m["ewt_test"]["sentences"] == 20  # the English check, capped as the other sets
    assert list(m["conll2002"]) == ["es"] and m["conll2002"]["es"]["sentences"] == 20
    cfg_json = json.loads((tiny_runs / rel / "config.json").read_text())
    assert cfg_json["ner_data"] == "uner" and cfg_json["conll2002"] == ["es"]

    df = load_results(tiny_runs, report=False, variants=True)
    df = df[(df.condition == idx["condition"]) & (df.phase == "target")]
    ner = df[(df.task == "ner") & (df.metric == "span_f1")].set_index("language").value
    assert set(ner.index) == {"en", "de", "da", "zh-gsd", "xx", "avg", "en-ewt"}
    zero_shot = [m["languages"][l]["span_f1"] for l in ("de", "da", "zh-gsd", "xx")]
    assert ner["avg"] == pytest.approx(sum(zero_shot) / 4)  # UNER sets only: not en, en-ewt or CoNLL-2002
    second = df[(df.task == "ner-conll2002") & (df.metric == "span_f1")].set_index("language").value
    assert set(second.index) == {"es", "avg"} and second["avg"] == pytest.approx(m["conll2002"]["es"]["span_f1"])
    assert set(df[df.task == "ner-conll2002"].metric) == {"span_f1", "span_f1_strict"}
