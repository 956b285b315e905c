"""Token-tagging corpora: CoNLL column files (CoNLL-2000 chunking, CoNLL-2002 NER) and NIST IE-ER.

Tag scheme: everything returned here is IOB2 (every entity/chunk starts with ``B-``).

* CoNLL-2002 is documented upstream as IOB2; the Spanish files nevertheless hold one stray ``I-`` after ``O``
  each (esp.train ``San``, esp.testa ``Río``, esp.testb ``Calidad``). :func:`read_conll2002` runs
  :func:`to_iob2`, which turns such an ``I-X`` into ``B-X`` (the standard IOB1 -> IOB2 repair); all other
  tags are unchanged.
* The NLTK copies of CoNLL-2002 are UTF-8 (not the original latin-1); :func:`read_conll2002` decodes UTF-8.
* IEER: see :func:`read_ieer_documents`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from xitcore.data.paths import (
    CONLL2000_SPLITS,
    CONLL2002_LANGS,
    CONLL2002_SPLITS,
    check_choice,
    decode_text,
    read_bytes,
    zip_member,
    zip_members,
)
from xitcore.errors import DataError

Sentence = tuple[list[str], list[str]]
_COLSEP = re.compile(r"[ \t]+")  # ASCII blanks only: a word may contain U+00A0


# --------------------------------------------------------------------------- CoNLL column files
def read_iob_columns(
    path_or_lines: str | os.PathLike | Iterable[str | bytes],
    word_col: int = 0,
    tag_col: int = -1,
    encoding: str = "latin-1",
    source: str | None = None,
) -> list[Sentence]:
    """Read whitespace-separated column lines into ``[(words, tags), ...]``.

    Blank lines end sentences; ``-DOCSTART-`` lines are skipped (they also end a sentence).
    ``path_or_lines`` is a path (plain or .gz, decoded with ``encoding``) or an iterable of lines
    (``bytes`` lines are decoded with ``encoding``). ``source`` names the input in error messages.
    Tags are returned as found (no scheme conversion; see :func:`to_iob2`).
    """
    if isinstance(path_or_lines, (str, os.PathLike)):
        src = source or str(path_or_lines)
        lines: Iterable = decode_text(read_bytes(path_or_lines), encoding, src).split("\n")
    else:
        src = source or "<lines>"
        lines = path_or_lines
    if word_col == tag_col:
        raise ValueError(f"word_col and tag_col must differ (both {word_col})")
    # fewest columns for which word_col and tag_col are two different existing columns
    need = next(n for n in range(1, 1000) if _distinct_cols(word_col, tag_col, n))
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    for lineno, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            line = decode_text(line, encoding, f"{src}:{lineno}")
        cols = _COLSEP.split(line.strip(" \t\r\n")) if line.strip(" \t\r\n") else []
        if not cols or cols[0] == "-DOCSTART-":
            if words:
                sentences.append((words, tags))
                words, tags = [], []
            continue
        if not _distinct_cols(word_col, tag_col, len(cols)):
            raise DataError(f"{src}:{lineno}: expected at least {need} whitespace-separated columns, got {len(cols)}")
        words.append(cols[word_col])
        tags.append(cols[tag_col])
    if words:
        sentences.append((words, tags))
    return sentences


def _distinct_cols(word_col: int, tag_col: int, n: int) -> bool:
    w = word_col if word_col >= 0 else n + word_col
    t = tag_col if tag_col >= 0 else n + tag_col
    return 0 <= w < n and 0 <= t < n and w != t


def to_iob2(tags: list[str]) -> list[str]:
    """IOB1/IOB2 -> IOB2: an ``I-X`` that does not continue an ``X`` entity becomes ``B-X``."""
    out: list[str] = []
    prev = "O"
    for t in tags:
        if t.startswith("I-") and prev[2:] != t[2:]:
            t = "B-" + t[2:]
        out.append(t)
        prev = t if t != "O" else "O"
    return out


def is_iob2(tags: list[str]) -> bool:
    """True if every ``I-X`` follows a ``B-X`` or ``I-X``."""
    return to_iob2(tags) == list(tags)


def read_conll2002(lang: str, split: str) -> list[Sentence]:
    """CoNLL-2002 NER, ``lang`` in {es, nl}, ``split`` in {train, testa, testb}; IOB2 tags over PER/ORG/LOC/MISC."""
    check_choice("CoNLL-2002 language", lang, CONLL2002_LANGS)
    check_choice("CoNLL-2002 split", split, CONLL2002_SPLITS)
    member = f"conll2002/{CONLL2002_LANGS[lang]}.{split}"
    src = f"nltk/conll2002.zip!{member}"
    text = decode_text(zip_member("nltk/conll2002.zip", member), "utf-8", src)
    sents = read_iob_columns(text.split("\n"), word_col=0, tag_col=-1, source=src)
    return [(w, to_iob2(t)) for w, t in sents]


def read_conll2000(split: str) -> list[Sentence]:
    """CoNLL-2000 chunking (WSJ), ``split`` in {train, test}: ``(words, chunk tags)`` (IOB2, e.g. B-NP)."""
    check_choice("CoNLL-2000 split", split, CONLL2000_SPLITS)
    member = f"conll2000/{split}.txt"
    src = f"nltk/conll2000.zip!{member}"
    text = decode_text(zip_member("nltk/conll2000.zip", member), "utf-8", src)
    return read_iob_columns(text.split("\n"), word_col=0, tag_col=2, source=src)


# --------------------------------------------------------------------------- IEER
IEER_TYPES = {"PERSON": "PER", "ORGANIZATION": "ORG", "LOCATION": "LOC"}

_ABBREV = (
    "Mr|Mrs|Ms|Messrs|Dr|Prof|Rev|St|Ste|Jr|Sr|Gen|Sen|Rep|Gov|Lt|Col|Sgt|Capt|Cmdr|Adm|Maj|Mt|Ft|"
    "Inc|Corp|Co|Ltd|Bros|vs|Jan|Feb|Aug|Sept|Oct|Nov|Dec|Ala|Ariz|Calif|Colo|Conn|Fla|Ill|Mass|Mich|"
    "Minn|Tenn|Tex|Va|Pa|Ga"
)
# A simple CoNLL/PTB-like tokeniser: punctuation is split off, ``` `` ``` and ``''`` stay quote tokens,
# clitics are split (``Kenya's`` -> ``Kenya`` ``'s``; ``don't`` -> ``do`` ``n't``), hyphenated words and
# numbers (``2.5``, ``500,000``, ``10:30``) stay whole, known abbreviations (``Mr.``, ``Corp.``) and
# dotted initialisms (``U.S.``) keep their period.
TOKEN_RE = re.compile(
    rf"""
      ``|''|--|\.\.\.
    | \b(?:{_ABBREV})\.
    | (?:[A-Za-z]\.){{2,}}
    | [A-Z]\.(?=\s+[A-Z])
    | [A-Za-z]'[A-Z]\w*
    | \w+?(?=n't\b)
    | n't\b
    | '(?:s|re|ve|ll|d|m|S|RE|VE|LL|D|M)\b
    | \w+(?:(?:[-/&]|[.,:](?=\d))\w+)*
    | \S
    """,
    re.X,
)


def tokenize(text: str) -> list[str]:
    """Split English text into CoNLL-like tokens (see TOKEN_RE)."""
    return TOKEN_RE.findall(text)


_IEER_TAG = re.compile(r"<(b|e)_(enamex|numex|timex)\b([^>]*)>")
_TYPE_ATTR = re.compile(r'type="([^"]*)"')
_PARA = re.compile(r"\n[ \t]*\n|\n[ \t]+")  # blank line or an indented line starts a new paragraph
_TERMINAL = {".", "?", "!", "..."}
_CLOSERS = {"''", ")", "'", '"'}


def _ieer_tokens(markup: str, src: str) -> tuple[list[str], list[str], list[bool]]:
    """Tokens, BIO tags and paragraph-start flags of one markup block (HEADLINE or TEXT)."""
    markup = re.sub(r"<ANNOTATION>.*?</ANNOTATION>", "\n\n", markup, flags=re.S)
    markup = markup.replace("&AMP;", "&").replace("&LR;", " ").replace("&UR;", " ")
    words: list[str] = []
    tags: list[str] = []
    para: list[bool] = []
    stack: list[tuple[str, str | None]] = []  # (kind, entity type or None)
    pos = 0
    new_para = True

    ent_started = False  # whether the current outermost enamex already produced a token

    def add_text(chunk: str):
        nonlocal new_para, ent_started
        etype = next((t for kind, t in stack if kind == "enamex"), None)  # outermost enamex wins
        for k, piece in enumerate(_PARA.split(chunk)):
            if k > 0:
                new_para = True
            for tok in tokenize(piece):
                if etype is None:
                    tags.append("O")
                else:
                    tags.append(("I-" if ent_started else "B-") + etype)
                    ent_started = True
                words.append(tok)
                para.append(new_para)
                new_para = False

    for m in _IEER_TAG.finditer(markup):
        add_text(markup[pos : m.start()])
        pos = m.end()
        kind = m.group(2)
        if m.group(1) == "b":
            t = _TYPE_ATTR.search(m.group(3))
            etype = IEER_TYPES.get(t.group(1)) if (kind == "enamex" and t) else None
            if kind == "enamex" and not any(k == "enamex" for k, _ in stack):
                ent_started = False
            stack.append((kind, etype))
        else:
            if not stack or stack[-1][0] != kind:
                raise DataError(f"{src}: unbalanced <e_{kind}> near {markup[max(0, m.start() - 40) : m.end()]!r}")
            stack.pop()
    add_text(markup[pos:])
    if stack:
        raise DataError(f"{src}: unclosed <b_{stack[-1][0]}> tag")
    return words, tags, para


def _split_sentences(words: list[str], tags: list[str], para: list[bool]) -> list[Sentence]:
    """Split at paragraph starts and after . ? ! (optionally followed by closing quotes/brackets)
    when the next token starts with a capital letter, a digit or an opening quote -- never inside an entity."""
    out: list[Sentence] = []
    start = 0
    for i in range(1, len(words)):
        if tags[i].startswith("I-"):
            continue
        boundary = para[i]
        if not boundary:
            j = i - 1
            while j > start and words[j] in _CLOSERS:
                j -= 1
            nxt = words[i]
            boundary = words[j] in _TERMINAL and (nxt[0].isupper() or nxt[0].isdigit() or nxt in ("``", "("))
        if boundary and i > start:
            out.append((words[start:i], tags[start:i]))
            start = i
    if start < len(words):
        out.append((words[start:], tags[start:]))
    return out


def read_ieer_documents() -> list[Sentence]:
    """NIST 1999 IE-ER newswire (NLTK ``ieer``) as sentences of ``(words, BIO tags)`` over PER/ORG/LOC.

    Per document, the HEADLINE (one sentence) and the TEXT are used; ``<ANNOTATION>`` notes are dropped.
    MUC types map PERSON->PER, ORGANIZATION->ORG, LOCATION->LOC; numex/timex (dates, money, ...) are O.
    Entities marked ``status="opt"`` or with ``alt=`` are kept as entities of their type; a doubly nested
    enamex (one case, ``Smithsonian``) counts once. ``&AMP;`` -> ``&``; ``&LR;``/``&UR;`` markers dropped.
    Tokenisation: :func:`tokenize`. Sentences: :func:`_split_sentences` (heuristic); an entity never
    spans two sentences.
    """
    sentences: list[Sentence] = []
    members = sorted(m for m in zip_members("nltk/ieer.zip") if not m.endswith("README"))
    for member in members:
        src = f"nltk/ieer.zip!{member}"
        text = decode_text(zip_member("nltk/ieer.zip", member), "ascii", src)
        docs = re.findall(r"<DOC>(.*?)</DOC>", text, flags=re.S)
        if not docs:
            raise DataError(f"{src}: no <DOC> elements found")
        for doc in docs:
            for part in ("HEADLINE", "TEXT"):
                m = re.search(rf"<{part}>(.*?)</{part}>", doc, flags=re.S)
                if not m:
                    continue
                words, tags, para = _ieer_tokens(m.group(1), src)
                if not words:
                    continue
                if part == "HEADLINE":
                    sentences.append((words, tags))
                else:
                    sentences.extend(_split_sentences(words, tags, para))
    return sentences
