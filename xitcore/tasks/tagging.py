"""Token classification: UD-POS (XTREME-R ``udpos``) and WikiANN / PAN-X NER.

Local formats: UD CoNLL-U (the treebank files XTREME-R reads), XTREME's preprocessed ``word<TAB>tag`` files,
and the PAN-X files of the WikiANN split of Rahimi et al. (``de:Berlin<TAB>B-LOC``, blank line between sentences).
Hub rows: ``google/xtreme`` ``udpos.<Language>`` (tokens, pos_tags) and ``PAN-X.<lang>`` / ``unimelb-nlp/wikiann``
(tokens, ner_tags, langs); tags come either as class ids or as strings.

Also the shipped intermediate tagging tasks (UD relations on PUD, CoNLL-2000 chunks) and CCG supertagging
(CCGbank, licensed: read from a local copy, see below). Long sentences are never truncated:
:func:`encode_tagging` cuts them into windows at word boundaries and every word is predicted exactly once.

CCG supertagging (one of the paper's intermediate tasks; CCGbank, Hockenmaier & Steedman 2007) is distributed
by the LDC (LDC2005T13) under a licence that forbids redistribution: no data is shipped here and there is no hub
source. Point the loaders at your own copy: ``.auto`` files (``data/AUTO/<section>/wsj_*.auto``: an ``ID=...``
line, then one bracketed derivation per line whose leaves are ``(<L category modified_POS original_POS word
predicate_arg_category>)``), or "piped" token files, one sentence a line: ``word|supertag`` or C&C's
``word|POS|supertag`` tokens. Supertags are the leaf categories exactly as written (no feature stripping); the
label set is built from the training sentences.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..data import read_conll2000
from ..data.treebanks import PUD_NON_EN, PUD_SIZE, UPOS, deprel_label, load_pud
from ..errors import DataError
from ..metrics import pos_accuracy, span_f1, xtreme_seqeval_f1
from ..surface import bare_ids, encode_tagging_surface
from .io import input_length, open_lines, pad, padded_inputs

UPOS_LABELS = UPOS  # google/xtreme's udpos class order is UD's list, as the shipped treebanks use it
PANX_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]  # google/xtreme PAN-X / wikiann order


TaggedSentence = dict  # {"words": [...], "tags": [...] (label strings), "lang", "id"}


def tagged_sentence(words, tags, lang: str, id: str = "") -> TaggedSentence:
    return {"words": list(words), "tags": list(tags), "lang": lang, "id": id}


# ------------------------------------------------------------------ local loaders


def _xtreme_word(w: str) -> str:
    # XTREME's udpos preprocessing joins words that contain spaces (Vietnamese UD) and drops ZWNJ.
    return "".join(w.replace("\u200c", "").split(" "))


def load_udpos_conllu(path: str | os.PathLike, lang: str) -> list[TaggedSentence]:
    """UPOS of the syntactic words of a CoNLL-U file (multiword tokens expanded, empty nodes skipped).

    Like XTREME's ``udpos_preprocess``, sentences whose words are (nearly) all ``_`` (treebanks shipped
    without text, e.g. Arabic-NYUAD) are left out.
    """
    from ..data import read_conllu

    out = []
    for s in read_conllu(path):
        n_blank = sum(w == "_" for w in s.words)
        if n_blank and n_blank >= len(s.words) - 1:
            continue
        out.append(tagged_sentence([_xtreme_word(w) for w in s.words], list(s.upos), lang, s.sent_id))
    return out


def _read_blocks(path) -> list[list[tuple[int, str]]]:
    blocks, cur = [], []
    for n, line in enumerate(open_lines(path), 1):
        if line.strip():
            cur.append((n, line))
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    return blocks


def load_tagged_columns(path: str | os.PathLike, lang: str, strip_lang_prefix: bool = False) -> list[TaggedSentence]:
    """``word<whitespace>tag`` per line, blank line between sentences (XTREME's udpos/panx tsv, PAN-X raw files).

    With ``strip_lang_prefix`` each word must start with ``<lang>:`` (PAN-X raw files: ``de:Berlin B-LOC``).
    """
    out = []
    for k, block in enumerate(_read_blocks(path)):
        words, tags = [], []
        for n, line in block:
            parts = line.rsplit(None, 1)
            if len(parts) != 2:
                raise DataError(f"{path}:{n}: expected 'word tag', got {line!r}")
            word, tag = parts
            if strip_lang_prefix:
                if not word.startswith(f"{lang}:"):
                    raise DataError(f"{path}:{n}: word {word!r} lacks the '{lang}:' prefix of PAN-X files")
                word = word[len(lang) + 1 :]
            words.append(word)
            tags.append(tag)
        out.append(tagged_sentence(words, tags, lang, f"{os.path.basename(path)}#{k + 1}"))
    return out


def load_panx(path: str | os.PathLike, lang: str) -> list[TaggedSentence]:
    """PAN-X (WikiANN, Rahimi et al. split) file as shipped: ``<lang>:<word><TAB><IOB2 tag>`` lines."""
    sents = load_tagged_columns(path, lang, strip_lang_prefix=True)
    for s in sents:
        bad = [t for t in s["tags"] if t not in PANX_LABELS]
        if bad:
            raise DataError(f"{path}: sentence {s['id']}: tag {bad[0]!r} is not one of {', '.join(PANX_LABELS)}")
    return sents


# ------------------------------------------------------------------ hub rows


def _names(values, labels: list[str], where: str) -> list[str]:
    out = []
    for v in values:
        if isinstance(v, str):
            out.append(v)
        elif 0 <= int(v) < len(labels):
            out.append(labels[int(v)])
        else:
            raise DataError(f"{where}: tag id {v} outside 0..{len(labels) - 1}")
    return out


def udpos_row(row: dict, lang: str) -> TaggedSentence:
    """google/xtreme ``udpos.<Language>`` row: ``tokens``, ``pos_tags`` (class ids in UPOS_LABELS order)."""
    return tagged_sentence(list(row["tokens"]), _names(row["pos_tags"], UPOS_LABELS, "udpos row"), lang)


def panx_row(row: dict, lang: str) -> TaggedSentence:
    """google/xtreme ``PAN-X.<lang>`` or unimelb-nlp/wikiann row: ``tokens``, ``ner_tags``, ``langs``."""
    return tagged_sentence(list(row["tokens"]), _names(row["ner_tags"], PANX_LABELS, "PAN-X row"), lang)


# ------------------------------------------------------------------ features


# ------------------------------------------------------------------ metrics


def tag_accuracy(gold: list[list[str]], pred: list[list[str]]) -> float:
    """Share of words whose tag is right (UD relations, chunks)."""
    return pos_accuracy(gold, pred)


def pos_scores(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """UD-POS: token accuracy and the seqeval F1 XTREME reports for udpos (both 0..1)."""
    return {"accuracy": pos_accuracy(gold, pred), "seqeval_f1": xtreme_seqeval_f1(gold, pred)}


def ner_scores(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """PAN-X NER entity-span scores (0..1) over PER, ORG, LOC, computed by seqeval.

    ``span_f1``, ``precision``, ``recall``: seqeval's default mode (conlleval's reading), what XTREME's
    ``evaluate.py`` reports for panx (``seqeval.metrics.f1_score(labels, predictions)``): the headline.
    ``span_f1_strict``: seqeval ``mode="strict", scheme=IOB2`` F1, beside it (stray ``I-`` tags are no entities).
    """
    r = span_f1(gold, pred, mode="default")
    strict = span_f1(gold, pred, mode="strict")
    return {"precision": r["precision"], "recall": r["recall"], "span_f1": r["f1"], "span_f1_strict": strict["f1"]}


# ------------------------------------------------------------------ CCG supertagging (CCGbank)

_LEAF = re.compile(r"<L (\S+) (\S+) (\S+) (\S+) (\S+)>")


def load_ccg_auto(path: str | os.PathLike) -> list[TaggedSentence]:
    """Words and supertags of every derivation in a CCGbank ``.auto`` file."""
    out, sent_id = [], ""
    for n, line in enumerate(open_lines(path), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("ID="):
            sent_id = line.split()[0][3:]
            continue
        leaves = _LEAF.findall(line)
        if not leaves:
            raise DataError(f"{path}:{n}: a derivation line without '<L category POS POS word pred_arg>' leaves")
        out.append(tagged_sentence([leaf[3] for leaf in leaves], [leaf[0] for leaf in leaves], "en", sent_id or f"{n}"))
    return out


def load_ccg_piped(path: str | os.PathLike) -> list[TaggedSentence]:
    """``word|supertag`` (or ``word|POS|supertag``) tokens, one sentence a line; the tag is the last field."""
    out = []
    for n, line in enumerate(open_lines(path), 1):
        if not line.strip():
            continue
        words, tags = [], []
        for tok in line.split():
            parts = tok.split("|")
            if len(parts) < 2 or not parts[0] or not parts[-1]:
                raise DataError(f"{path}:{n}: token {tok!r} is not 'word|supertag' or 'word|POS|supertag'")
            words.append(parts[0])
            tags.append(parts[-1])
        out.append(tagged_sentence(words, tags, "en", f"{os.path.basename(path)}#{n}"))
    return out


def supertag_labels(train: list[TaggedSentence]) -> list[str]:
    """Sorted supertag inventory of the training sentences."""
    return sorted({t for s in train for t in s["tags"]})


def supertag_accuracy(gold: list[list[str]], pred: list[list[str]]) -> float:
    return pos_accuracy(gold, pred)


# ------------------------------------------------------------------ shipped training data (intermediate tasks)


#: the languages of deprel's translated data (PUD intermediate halves)
DEPREL_LANGUAGES = list(PUD_NON_EN)


def load_deprel(data: str, languages: list[str] | None = None) -> list[dict]:
    """Dependency relations of the PUD intermediate half: English, or (``translated``) the same sentence positions
    with the language rotating over ``languages`` (default: all 12 non-English PUD languages). Any choice of
    languages gives as many sentences as English (size-matched)."""
    if data == "en":
        sents = load_pud("en", "intermediate")
        return [{"words": s.words, "tags": [deprel_label(d) for d in s.deprel], "lang": "en"} for s in sents]
    langs = list(languages or DEPREL_LANGUAGES)
    by_lang = {l: load_pud(l, "intermediate") for l in langs}
    out = []
    for j in range(PUD_SIZE // 2):  # same sentence positions, language rotates
        lang = langs[j % len(langs)]
        s = by_lang[lang][j]
        out.append({"words": s.words, "tags": [deprel_label(d) for d in s.deprel], "lang": lang})
    return out


def load_chunk(data: str) -> list[dict]:
    return [{"words": w, "tags": t, "lang": "en"} for w, t in read_conll2000("train")]


CCGBANK_ENV = "XIT_CCGBANK"


def load_ccg(data: str) -> list[dict]:
    """CCG supertags from a local CCGbank copy (LDC2005T13 is licensed: never shipped, never on the hub)."""

    root = os.environ.get(CCGBANK_ENV)
    if not root or not Path(root).is_dir():
        raise DataError(
            f"task 'ccg' needs CCGbank (LDC2005T13, licensed, not shipped): set {CCGBANK_ENV} to a directory "
            f"of .auto files (sections 02-21) or word|tag files (.txt); got {root!r}"
        )
    files = sorted(Path(root).rglob("*.auto")) or sorted(Path(root).rglob("*.txt"))
    if not files:
        raise DataError(f"task 'ccg': {root} holds no .auto or .txt files; allowed: CCGbank .auto, word|tag .txt")
    load = load_ccg_auto if files[0].suffix == ".auto" else load_ccg_piped
    return [{"words": list(s["words"]), "tags": list(s["tags"]), "lang": "en"} for f in files for s in load(f)]


def ud_relation_row(r: dict, lang: str = "en") -> dict:
    """Hub rows of the shipped tagging tasks (universal_dependencies en_ewt, conll2000): words and tags."""
    tags = r.get("deprel") or r.get("chunk_tags") or r.get("upos")
    return {"words": r["tokens"], "tags": [deprel_label(str(t)) for t in tags], "lang": "en"}


# ------------------------------------------------------------------ features, head, loss, prediction


def encode_tagging(tokenizer, examples: list[dict], label2id: dict | None, max_length: int) -> list[dict]:
    """Words -> windows of subword ids; each word labelled at its first non-bare subword.

    Sentences longer than ``max_length`` are split into windows at word boundaries; no word is dropped.

    Examples carrying ``text`` and ``spans`` (see ``xitcore.surface.surface_example``) are tokenised as surface
    text instead, by ``xitcore.surface.encode_tagging_surface`` (same output; words of one surface token share a
    position). Without them each word is tokenised on its own, as before.
    """
    with_surface = sum("text" in ex and "spans" in ex for ex in examples)
    if with_surface:
        if with_surface != len(examples):
            raise ValueError(
                f"encode_tagging: {with_surface} of {len(examples)} examples carry text and spans; "
                "either all or none must"
            )

        return encode_tagging_surface(tokenizer, examples, label2id, max_length)
    bare = bare_ids(tokenizer)
    word_lists = [ex["words"] for ex in examples]
    enc = tokenizer(word_lists, is_split_into_words=True, add_special_tokens=False)
    body = max_length - 2
    feats = []
    for i, ex in enumerate(examples):
        ids, wids = enc["input_ids"][i], enc.word_ids(i)
        pieces = [[] for _ in ex["words"]]
        for tid, w in zip(ids, wids):
            if w is not None:
                pieces[w].append(tid)
        windows, cur, cur_len = [], [], 0
        for w, p in enumerate(pieces):
            if not p:
                pieces[w] = p = [tokenizer.unk_token_id]
            p = pieces[w] = p[:body]
            if cur and cur_len + len(p) > body:
                windows.append(cur)
                cur, cur_len = [], 0
            cur.append(w)
            cur_len += len(p)
        if cur:
            windows.append(cur)
        for win in windows:
            input_ids, positions = [tokenizer.bos_token_id], []
            for w in win:
                p = pieces[w]
                first = next((k for k, t in enumerate(p) if t not in bare), 0)
                positions.append(len(input_ids) + first)
                input_ids += p
            input_ids.append(tokenizer.eos_token_id)
            labels = [-100] * len(input_ids)
            if label2id is not None:
                for w, pos in zip(win, positions):
                    labels[pos] = label2id.get(ex["tags"][w], -100)
            feats.append({"input_ids": input_ids, "labels": labels, "example": i, "words": win, "positions": positions})
    return feats


def featurise(tokenizer, examples: list[dict], labels: list[str], max_length: int) -> list[dict]:
    return encode_tagging(tokenizer, examples, {l: i for i, l in enumerate(labels)}, max_length)


feature_length = input_length


def collate(feats: list[dict], pad_id: int) -> dict:
    return {
        **padded_inputs(feats, pad_id),
        "labels": pad([f["labels"] for f in feats], -100),
    }


class Head(nn.Module):
    def __init__(self, hidden: int, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_labels)

    def forward(self, h):
        return self.out(self.dropout(h))


def make_head(hidden: int, num_labels: int, dropout: float = 0.1) -> nn.Module:
    return Head(hidden, num_labels, dropout)


def loss(model, task: str, batch: dict, device):
    h = model.encode(batch["input_ids"].to(device), batch["attention_mask"].to(device))
    labels = batch["labels"].to(device)
    sel = labels != -100
    return F.cross_entropy(model.heads[task](h[sel]), labels[sel])  # only labelled positions


def loss_units(feature: dict) -> int:
    """What ``loss`` averages over: the labelled tokens."""
    return sum(l != -100 for l in feature["labels"])


@torch.no_grad()
def predict_tagging(
    model, task: str, tokenizer, examples: list[dict], labels: list[str], max_length: int, device, batch_size: int = 64
) -> list[list[str]]:
    """Predicted tag for every word of every example (windows stitched back together).

    Each word reads the prediction at its own ``positions`` entry, so words sharing a position (the parts of a
    multiword token under surface tokenisation) each get a tag: the one predicted at that position.
    """
    model.eval()
    feats = encode_tagging(tokenizer, examples, None, max_length)
    preds = [[None] * len(ex["words"]) for ex in examples]
    order = sorted(range(len(feats)), key=lambda k: len(feats[k]["input_ids"]))
    for i in range(0, len(order), batch_size):
        chunk = [feats[k] for k in order[i : i + batch_size]]
        ids = pad([f["input_ids"] for f in chunk], tokenizer.pad_token_id).to(device)
        logits = model(task, ids, (ids != tokenizer.pad_token_id).long())
        best = logits.argmax(-1).cpu()
        for f, row in zip(chunk, best):
            for w, pos in zip(f["words"], f["positions"]):
                preds[f["example"]][w] = labels[int(row[pos])]
    missing = [(i, w) for i, p in enumerate(preds) for w, t in enumerate(p) if t is None]
    if missing:  # every encoder puts each word in exactly one window; a gap is a bug, not a tag
        raise RuntimeError(
            f"predict_tagging: {len(missing)} words got no prediction, first (example, word) {missing[0]}"
        )
    model.train()
    return preds
