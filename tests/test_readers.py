"""Readers against the real vendored data (data/) plus small malformed inputs written to tmp_path."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from pathlib import Path

import pytest

from xitcore import data as xd
from xitcore.errors import DataError

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)


# --------------------------------------------------------------------------- paths / checksums
def test_data_root_is_repo_data(monkeypatch):
    monkeypatch.delenv("XIT_DATA_ROOT", raising=False)
    assert xd.data_root() == Path(__file__).resolve().parents[1] / "data"
    assert (xd.data_root() / "README.md").is_file()


def test_missing_file_is_data_error():
    with pytest.raises(DataError, match=r"missing data file .*no/such/file\.txt"):
        xd.data_file("no/such/file.txt")


def test_data_root_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("XIT_DATA_ROOT", str(tmp_path))
    with pytest.raises(DataError, match="missing data file"):
        xd.ud_file("de")
    monkeypatch.delenv("XIT_DATA_ROOT")
    assert xd.ud_file("de").is_file()


def test_checksums_list_every_vendored_file():
    root = xd.data_root()
    listed = set(xd.read_checksums())
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {"CHECKSUMS.sha256"}
    assert listed == on_disk
    # spot-check a few sums (the full check reads ~17 MB; cheap enough, but keep the test fast)
    xd.verify_checksums(["ud/UD_German-PUD/de_pud-ud-test.conllu.gz", "nltk/rte.zip", "tatoeba/tatoeba.deu-eng.deu.gz"])


def test_open_text_handles_gzip(tmp_path):
    p = tmp_path / "x.txt.gz"
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write("héllo\n")
    with xd.open_text(p) as fh:
        assert fh.read() == "héllo\n"
    with pytest.raises(DataError, match="missing data file"):
        xd.open_text(tmp_path / "absent.gz")


# --------------------------------------------------------------------------- CoNLL-U
@pytest.fixture(scope="module")
def pud():
    return {lang: xd.read_conllu(xd.ud_file(lang)) for lang in ("de", "en", "zh", "fi")}


def test_pud_all_languages_1000_sentences():
    assert len(xd.PUD_LANGS) == 13
    for lang in xd.PUD_LANGS:
        sents = xd.read_conllu(xd.ud_file(lang))
        assert len(sents) == 1000, lang
        assert all(len(s.words) == len(s.upos) == len(s.heads) == len(s.deprel) for s in sents)


def test_pud_is_sentence_parallel(pud):
    ids = {lang: [s.sent_id for s in sents] for lang, sents in pud.items()}
    assert ids["de"] == ids["en"] == ids["zh"] == ids["fi"]


def test_ewt_counts():
    assert len(xd.read_conllu(xd.ud_file("en", "ewt-dev"))) == 2001
    assert len(xd.read_conllu(xd.ud_file("en", "ewt-test"))) == 2077


def test_german_multiword_token_expanded(pud):
    sent = next(s for s in pud["de"] if s.sent_id == "n01002017")
    surface = {m[2]: m for m in sent.multiword}
    assert "zur" in surface
    first, last, _ = surface["zur"]
    assert sent.words[first : last + 1] == ["zu", "der"]
    assert sent.upos[first : last + 1] == ["ADP", "DET"]
    assert sent.deprel[first : last + 1] == ["case", "det"]
    assert "zur" not in sent.words
    # every MWT in German PUD covers >= 2 syntactic words
    assert all(l > f for s in pud["de"] for f, l, _ in s.multiword)


def test_empty_nodes_are_skipped():
    dev = xd.read_conllu(xd.ud_file("en", "ewt-dev"))
    sent = next(s for s in dev if s.sent_id.endswith("20060814_163400-0007"))
    # the file has "8.1  write" (a copy of word 5) between words 8 and 9
    assert sent.words[7:9] == ["like", "about"]
    assert sent.words.count("write") == 1
    assert all(h <= len(sent.words) for h in sent.heads)


def test_heads_and_ids(pud):
    s = pud["en"][0]
    assert s.heads.count(0) >= 1 and all(0 <= h <= len(s.words) for h in s.heads)
    assert s.text and s.comments.get("sent_id") == s.sent_id


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


GOOD = (
    "# sent_id = a\n# text = Im Haus.\n"
    "1-2\tIm\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "1\tIn\tin\tADP\t_\t_\t3\tcase\t_\t_\n"
    "2\tdem\tder\tDET\t_\t_\t3\tdet\t_\t_\n"
    "3\tHaus\tHaus\tNOUN\t_\t_\t0\troot\t_\t_\n"
    "3.1\tx\tx\tVERB\t_\t_\t_\t_\t3:dep\t_\n"
    "4\t.\t.\tPUNCT\t_\t_\t3\tpunct\t_\t_\n"
    "\n"
    "1\tJa\tja\tINTJ\t_\t_\t0\troot\t_\t_"  # no final newline, no blank line, no comments
)


def test_conllu_small_file_without_final_blank_line(tmp_path):
    sents = xd.read_conllu(_write(tmp_path, "ok.conllu", GOOD))
    assert len(sents) == 2
    a, b = sents
    assert a.words == ["In", "dem", "Haus", "."] and a.multiword == [(0, 1, "Im")]
    assert a.upos == ["ADP", "DET", "NOUN", "PUNCT"] and a.heads == [3, 3, 0, 3]
    assert b.words == ["Ja"] and b.sent_id == "ok.conllu#2" and b.text == "Ja"


@pytest.mark.parametrize(
    "bad_line, lineno, what",
    [
        ("2\tdem\tder\tDET\t_\t_\t3\tdet\t_\n", 5, "10 tab-separated columns"),
        ("x2\tdem\tder\tDET\t_\t_\t3\tdet\t_\t_\n", 5, "bad ID"),
        ("5\tdem\tder\tDET\t_\t_\t3\tdet\t_\t_\n", 5, "out of order"),
        ("2\tdem\tder\tDET\t_\t_\tX\tdet\t_\t_\n", 5, "bad HEAD"),
    ],
)
def test_conllu_malformed_line_names_file_and_line(tmp_path, bad_line, lineno, what):
    lines = GOOD.splitlines(keepends=True)
    lines[4] = bad_line  # the "2 dem" word line is line 5
    p = _write(tmp_path, "bad.conllu", "".join(lines))
    with pytest.raises(DataError, match=rf"bad\.conllu:{lineno}: .*{what}"):
        xd.read_conllu(p)


def test_conllu_gz_and_missing(tmp_path):
    p = tmp_path / "g.conllu.gz"
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write(GOOD + "\n\n")
    assert len(xd.read_conllu(p)) == 2
    with pytest.raises(DataError, match="missing data file"):
        xd.read_conllu(tmp_path / "absent.conllu")


def test_ud_file_unknown_language_or_kind():
    with pytest.raises(DataError, match=r"unknown PUD language 'xx': allowed are ar, de, en"):
        xd.ud_file("xx")
    with pytest.raises(DataError, match="unknown UD file kind 'train'"):
        xd.ud_file("en", "train")
    with pytest.raises(DataError, match="allowed is en"):
        xd.ud_file("de", "ewt-dev")


# --------------------------------------------------------------------------- CoNLL column corpora
def test_conll2002_spanish_testb_tags():
    sents = xd.read_conll2002("es", "testb")
    assert len(sents) == 1517
    tags = Counter(t for _, ts in sents for t in ts)
    assert set(tags) == {"O"} | {f"{p}-{t}" for p in "BI" for t in ("PER", "ORG", "LOC", "MISC")}
    assert all(xd.is_iob2(ts) for _, ts in sents)
    assert sum(len(w) for w, _ in sents) == 51533
    # the one stray I-MISC after O upstream (token 'Calidad') was repaired to B-MISC
    assert tags["B-MISC"] == 339 + 1 and tags["I-MISC"] == 557 - 1
    assert any("Añadió" in w or "España" in w for w, _ in sents)  # UTF-8 decoded


def test_conll2002_dutch_docstart_skipped():
    sents = xd.read_conll2002("nl", "testa")
    assert not any("-DOCSTART-" in w for w, _ in sents)
    assert all(xd.is_iob2(ts) for _, ts in sents)


def test_conll2002_unknown_lang_split():
    with pytest.raises(DataError, match=r"unknown CoNLL-2002 language 'de': allowed are es, nl"):
        xd.read_conll2002("de", "train")
    with pytest.raises(DataError, match=r"unknown CoNLL-2002 split 'dev': allowed are testa, testb, train"):
        xd.read_conll2002("es", "dev")


def test_conll2000_chunks():
    test = xd.read_conll2000("test")
    assert len(test) == 2012
    words, tags = test[0]
    assert words[:4] == ["Rockwell", "International", "Corp.", "'s"]
    assert tags[:4] == ["B-NP", "I-NP", "I-NP", "B-NP"]
    with pytest.raises(DataError, match="unknown CoNLL-2000 split"):
        xd.read_conll2000("dev")


def test_iob_columns_lines_and_errors(tmp_path):
    lines = ["-DOCSTART- -X- O", "", "EU NNP B-ORG", "rejects VBZ O", "", "German JJ B-MISC", ""]
    assert xd.read_iob_columns(lines) == [(["EU", "rejects"], ["B-ORG", "O"]), (["German"], ["B-MISC"])]
    assert xd.read_iob_columns(lines, tag_col=1)[0][1] == ["NNP", "VBZ"]
    p = tmp_path / "x.iob"
    p.write_bytes("Espa\xf1a N B-LOC\nlonely\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"x\.iob:2: expected at least 2"):
        xd.read_iob_columns(p)
    assert xd.to_iob2(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"]) == [
        "B-PER",
        "I-PER",
        "O",
        "B-LOC",
        "B-LOC",
        "B-ORG",
    ]


# --------------------------------------------------------------------------- IEER
def test_ieer_bio_over_per_org_loc():
    sents = xd.read_ieer_documents()
    assert len(sents) > 2000
    tags = Counter(t for _, ts in sents for t in ts)
    assert set(tags) == {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"}
    assert tags["B-PER"] == 1522 and tags["B-LOC"] == 906 and tags["B-ORG"] == 956
    for words, ts in sents:
        assert len(words) == len(ts) and words
        assert xd.is_iob2(ts)  # B before I, no entity cut by a sentence boundary
        assert not ts[0].startswith("I-")
    joined = [" ".join(w) for w, _ in sents]
    kenya = next(i for i, s in enumerate(joined) if s.startswith("NAIROBI , Kenya ( AP )"))
    assert sents[kenya][1][:6] == ["B-LOC", "O", "B-LOC", "O", "B-ORG", "O"]
    # 'Kenya's ruler' -> 'Kenya' "'s" (clitic split), Daniel arap Moi is one PER
    w, t = next(s for s in sents if "arap" in s[0])
    i = w.index("arap")
    assert t[i - 1 : i + 2] == ["B-PER", "I-PER", "I-PER"]
    assert "'s" in w and "Kenya" in w and t[w.index("'s")] == "O"
    assert not any("<" in x or "&AMP;" in x for ws, _ in sents for x in ws)


def test_tokenize():
    assert xd.tokenize("Kenya's U.S.-made don't, Mr. Smith (AP) ``hi'' 2.5 500,000.") == [
        "Kenya",
        "'s",
        "U.S.",
        "-",
        "made",
        "do",
        "n't",
        ",",
        "Mr.",
        "Smith",
        "(",
        "AP",
        ")",
        "``",
        "hi",
        "''",
        "2.5",
        "500,000",
        ".",
    ]


# --------------------------------------------------------------------------- sentence tasks
def test_rte():
    rte = xd.read_rte()
    assert len(rte) == 567 + 800 + 400 + 800 + 800 + 800
    by = Counter((r["challenge"], r["split"], r["label"]) for r in rte)
    for c in (1, 2, 3):
        for s in ("dev", "test"):
            assert by[(c, s, 0)] > 0 and by[(c, s, 1)] > 0
    assert {r["label"] for r in rte} == {0, 1}
    first = rte[0]
    assert first["premise"].startswith("Crude oil for April delivery") and first["label"] == 0


def test_sentence_polarity():
    pol = xd.read_sentence_polarity()
    assert Counter(r["label"] for r in pol) == {0: 5331, 1: 5331}
    assert not any(re.search("[\x80-\x9f]", r["text"]) for r in pol)
    assert pol[-1]["label"] == 1 and pol[0]["label"] == 0


def test_trec():
    train, test = xd.read_trec("train"), xd.read_trec("test")
    assert len(train) == 5452 and len(test) == 500
    assert {r["coarse"] for r in train} == {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}
    assert len({r["fine"] for r in train}) == 50
    assert train[0] == {
        "text": "How did serfdom develop in and then leave Russia ?",
        "coarse": "DESC",
        "fine": "DESC:manner",
    }
    with pytest.raises(DataError, match="unknown TREC split 'dev'"):
        xd.read_trec("dev")


# --------------------------------------------------------------------------- multilingual
def test_tatoeba_deu_aligned():
    deu, eng = xd.read_tatoeba("deu")
    assert len(deu) == len(eng) == 1000
    assert deu[0] == "Maria sagte, sie wisse nicht, wo Tom sei."
    assert eng[0] == "Mary said she didn't know where Tom was."
    assert xd.read_tatoeba("de") == (deu, eng)  # ISO 639-1 alias
    assert len(xd.tatoeba_languages()) == 112
    for lang in xd.PUD_LANGS:
        if lang != "en":
            assert xd.TATOEBA_ISO3[lang] in xd.tatoeba_languages()
    with pytest.raises(DataError, match=r"unknown Tatoeba language 'xxx': allowed are .*deu"):
        xd.read_tatoeba("xxx")


def test_xcopa():
    it = xd.read_xcopa("it", "val")
    assert len(it) == 100 and len(xd.read_xcopa("it", "test")) == 500
    assert set(it[0]) >= {"premise", "choice1", "choice2", "question", "label", "idx"}
    gmt = xd.read_xcopa("it", "val", translated=True)
    assert [x["idx"] for x in gmt] == [x["idx"] for x in it]
    assert [x["label"] for x in gmt] == [x["label"] for x in it]
    assert gmt[0]["premise"] == "The man turned on the tap." and it[0]["premise"] == "L'uomo aprì il rubinetto."
    with pytest.raises(DataError, match="unknown XCOPA language \\(translated\\) 'qu'"):
        xd.read_xcopa("qu", "val", translated=True)
    assert len(xd.read_xcopa("qu", "val")) == 100
    with pytest.raises(DataError, match="unknown XCOPA split 'train': allowed are test, val"):
        xd.read_xcopa("it", "train")


def test_xquad():
    en = xd.read_xquad("en")
    assert len(en) == 1190 and len({q["context"] for q in en}) == 240
    for q in en:
        for text, start in zip(q["answers"]["text"], q["answers"]["answer_start"]):
            assert q["context"][start : start + len(text)] == text
    de = xd.read_xquad("de")
    assert [q["id"] for q in de] == [q["id"] for q in en]
    with pytest.raises(DataError, match="unknown XQuAD language 'fr'"):
        xd.read_xquad("fr")


def test_read_squad_errors(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"data": [{"paragraphs": [{"qas": []}]}]}')
    with pytest.raises(DataError, match="not SQuAD format"):
        xd.read_squad(p)
    p.write_text("{nope")
    with pytest.raises(DataError, match="invalid JSON"):
        xd.read_squad(p)


def test_udhr():
    for lang in xd.UDHR_FILES:
        text = xd.read_udhr(lang)
        assert len(text) > 2000, lang
    assert xd.read_udhr("en").startswith("Universal Declaration of Human Rights")
    assert "Menschenrechte" in xd.read_udhr("de")
    assert "世界人權宣言" in xd.read_udhr("zh")
    assert xd.read_udhr("German_Deutsch-Latin1").startswith("Die Allgemeine Erklärung")
    with pytest.raises(DataError, match="unknown UDHR language 'klingon'"):
        xd.read_udhr("klingon")
