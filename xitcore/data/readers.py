"""Readers for the sentence-level and QA data sets (RTE, sentence polarity, TREC, Tatoeba, XCOPA,
SQuAD/XQuAD, UDHR). Token-level corpora live in :mod:`xitcore.data.tagging`, CoNLL-U in
:mod:`xitcore.data.conllu`.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from xitcore.data.paths import (
    TREC_SPLITS,
    UDHR_FILES,
    XCOPA_LANGS,
    XCOPA_SPLITS,
    XCOPA_TRANSLATED_LANGS,
    XQUAD_LANGS,
    check_choice,
    data_file,
    decode_text,
    read_bytes,
    tatoeba_files,
    zip_member,
    zip_members,
)
from xitcore.errors import DataError

# --------------------------------------------------------------------------- RTE
RTE_FILES = [(c, s) for c in (1, 2, 3) for s in ("dev", "test")]
# RTE-1 marks gold labels as value="TRUE"/"FALSE", RTE-2 and RTE-3 as entailment="YES"/"NO".
_RTE_LABELS = {"TRUE": 1, "YES": 1, "ENTAILMENT": 1, "FALSE": 0, "NO": 0, "UNKNOWN": 0, "CONTRADICTION": 0}


def read_rte() -> list[dict]:
    """All PASCAL RTE-1/2/3 dev and test pairs (4,167): dicts with premise (the text ``t``), hypothesis
    (``h``), label (1 = entails, 0 = not), split ("dev"/"test"), challenge (1/2/3), id, task."""
    out: list[dict] = []
    for challenge, split in RTE_FILES:
        member = f"rte/rte{challenge}_{split}.xml"
        src = f"nltk/rte.zip!{member}"
        data = zip_member("nltk/rte.zip", member)
        try:
            root = ET.fromstring(data)
        except ET.ParseError as exc:
            raise DataError(f"{src}: malformed XML ({exc})") from exc
        for pair in root.iter("pair"):
            raw = pair.get("value", pair.get("entailment"))
            if raw is None or raw.upper() not in _RTE_LABELS:
                raise DataError(f"{src}: pair {pair.get('id')} has label {raw!r}: allowed are TRUE/FALSE/YES/NO")
            t, h = pair.findtext("t"), pair.findtext("h")
            if not t or not h:
                raise DataError(f"{src}: pair {pair.get('id')} lacks <t> or <h> text")
            out.append(
                {
                    "premise": " ".join(t.split()),
                    "hypothesis": " ".join(h.split()),
                    "label": _RTE_LABELS[raw.upper()],
                    "split": split,
                    "challenge": challenge,
                    "id": f"rte{challenge}_{split}-{pair.get('id')}",
                    "task": pair.get("task", ""),
                }
            )
    return out


# --------------------------------------------------------------------------- sentence polarity
def _fix_c1(text: str) -> str:
    """Map stray C1 control characters (cp1252 bytes mis-converted upstream, e.g. U+0097) to cp1252."""

    def repl(m):
        try:
            return bytes([ord(m.group(0))]).decode("cp1252")
        except UnicodeDecodeError:
            return " "

    return re.sub("[\x80-\x9f]", repl, text)


def read_sentence_polarity() -> list[dict]:
    """Pang & Lee sentence polarity v1.0: 5,331 negative then 5,331 positive ``{text, label}`` (0 neg / 1 pos).

    The NLTK copy is UTF-8 (its README says it was converted from ISO-8859-1); a few stray C1 control
    characters (cp1252 dashes) are mapped to their cp1252 meaning (U+0097 -> '—'). Text is lower-cased and
    pre-tokenised upstream; it is returned stripped, otherwise unchanged.
    """
    out: list[dict] = []
    for label, name in ((0, "neg"), (1, "pos")):
        member = f"sentence_polarity/rt-polarity.{name}"
        text = decode_text(
            zip_member("nltk/sentence_polarity.zip", member), "utf-8", f"nltk/sentence_polarity.zip!{member}"
        )
        out.extend({"text": _fix_c1(line.strip()), "label": label} for line in split_lines(text) if line.strip())
    return out


# --------------------------------------------------------------------------- TREC question classification
def read_trec(split: str) -> list[dict]:
    """Li & Roth TREC question classification, ``split`` in {train (5,452), test (500)}:
    ``{text, coarse, fine}`` with coarse e.g. "DESC" (6 classes) and fine the full label "DESC:manner" (50).

    Decoded as latin-1 (one byte 0xF0 in train.txt; everything else is ASCII).
    """
    check_choice("TREC split", split, TREC_SPLITS)
    member = f"qc/{split}.txt"
    src = f"nltk/qc.zip!{member}"
    text = decode_text(zip_member("nltk/qc.zip", member), "latin-1", src)
    out = []
    for lineno, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        label, _, question = line.partition(" ")
        coarse, sep, _ = label.partition(":")
        if not sep or not question.strip():
            raise DataError(f"{src}:{lineno}: expected 'COARSE:fine question text'")
        out.append({"text": question.strip(), "coarse": coarse, "fine": label})
    return out


# --------------------------------------------------------------------------- Tatoeba
def split_lines(text: str) -> list[str]:
    """Split on "\n" only (str.splitlines would also split on U+0085, U+2028, ... inside sentences);
    a final newline does not make an extra empty line; "\r" line ends are removed."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in split_lines(decode_text(read_bytes(path), "utf-8", path))]


def read_tatoeba(iso3: str) -> tuple[list[str], list[str]]:
    """LASER Tatoeba v1 test pairs for ``iso3`` (e.g. "deu"; an ISO 639-1 code from TATOEBA_ISO3 works too):
    ``(xx sentences, eng sentences)``, aligned line by line (up to 1000 pairs)."""
    xx_path, en_path = tatoeba_files(iso3)
    xx, en = _lines(xx_path), _lines(en_path)
    if len(xx) != len(en):
        raise DataError(f"{xx_path}: {len(xx)} lines but {en_path.name} has {len(en)}; the pair files must align")
    return xx, en


# --------------------------------------------------------------------------- XCOPA
_XCOPA_KEYS = ("premise", "choice1", "choice2", "question", "label", "idx")


def read_xcopa(lang: str, split: str, translated: bool = False) -> list[dict]:
    """XCOPA ``lang`` / ``split`` (val: 100, test: 500). ``translated=True`` reads data-gmt, the Google
    machine translation into English of the same items (parallel by ``idx``; no Quechua).
    Dicts: premise, choice1, choice2, question ("cause"/"effect"), label (0/1), idx, plus upstream extras."""
    check_choice("XCOPA split", split, XCOPA_SPLITS)
    check_choice(
        "XCOPA language" + (" (translated)" if translated else ""),
        lang,
        XCOPA_TRANSLATED_LANGS if translated else XCOPA_LANGS,
    )
    folder = "data-gmt" if translated else "data"
    path = data_file(f"xcopa/{folder}/{lang}/{split}.{lang}.jsonl.gz")
    text = decode_text(read_bytes(path), "utf-8", path)
    out = []
    for lineno, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc
        missing = [k for k in _XCOPA_KEYS if k not in item]
        if missing:
            raise DataError(f"{path}:{lineno}: missing keys {', '.join(missing)}")
        if item["label"] not in (0, 1):
            raise DataError(f"{path}:{lineno}: label {item['label']!r}: allowed are 0, 1")
        out.append(item)
    return out


# --------------------------------------------------------------------------- SQuAD / XQuAD
def read_squad(path: str | os.PathLike) -> list[dict]:
    """A SQuAD v1.1-format JSON file (plain or .gz) flattened to one dict per question:
    ``{id, title, context, question, answers: {text: [...], answer_start: [...]}}`` (the HF datasets layout)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"missing data file {path}: no such file")
    try:
        doc = json.loads(decode_text(read_bytes(path), "utf-8", path))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataError(f"{path}: not SQuAD format (expected a top-level object with a 'data' list)")
    out = []
    try:
        for article in doc["data"]:
            title = article.get("title", "")
            for para in article["paragraphs"]:
                context = para["context"]
                for qa in para["qas"]:
                    out.append(
                        {
                            "id": qa["id"],
                            "title": title,
                            "context": context,
                            "question": qa["question"],
                            "answers": {
                                "text": [a["text"] for a in qa["answers"]],
                                "answer_start": [int(a["answer_start"]) for a in qa["answers"]],
                            },
                        }
                    )
    except (KeyError, TypeError) as exc:
        raise DataError(f"{path}: not SQuAD format (missing or bad field {exc})") from exc
    return out


def read_xquad(lang: str) -> list[dict]:
    """XQuAD for ``lang`` (1,190 questions on 240 paragraphs, parallel across languages by ``id``)."""
    check_choice("XQuAD language", lang, XQUAD_LANGS)
    return read_squad(data_file(f"xquad/xquad.{lang}.json.gz"))


# --------------------------------------------------------------------------- UDHR
_UDHR1_ENCODINGS = {"UTF8": "utf-8", "Latin1": "latin-1", "Latin2": "iso8859-2"}


def _decode_truncated(data: bytes, encoding: str, src: str) -> str:
    """The NLTK udhr (v1) files are cut at ~10,000 bytes, sometimes inside a UTF-8 character."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 4:
            return data[: exc.start].decode(encoding)
        raise DataError(f"{src}: cannot decode as {encoding} at byte {exc.start}") from exc


def read_udhr(language_name: str) -> str:
    """Text of the Universal Declaration of Human Rights in one language.

    ``language_name`` is an ISO 639-1 code from :data:`UDHR_FILES` ("de", "zh", ...; read from the Unicode
    udhr2 corpus), a udhr2 file stem ("deu", "por_BR"), or an NLTK udhr (v1) file id ending in
    -UTF8/-Latin1/-Latin2 ("German_Deutsch-Latin1"; those are truncated at ~10 kB upstream).
    Lines are stripped of indentation and blank lines dropped; the udhr2 files have no header lines (the
    first line is the declaration's title, which is kept).
    """
    if language_name in UDHR_FILES:
        zip_rel, member, enc = "nltk/udhr2.zip", UDHR_FILES[language_name], "utf-8"
    else:
        udhr2 = {Path(m).stem: m for m in zip_members("nltk/udhr2.zip") if m.endswith(".txt")}
        if language_name in udhr2:
            zip_rel, member, enc = "nltk/udhr2.zip", udhr2[language_name], "utf-8"
        else:
            udhr1 = {Path(m).name: m for m in zip_members("nltk/udhr.zip")}
            suffix = language_name.rsplit("-", 1)[-1]
            if language_name not in udhr1 or suffix not in _UDHR1_ENCODINGS:
                raise DataError(
                    f"unknown UDHR language {language_name!r}: allowed are {', '.join(sorted(UDHR_FILES))}, "
                    f"a udhr2 file stem (e.g. deu, por_BR) or a udhr file id ending in -UTF8/-Latin1/-Latin2"
                )
            zip_rel, member, enc = "nltk/udhr.zip", udhr1[language_name], _UDHR1_ENCODINGS[suffix]
    src = f"{zip_rel}!{member}"
    text = _decode_truncated(zip_member(zip_rel, member), enc, src).lstrip("\ufeff")
    lines = [line.strip() for line in split_lines(text)]
    return "\n".join(line for line in lines if line)
