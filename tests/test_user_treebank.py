"""Zero-shot UPOS evaluation on a user's own treebank (eval.pos_treebanks) and the opt-in shipped languages
sv, pl (PUD) and ja (GSD)."""

from __future__ import annotations

import pytest
from conftest import TINY

from xitcore.config import PUD_LANGUAGES, EvalConfig, ExperimentConfig, from_dict, load_condition
from xitcore.data.treebanks import load_pos_dev, load_pos_eval, load_pos_train, pos_treebank_keys
from xitcore.errors import ConfigError, DataError

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)


def _sentence(n: int) -> str:
    return (
        f"# sent_id = xx-{n}\n# text = Wa{n} bo.\n"
        f"1\tWa{n}\twa\tNOUN\t_\t_\t2\tnsubj\t_\t_\n"
        f"2\tbo\tbo\tVERB\t_\t_\t0\troot\t_\tSpaceAfter=No\n"
        f"3\t.\t.\tPUNCT\t_\t_\t2\tpunct\t_\t_\n\n"
    )


@pytest.fixture
def xx_file(tmp_path):
    p = tmp_path / "xx-test.conllu"
    p.write_text("".join(_sentence(n) for n in (1, 2, 3)), encoding="utf-8")
    return p


def _cfg(pos_languages, treebanks) -> ExperimentConfig:
    return load_condition(TINY / "none.yaml", {"eval": {"pos_languages": pos_languages, "pos_treebanks": treebanks}})


def _one_line(exc) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


# --------------------------------------------------------------------------- user treebanks
def test_user_treebank_evaluates_all_sentences(xx_file):
    cfg = _cfg(["en", "xx"], {"xx": str(xx_file)})
    assert cfg.eval.pos_languages == ["en", "xx"]
    ev = load_pos_eval("xx", cfg.eval.pos_treebanks)
    assert len(ev) == 3
    assert ev[0]["words"] == ["Wa1", "bo", "."] and ev[0]["tags"] == ["NOUN", "VERB", "PUNCT"]
    assert {e["lang"] for e in ev} == {"xx"}
    assert [e["sentence"].sent_id for e in ev] == ["xx-1", "xx-2", "xx-3"]
    assert ev[2]["sentence"].text == "Wa3 bo."
    # the same config built directly from a dict
    cfg2 = from_dict(ExperimentConfig, {"eval": {"pos_languages": ["xx"], "pos_treebanks": {"xx": str(xx_file)}}})
    assert len(load_pos_eval("xx", cfg2.eval.pos_treebanks)) == 3


def test_relative_path_is_resolved_against_the_current_directory(xx_file, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    cfg = _cfg(["xx"], {"xx": "xx-test.conllu"})
    assert cfg.eval.pos_treebanks == {"xx": str(xx_file.resolve())}
    monkeypatch.chdir(TINY)  # still the same file after a change of directory, and after a to_dict round trip
    again = from_dict(ExperimentConfig, cfg.to_dict())
    assert again.eval.pos_treebanks == cfg.eval.pos_treebanks
    assert len(load_pos_eval("xx", again.eval.pos_treebanks)) == 3


def test_first_n_sentences(xx_file):
    cfg = _cfg(["xx"], {"xx": f"{xx_file}#first:2"})
    assert cfg.eval.pos_treebanks["xx"].endswith("#first:2")
    assert [e["sentence"].sent_id for e in load_pos_eval("xx", cfg.eval.pos_treebanks)] == ["xx-1", "xx-2"]
    with pytest.raises(DataError) as e:
        load_pos_eval("xx", {"xx": f"{xx_file}#first:4"})
    assert "eval.pos_treebanks.xx: '#first:4' asks for more sentences than file" in _one_line(e)
    with pytest.raises(ConfigError) as e:
        _cfg(["xx"], {"xx": f"{xx_file}#first:none"})
    assert _one_line(e) == (
        "eval.pos_treebanks.xx: split '#first:none' is not allowed; allowed: '#first:N' with N a positive integer"
    )


def test_missing_file_is_one_config_error_line(tmp_path):
    missing = tmp_path / "nowhere.conllu"
    with pytest.raises(ConfigError) as e:
        _cfg(["xx"], {"xx": str(missing)})
    assert _one_line(e) == f"eval.pos_treebanks.xx: file '{missing}' does not exist"
    with pytest.raises(ConfigError) as e:
        _cfg(["xx"], {"xx": str(tmp_path)})
    assert _one_line(e) == (
        f"eval.pos_treebanks.xx: '{tmp_path}' is a directory; allowed: a CoNLL-U file (.conllu or .conllu.gz)"
    )


def test_malformed_file_is_one_data_error_line(tmp_path):
    bad = tmp_path / "bad.conllu"
    bad.write_text(_sentence(1) + "1\tWa\twa\tNOUN\t_\n\n", encoding="utf-8")
    cfg = _cfg(["xx"], {"xx": str(bad)})  # the config does not parse the file
    with pytest.raises(DataError) as e:
        load_pos_eval("xx", cfg.eval.pos_treebanks)
    assert _one_line(e) == f"{bad}:7: expected 10 tab-separated columns, got 5"


def test_empty_file_is_a_data_error(tmp_path):
    empty = tmp_path / "empty.conllu"
    empty.write_text("# only a comment\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_pos_eval("xx", {"xx": str(empty)})
    assert "holds no sentences" in _one_line(e)


def test_unknown_language_without_a_treebank_is_still_rejected(xx_file):
    with pytest.raises(ConfigError) as e:
        _cfg(["yy"], {"xx": str(xx_file)})
    msg = _one_line(e)
    assert msg.startswith("eval.pos_languages: language 'yy' is unknown; allowed: ar, de,")
    assert ", ja, xx (or a code given a file in eval.pos_treebanks)" in msg
    with pytest.raises(DataError, match="no UPOS evaluation treebank for language 'yy'"):
        load_pos_eval("yy")
    with pytest.raises(DataError, match="no UPOS dev split for language 'xx'"):
        load_pos_dev("xx")


@pytest.mark.parametrize("code", ["XX", "x x", "1xx", "", "x" * 17, "xx/../yy"])
def test_bad_language_code(code, xx_file):
    with pytest.raises(ConfigError) as e:
        _cfg([], {code: str(xx_file)})
    assert _one_line(e) == (
        f"eval.pos_treebanks: language code '{code}' is not allowed; allowed: 1-16 lowercase "
        "letters, digits, '_' or '-', starting with a letter"
    )


def test_user_treebank_overrides_a_shipped_language(xx_file):
    cfg = _cfg(["de"], {"de": str(xx_file)})
    assert len(load_pos_eval("de", cfg.eval.pos_treebanks)) == 3
    assert len(load_pos_eval("de")) == 500  # without the mapping: the shipped PUD evaluation half
    assert len(load_pos_dev("de")) == 500  # the dev split stays the shipped one


def test_step_key_part_follows_the_file_bytes(xx_file, tmp_path):
    tb = {"xx": str(xx_file)}
    assert pos_treebank_keys(["en", "de"], tb) == {}  # no user treebank used: nothing enters the key
    assert pos_treebank_keys(["en"], {}) == {} and pos_treebank_keys(["en"], None) == {}
    k1 = pos_treebank_keys(["en", "xx"], tb)
    assert set(k1) == {"xx"} and len(k1["xx"]["sha256"]) == 64 and k1["xx"]["first"] is None
    moved = tmp_path / "moved.conllu"
    moved.write_bytes(xx_file.read_bytes())
    assert pos_treebank_keys(["xx"], {"xx": str(moved)}) == k1  # the path is not part of it
    assert pos_treebank_keys(["xx"], {"xx": f"{moved}#first:2"})["xx"]["first"] == 2
    xx_file.write_text(xx_file.read_text(encoding="utf-8").replace("NOUN", "PROPN"), encoding="utf-8")
    assert pos_treebank_keys(["xx"], tb)["xx"]["sha256"] != k1["xx"]["sha256"]


# --------------------------------------------------------------------------- shipped opt-in languages
def test_default_pos_languages_unchanged_and_new_ones_opt_in():
    assert EvalConfig().pos_languages == PUD_LANGUAGES
    assert len(PUD_LANGUAGES) == 13 and not {"sv", "pl", "ja"} & set(PUD_LANGUAGES)
    assert EvalConfig().pos_treebanks == {}
    assert _cfg(["sv", "pl", "ja"], {}).eval.pos_languages == ["sv", "pl", "ja"]


@pytest.mark.parametrize("lang", ["sv", "pl"])
def test_pud_opt_in_languages_use_the_fixed_split(lang):
    ev, dev = load_pos_eval(lang), load_pos_dev(lang)
    assert len(ev) == len(dev) == 500
    ev_en, dev_en = load_pos_eval("en"), load_pos_dev("en")
    # same sentence positions as every other PUD language (the treebanks are sentence-parallel)
    assert [e["sentence"].sent_id for e in ev] == [e["sentence"].sent_id for e in ev_en]
    assert [e["sentence"].sent_id for e in dev] == [e["sentence"].sent_id for e in dev_en]
    assert not {e["sentence"].sent_id for e in ev} & {e["sentence"].sent_id for e in dev}
    for e in ev[:50] + dev[:50]:
        assert e["lang"] == lang and e["words"] == e["sentence"].words and e["tags"] == e["sentence"].upos


def test_japanese_gsd_test_for_evaluation_dev_for_dev():
    ev, dev = load_pos_eval("ja"), load_pos_dev("ja")
    assert len(ev) == 543 and len(dev) == 507
    assert ev[0]["sentence"].sent_id == "test-s1" and dev[0]["sentence"].sent_id.startswith("dev-")
    assert ev[0]["words"][:3] == ["これ", "に", "不快"] and ev[0]["tags"][:3] == ["PRON", "ADP", "NOUN"]
    assert all(e["lang"] == "ja" and len(e["words"]) == len(e["tags"]) for e in ev + dev)


def test_examples_keep_their_keys_and_carry_the_sentence():
    ex = load_pos_eval("de")[0]
    assert set(ex) == {"words", "tags", "lang", "sentence"}
    assert ex["words"] == list(ex["sentence"].words) and ex["lang"] == "de"
    tr = load_pos_train()[0]
    assert set(tr) == {"words", "tags", "lang", "sentence"} and tr["words"] == tr["sentence"].words


def test_shipped_files_and_checksums():
    from xitcore.data.paths import ud_file, verify_checksums

    rel = {
        ("sv", "pud"): "ud/UD_Swedish-PUD/sv_pud-ud-test.conllu.gz",
        ("pl", "pud"): "ud/UD_Polish-PUD/pl_pud-ud-test.conllu.gz",
        ("ja", "gsd-dev"): "ud/UD_Japanese-GSD/ja_gsd-ud-dev.conllu.gz",
        ("ja", "gsd-test"): "ud/UD_Japanese-GSD/ja_gsd-ud-test.conllu.gz",
    }
    for (lang, which), path in rel.items():
        assert ud_file(lang, which).as_posix().endswith("data/" + path)
    verify_checksums(list(rel.values()))
    with pytest.raises(DataError, match="unknown language 'en' for UD gsd-test: allowed is ja"):
        ud_file("en", "gsd-test")
    with pytest.raises(DataError, match="unknown PUD language 'ja'"):
        ud_file("ja", "pud")


def test_gzipped_user_treebank(xx_file, tmp_path):
    import gzip

    gz = tmp_path / "xx-test.conllu.gz"
    gz.write_bytes(gzip.compress(xx_file.read_bytes()))
    cfg = _cfg(["xx"], {"xx": str(gz)})
    assert [e["words"] for e in load_pos_eval("xx", cfg.eval.pos_treebanks)] == [
        e["words"] for e in load_pos_eval("xx", {"xx": str(xx_file)})
    ]
