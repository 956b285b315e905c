"""Subword features for tagging: first non-bare subword labelled, windows at word boundaries, no word dropped."""

import pytest

from xitcore.model import train_tokenizer
from xitcore.tasks.mlm import pack_blocks
from xitcore.tasks.tagging import encode_tagging


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    texts = ["Hello, world! This is a test.", "Das ist ein Test, oder?", "我们是学生。", "numbers 123 and 4.5"] * 50
    return train_tokenizer(120, texts, tmp_path_factory.mktemp("tok"))


@pytest.mark.quick
def test_raw_text_and_presplit_words_tokenize_alike(tok):
    raw = tok("Hello, world!", add_special_tokens=False)["input_ids"]
    words = tok(["Hello", ",", "world", "!"], is_split_into_words=True, add_special_tokens=False)["input_ids"]
    assert raw == words


@pytest.mark.quick
def test_first_non_bare_subword_is_labelled(tok):
    ex = [{"words": ["Hello", ",", "zzqx", "我们"], "tags": ["INTJ", "PUNCT", "X", "PRON"]}]
    l2i = {"INTJ": 0, "PUNCT": 1, "X": 2, "PRON": 3}
    (f,) = encode_tagging(tok, ex, l2i, max_length=64)
    labelled = [(i, l) for i, l in enumerate(f["labels"]) if l != -100]
    assert [l for _, l in labelled] == [0, 1, 2, 3]  # one label per word, in order
    vocab = {v: k for k, v in tok.get_vocab().items()}
    for i, _ in labelled:
        assert vocab[f["input_ids"][i]] != "▁"  # never the bare word-start marker


@pytest.mark.quick
def test_long_sentences_split_into_windows_without_dropping_words(tok):
    words = ["Hello", "world", ",", "this", "is", "a", "test", "."] * 20
    ex = [{"words": words, "tags": ["X"] * len(words)}]
    feats = encode_tagging(tok, ex, {"X": 0}, max_length=24)
    assert len(feats) > 1
    assert all(len(f["input_ids"]) <= 24 for f in feats)
    covered = [w for f in feats for w in f["words"]]
    assert covered == list(range(len(words)))
    assert sum(sum(l != -100 for l in f["labels"]) for f in feats) == len(words)


@pytest.mark.quick
def test_pack_blocks_has_no_padding():
    blocks = pack_blocks([[5, 6, 7], [8, 9], [10, 11, 12, 13]], block=4, bos=0, eos=2)
    # stream: 5 6 7 </s> 8 9 </s> 10 11 12 13 </s> = 12 ids -> 4 blocks of <s> + 3 ids, nothing padded
    assert blocks.tolist() == [[0, 5, 6, 7], [0, 2, 8, 9], [0, 2, 10, 11], [0, 12, 13, 2]]


def test_translation_pairs_share_a_block_with_each_side_capped(tok):
    import random

    from xitcore.tasks.mlm import pack_translation_pairs

    pairs = [{"xx": "Das ist ein Test, oder?", "en": "Hello, world! This is a test."}] * 3
    blocks = pack_translation_pairs(tok, pairs, seq_length=32, rng=random.Random(0))
    en = tok(pairs[0]["en"], add_special_tokens=False)["input_ids"]
    xx = tok(pairs[0]["xx"], add_special_tokens=False)["input_ids"]
    half = (32 - 2) // 2 - 1
    stream = [t for row in blocks.tolist() for t in row[1:]]  # drop each block's <s>
    # every pair: one side, </s>, the other side, </s> (sides capped at half a block, order random)
    unit_a = en[:half] + [tok.eos_token_id] + xx[:half] + [tok.eos_token_id]
    unit_b = xx[:half] + [tok.eos_token_id] + en[:half] + [tok.eos_token_id]
    pos, seen = 0, 0
    while pos + len(unit_a) <= len(stream):
        chunk = stream[pos : pos + len(unit_a)]
        assert chunk in (unit_a, unit_b)
        pos, seen = pos + len(unit_a), seen + 1
    assert seen >= 1 and blocks.shape[1] == 32


def test_parallel_sources_pair_translations_of_the_same_sentence():
    from xitcore.corpus import parallel_sources
    from xitcore.data.treebanks import load_pud

    pairs = parallel_sources()
    de = [p for p in pairs if p["lang"] == "de" and p["source"] == "pud-intermediate-half"]
    en = load_pud("en", "intermediate")
    assert len(de) == len(en) and de[7]["en"] == en[7].text
    assert de[7]["xx"] == load_pud("de", "intermediate")[7].text


def test_corpus_translation_pairs_hold_no_evaluation_sentence(tiny_runs):
    from xitcore.corpus import evaluation_sentences, normalize, read_parallel

    (text_dir,) = (tiny_runs / "corpus").glob("*/text")
    pairs = read_parallel(text_dir)
    assert {p["lang"] for p in pairs} == {"de", "es"}  # the tiny preset's corpus languages besides English
    ev = evaluation_sentences()
    assert not any(normalize(p["xx"]) in ev or normalize(p["en"]) in ev for p in pairs)


def test_tokenizer_alphabet_is_repeatable_when_character_counts_tie():
    """300 characters with equal counts and room for 50: the tokenizers trainer alone picked a different
    50 (and different ids) from one training to the next; the alphabet chosen by count then code point does not."""
    from xitcore.model import build_tokenizer_object, top_characters

    chars = [chr(0x4E00 + i) for i in range(300)]
    texts = ["".join(chars[i : i + 10]) + " abc abd" for i in range(0, 300, 10)] * 3
    first = build_tokenizer_object(400, texts, "bpe", 50)
    assert all(first.get_vocab() == build_tokenizer_object(400, texts, "bpe", 50).get_vocab() for _ in range(3))
    alphabet = top_characters(first, texts, 50)
    assert alphabet[0] == "▁" and alphabet[1:4] == ["a", "b", "c"] and alphabet[5:7] == chars[:2]
    assert all(c in first.get_vocab() for c in alphabet)
