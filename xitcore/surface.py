"""Tokenise UD sentences as pre-training saw the text: the *surface* text, not word by word.

Encoding each pre-split word on its own (``is_split_into_words=True``) gives every word its own SentencePiece
``▁`` marker, which a pretrained encoder never saw inside unsegmented scripts (Chinese, Japanese) or before a
token written without a space (``SpaceAfter=No``: punctuation, Arabic clitics). Here a sentence is rebuilt
from its tokens and MISC ``SpaceAfter=No`` flags, tokenised once with character offsets, and every syntactic
word is mapped to a subword position through the character span of its surface token.

Examples for :func:`encode_tagging_surface` (and for ``xitcore.tasks.tagging.encode_tagging``, which dispatches here
when ``text`` and ``spans`` are present) are dicts ``{"words", "tags", "text", "spans"}``; build them with
:func:`surface_example`. ``spans[i]`` is the character span of the surface token of word i, so the words of
one multiword token (Spanish ``del`` = ``de`` + ``el``) carry equal spans.

Alignment rules (see :func:`encode_tagging_surface` for the features):

* a piece *carries characters* when it is not the bare ``▁`` marker and its offset range, with whitespace
  trimmed at both ends, is not empty; it belongs to the surface token holding its first such character. A piece
  with no characters (a bare ``▁`` whatever its offset, an empty or zero-width offset, an offset covering only
  the space before a token) belongs to the token of the next piece that carries characters (the ``▁`` is that
  token's marker); trailing ones to the last such token.
* the position of a surface token is its first own piece that carries characters. A token with no own piece
  whose characters are covered by a piece starting in an earlier token (a piece straddling a token boundary:
  Chinese words without spaces, an Arabic clitic glued to its host, ``Unidos,`` tokenised as one piece) shares
  that piece's position with the earlier token.
* a token with no piece covering any of its characters (all normalised away, or an empty form) gets an
  ``<unk>`` inserted at its place in the sequence, as the word-by-word encoder does for a word with no piece.
  (The nearest following piece is not used: it belongs to the next token, and sharing it would tie the two
  tokens' predictions together.)
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from xitcore.data.conllu import UDSentence
from xitcore.errors import DataError

MODES = ("surface", "words")
_WS = re.compile(r"\s+")


# ====================================================================== layout


def _flags(values: list[bool], n: int, what: str, sent_id: str) -> list[bool]:
    if not values:
        return [True] * n  # built without flags: a space after everything
    if len(values) != n:
        raise DataError(f"sentence {sent_id}: {len(values)} {what} flags for {n} items")
    return list(values)


def surface_layout(sent: UDSentence, mode: str = "surface") -> tuple[str, list[tuple[int, int]]]:
    """``(text, spans)`` rebuilt from the tokens of ``sent`` and its ``SpaceAfter=No`` flags.

    ``spans[i] = (start, end)``: the characters of ``text`` that syntactic word i belongs to.

    * ``mode="surface"``: one surface token per multiword range (its surface form, once; every word of the range
      gets the range's span) and per word outside a range; a space after each token unless ``SpaceAfter=No``
      (for a range, the flag of the range line).
    * ``mode="words"``: the syntactic words themselves, each with its own span; a space after each word unless
      ``SpaceAfter=No``; inside a multiword range no space between the parts, after the range the range's flag
      (Spanish ``del`` becomes ``deel``).

    The ``# text`` comment is not used (it can differ from the tokens); :func:`surface_matches_text` compares.
    """
    if mode not in MODES:
        raise DataError(f"surface layout mode {mode!r} unknown; allowed: {', '.join(MODES)}")
    n = len(sent.words)
    space = _flags(sent.space_after, n, "SpaceAfter", sent.sent_id)
    mw_space = _flags(sent.multiword_space_after, len(sent.multiword), "multiword SpaceAfter", sent.sent_id)
    ranges = {first: (last, surface, flag) for (first, last, surface), flag in zip(sent.multiword, mw_space)}
    parts: list[str] = []
    spans: list[tuple[int, int]] = [(0, 0)] * n
    pos = 0

    def put(form: str) -> tuple[int, int]:
        nonlocal pos
        start = pos
        parts.append(form)
        pos += len(form)
        return start, pos

    def gap(flag: bool) -> None:
        nonlocal pos
        if flag:
            parts.append(" ")
            pos += 1

    i = 0
    while i < n:
        if i in ranges:
            last, surface, flag = ranges[i]
            if mode == "surface":
                span = put(surface)
                for j in range(i, last + 1):
                    spans[j] = span
            else:
                for j in range(i, last + 1):
                    spans[j] = put(sent.words[j])
            gap(flag)
            i = last + 1
        else:
            spans[i] = put(sent.words[i])
            gap(space[i])
            i += 1
    text = "".join(parts)
    if text.endswith(" ") and (not spans or spans[-1][1] < len(text)):
        text = text[:-1]
    return text, spans


def surface_matches_text(sent: UDSentence, mode: str = "surface") -> bool:
    """Whether the rebuilt text equals the sentence's ``# text`` comment, ignoring all whitespace."""
    text, _ = surface_layout(sent, mode)
    return _WS.sub("", text) == _WS.sub("", sent.text)


def surface_example(sent: UDSentence, tags: list[str] | None = None, mode: str = "surface", **extra) -> dict:
    """A tagging example ``{"words", "tags", "text", "spans", **extra}`` for ``encode_tagging``.

    ``tags`` defaults to the UPOS column (pass e.g. deprels for another task).
    """
    text, spans = surface_layout(sent, mode)
    tags = list(sent.upos if tags is None else tags)
    if len(tags) != len(sent.words):
        raise DataError(f"sentence {sent.sent_id}: {len(tags)} tags for {len(sent.words)} words")
    return {"words": list(sent.words), "tags": tags, "text": text, "spans": spans, **extra}


# ====================================================================== alignment


@dataclass
class _Alignment:
    """How one tokenised sentence maps onto its surface tokens."""

    token_of_word: list[int]  # word -> surface token
    token_spans: list[tuple[int, int]]
    own: list[list[int]]  # token -> global piece indices it owns, in order
    pos_piece: list[int | None]  # token -> global piece index of its position; None = <unk> inserted
    shared: list[bool]  # token's position is a piece owned by an earlier token


def _surface_tokens(text: str, spans, n_words: int, where: str) -> tuple[list[int], list[tuple[int, int]]]:
    if len(spans) != n_words:
        raise DataError(f"{where}: {len(spans)} spans for {n_words} words")
    tokens: list[tuple[int, int]] = []
    token_of_word: list[int] = []
    for i, (s, e) in enumerate(spans):
        s, e = int(s), int(e)
        if tokens and (s, e) == tokens[-1]:
            token_of_word.append(len(tokens) - 1)  # a further word of the same (multiword) surface token
            continue
        if not 0 <= s <= e <= len(text) or (tokens and s < tokens[-1][1]):
            raise DataError(
                f"{where}: span {(s, e)} of word {i} is out of order or outside the text (length {len(text)})"
            )
        tokens.append((s, e))
        token_of_word.append(len(tokens) - 1)
    return token_of_word, tokens


def _chars(text: str, s: int, e: int) -> tuple[int, int]:
    """The offset range clipped to the text with whitespace trimmed at both ends (empty: no characters)."""
    s, e = max(0, min(s, len(text))), max(0, min(e, len(text)))
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, max(s, e)


def bare_ids(tokenizer) -> set[int]:
    """Ids of the word-boundary marker alone (``▁``): never a piece that carries characters, whatever its offset
    (a Unigram model puts a bare ``▁`` before an unknown character with that character's offset)."""
    # Looked up piece by piece: scanning get_vocab() of a 250k-piece vocabulary took a tenth of evaluation time.
    out = set()
    for t in ("▁", "Ġ", " "):
        i = tokenizer.convert_tokens_to_ids(t)
        if i is not None and (i != tokenizer.unk_token_id or t == tokenizer.unk_token):
            out.add(i)
    return out


def _align(text: str, spans, n_words: int, ids, offsets, bare: set[int], where: str) -> _Alignment:
    token_of_word, tokens = _surface_tokens(text, spans, n_words, where)
    starts = [s for s, _ in tokens]
    n_tok, n_pieces = len(tokens), len(offsets)
    chars = [(s, s) if tid in bare else _chars(text, s, e) for tid, (s, e) in zip(ids, offsets)]
    owner: list[int | None] = [None] * n_pieces
    last = 0
    for k, (cs, ce) in enumerate(chars):
        if cs < ce and n_tok:
            last = owner[k] = max(last, bisect_right(starts, cs) - 1, 0)  # kept in order
    nxt = None
    for k in range(n_pieces - 1, -1, -1):  # pieces without characters: the token of the next carrying piece
        if owner[k] is not None:
            nxt = owner[k]
        else:
            owner[k] = nxt
    tail = last
    own: list[list[int]] = [[] for _ in range(n_tok)]
    for k in range(n_pieces):
        if owner[k] is None:  # trailing pieces without characters
            owner[k] = tail if n_tok else None
        if owner[k] is not None:
            own[owner[k]].append(k)
    pos_piece: list[int | None] = [None] * n_tok
    shared = [False] * n_tok
    carrying = [k for k, (cs, ce) in enumerate(chars) if cs < ce]
    carrying_starts = [chars[k][0] for k in carrying]
    for t, (s, e) in enumerate(tokens):
        first_own = next((k for k in own[t] if chars[k][0] < chars[k][1]), None)
        if first_own is not None:
            pos_piece[t] = first_own
            continue
        # no own piece: a carrying piece started earlier whose characters reach into this token
        j = bisect_left(carrying_starts, e) - 1  # last carrying piece starting before the token's end
        if j >= 0 and s < e:
            k = carrying[j]
            cs, ce = chars[k]
            if ce > s and cs < e and owner[k] is not None and owner[k] < t:
                pos_piece[t], shared[t] = k, True
    return _Alignment(token_of_word, tokens, own, pos_piece, shared)


def _offsets_encoding(tokenizer, texts: list[str]):
    if not getattr(tokenizer, "is_fast", False):
        raise DataError(
            f"surface tokenisation needs a fast tokenizer (character offsets); got {type(tokenizer).__name__}"
        )
    return tokenizer(texts, return_offsets_mapping=True, add_special_tokens=False)


# ====================================================================== features


def encode_tagging_surface(tokenizer, examples: list[dict], label2id: dict | None, max_length: int) -> list[dict]:
    """Surface text -> windows of subword ids; the same output contract as ``xitcore.tasks.tagging.encode_tagging``.

    Each example needs ``text``, ``spans`` (one per word, see :func:`surface_layout`), ``words`` and, when
    ``label2id`` is given, ``tags``. Each sentence is tokenised once (``return_offsets_mapping=True``, no special
    tokens); the alignment rules are in the module docstring.

    Features: ``input_ids`` (``<s>`` ... ``</s>``, at most ``max_length``), ``example``, ``words`` (the word
    indices in the window), ``positions`` (one per entry of ``words``: where that word is predicted) and
    ``labels`` (-100 except at labelled positions). Words may share a position (the parts of a multiword token;
    a token whose characters all sit in a piece that started in the previous token): ``labels`` holds, at a
    shared position, the label of the first of its words whose tag is in ``label2id`` (the others are not
    trained there), and at prediction every word reads its own ``positions`` entry, so it gets the tag
    predicted at the shared position.

    Windows are split only between surface tokens, and only before a token that has pieces of its own (a token
    sharing its position stays with the token owning the piece). A token's pieces beyond ``max_length - 2`` are
    dropped, as in the word-by-word encoder; a position that falls beyond is moved to the last piece kept.
    """
    body = max_length - 2
    if body < 1:
        raise DataError(f"max_length {max_length} leaves no room between <s> and </s>")
    enc = _offsets_encoding(tokenizer, [ex["text"] for ex in examples])
    unk, bare = tokenizer.unk_token_id, bare_ids(tokenizer)
    feats = []
    for i, ex in enumerate(examples):
        ids, offsets = enc["input_ids"][i], enc["offset_mapping"][i]
        al = _align(ex["text"], ex["spans"], len(ex["words"]), ids, offsets, bare, f"example {i}")
        words_of_token: list[list[int]] = [[] for _ in al.token_spans]
        for w, t in enumerate(al.token_of_word):
            words_of_token[t].append(w)
        # groups: a token with pieces of its own (or an inserted <unk>) opens one; a sharing token joins it
        groups: list[dict] = []
        for t in range(len(al.token_spans)):
            shared = al.shared[t] and groups and al.pos_piece[t] in groups[-1]["pieces"]
            if not shared:
                pieces = list(al.own[t])
                local = None
                if al.pos_piece[t] is None or al.shared[t]:  # nothing of its own to predict from: <unk>
                    local = len(pieces)
                    pieces.append(None)
                groups.append({"tokens": [], "pieces": pieces, "local": {}})
                g = groups[-1]
                g["local"][t] = local if local is not None else pieces.index(al.pos_piece[t])
            else:
                g = groups[-1]
                g["pieces"] += al.own[t]  # only pieces without characters can land here
                g["local"][t] = g["pieces"].index(al.pos_piece[t])
            g["tokens"].append(t)
        windows, cur, cur_len = [], [], 0
        for g in groups:
            g["ids"] = [unk if k is None else ids[k] for k in g["pieces"]][:body]
            if cur and cur_len + len(g["ids"]) > body:
                windows.append(cur)
                cur, cur_len = [], 0
            cur.append(g)
            cur_len += len(g["ids"])
        if cur:
            windows.append(cur)
        for win in windows:
            input_ids, words, positions = [tokenizer.bos_token_id], [], []
            for g in win:
                base = len(input_ids)
                for t in g["tokens"]:
                    pos = base + min(g["local"][t], len(g["ids"]) - 1)
                    for w in words_of_token[t]:
                        words.append(w)
                        positions.append(pos)
                input_ids += g["ids"]
            input_ids.append(tokenizer.eos_token_id)
            labels = [-100] * len(input_ids)
            if label2id is not None:
                for w, pos in zip(words, positions):
                    if labels[pos] == -100:  # first word at a shared position with a known label
                        labels[pos] = label2id.get(ex["tags"][w], -100)
            feats.append(
                {"input_ids": input_ids, "labels": labels, "example": i, "words": words, "positions": positions}
            )
    return feats


# ====================================================================== coverage


def tokenizer_coverage_surface(tokenizer, sentences: list[UDSentence], mode: str = "surface") -> dict:
    """How a tokenizer covers sentences tokenised as surface text (call it once per language).

    Percentages rounded to 2 decimals: ``unk_rate`` (share of pieces that are ``<unk>``), ``bare_marker_rate``
    (pieces that carry no characters, e.g. a lone ``▁``), ``words_with_unk`` (syntactic words whose position
    piece or own pieces include ``<unk>``, an inserted one included), ``shared_position_words`` (words predicted
    at a piece shared with an earlier word); ``subwords_per_word`` (pieces per syntactic word, 3 decimals) and
    the counts ``sentences``, ``words``, ``surface_tokens``, ``pieces``, ``inserted_unk`` (tokens with no piece).
    """
    if not sentences:
        raise DataError("tokenizer coverage: no sentences")
    layouts = [surface_layout(s, mode) for s in sentences]
    enc = _offsets_encoding(tokenizer, [text for text, _ in layouts])
    unk, bare = tokenizer.unk_token_id, bare_ids(tokenizer)
    n_words = n_tokens = n_pieces = n_unk = n_bare = words_unk = inserted = shared_words = 0
    for i, (sent, (text, spans)) in enumerate(zip(sentences, layouts)):
        ids, offsets = enc["input_ids"][i], enc["offset_mapping"][i]
        al = _align(text, spans, len(sent.words), ids, offsets, bare, f"sentence {sent.sent_id}")
        n_words += len(sent.words)
        n_tokens += len(al.token_spans)
        n_pieces += len(ids)
        n_unk += sum(x == unk for x in ids)
        n_bare += sum(x in bare or _chars(text, s, e)[0] >= _chars(text, s, e)[1] for x, (s, e) in zip(ids, offsets))
        for w, t in enumerate(al.token_of_word):
            p = al.pos_piece[t]
            has_unk = p is None or (al.shared[t] and ids[p] == unk) or any(ids[k] == unk for k in al.own[t])
            words_unk += bool(has_unk)
            # shares: its token's position is an earlier token's piece, or it is a further part of a multiword token
            shared_words += bool(al.shared[t] or (w and al.token_of_word[w - 1] == t))
        inserted += sum(p is None for p in al.pos_piece)
    pct = lambda a, b: round(100 * a / max(b, 1), 2)  # noqa: E731
    return {
        "unk_rate": pct(n_unk, n_pieces),
        "subwords_per_word": round(n_pieces / max(n_words, 1), 3),
        "bare_marker_rate": pct(n_bare, n_pieces),
        "words_with_unk": pct(words_unk, n_words),
        "shared_position_words": pct(shared_words, n_words),
        "sentences": len(sentences),
        "words": n_words,
        "surface_tokens": n_tokens,
        "pieces": n_pieces,
        "inserted_unk": inserted,
    }
