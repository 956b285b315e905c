"""Trivial POS baselines on a tiny hand-made treebank."""

from types import SimpleNamespace

import pytest

from xitcore.baselines import (
    is_punctuation_word,
    majority_tag_baseline,
    pos_baselines,
    punct_majority_baseline,
    punct_majority_predict,
)

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

# 3 sentences, 12 words; gold NOUN: cat, Dogs = 2; punctuation-only words: . ! « » = 4 (all PUNCT);
# '$' is a symbol (Unicode Sc), tagged SYM, and the baseline says NOUN for it.
SENTS = [
    SimpleNamespace(words=["The", "cat", "sat", "."], upos=["DET", "NOUN", "VERB", "PUNCT"]),
    SimpleNamespace(
        words=["Dogs", "bark", "!", "«", "Hi", "»"], upos=["NOUN", "VERB", "PUNCT", "PUNCT", "INTJ", "PUNCT"]
    ),
    SimpleNamespace(words=["$", "5"], upos=["SYM", "NUM"]),
]


@pytest.mark.parametrize("word", [".", "...", "!?", "«", "»", "—", "-", "(", "。", "、", "…", '"', "'"])
def test_punctuation_words(word):
    assert is_punctuation_word(word)


@pytest.mark.parametrize("word", ["", " ", "$", "€", "+", "`", "U.S.", "3.", "a", ".a", "--x"])
def test_not_punctuation_words(word):
    assert not is_punctuation_word(word)


def test_majority_by_hand():
    # NOUN is right for 2 of 12 words
    assert majority_tag_baseline([s.upos for s in SENTS]) == pytest.approx(2 / 12)
    assert majority_tag_baseline(["NOUN", "VERB"]) == pytest.approx(1 / 2)  # flat list = one sentence
    assert majority_tag_baseline([["VERB", "VERB"]], tag="VERB") == 1.0


def test_punct_majority_by_hand():
    # PUNCT right for . ! « » (4), NOUN right for cat, Dogs (2) -> 6 of 12
    words, tags = [s.words for s in SENTS], [s.upos for s in SENTS]
    assert punct_majority_predict(SENTS[0].words) == ["NOUN", "NOUN", "NOUN", "PUNCT"]
    assert punct_majority_baseline(words, tags) == pytest.approx(6 / 12)
    with pytest.raises(ValueError, match="sentence 1"):
        punct_majority_baseline(words, [tags[0], tags[1][:-1], tags[2]])


def test_pos_baselines_percent():
    r = pos_baselines(SENTS)
    assert r == pytest.approx({"majority": 100 * 2 / 12, "punct_majority": 50.0})
