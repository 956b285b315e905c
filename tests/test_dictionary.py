"""Dictionary induction from parallel text, code-switching, and code-switched MLM rows."""

import random

import numpy as np
import pytest

from xitcore.errors import ConfigError
from xitcore.multilingual.dictionary import code_switch, induce_dictionary, sentence_pairs, split_words

# A toy language (synthetic, unit tests only): word-for-word translations in the same order.
_TOY = {"the": "le", "a": "un", "cat": "chat", "dog": "chien", "sleeps": "dort", "eats": "mange", "here": "ici"}


def _toy_pairs():
    pairs = []
    for det in ("the", "a"):
        for noun in ("cat", "dog"):
            for verb in ("sleeps", "eats"):
                en = [det, noun, verb] + (["here"] if (noun == "cat") != (verb == "eats") else [])
                pairs.append(
                    {
                        "lang": "xx",
                        "en": " ".join(en).capitalize() + ".",
                        "xx": " ".join(_TOY[w] for w in en).capitalize() + ".",
                    }
                )
    return pairs


@pytest.mark.quick
def test_ibm1_both_directions_recovers_the_toy_lexicon():
    table = induce_dictionary(_toy_pairs(), iterations=10, min_count=2)["xx"]
    assert {e: c[0][0] for e, c in table.items()} == _TOY
    assert table["cat"] == [("chat", 4)]  # aligned in all four sentences with "cat"


@pytest.mark.quick
def test_min_count_drops_rare_links():
    # every toy word occurs in exactly 4 of the 8 pairs
    assert len(induce_dictionary(_toy_pairs(), iterations=10, min_count=4)["xx"]) == len(_TOY)
    assert induce_dictionary(_toy_pairs(), iterations=10, min_count=5)["xx"] == {}


@pytest.mark.quick
def test_real_pud_halves_give_spanish_function_words():
    from xitcore.corpus import parallel_sources

    pairs = [p for p in parallel_sources() if p["lang"] == "es" and p["source"] == "pud-intermediate-half"]
    table = induce_dictionary(pairs)["es"]
    assert table["and"][0][0] == "y"
    assert table["of"][0][0] == "de"
    assert {x for x, _ in table["the"][:2]} == {"el", "la"}


@pytest.mark.quick
def test_translations_keep_their_usual_capital_letter():
    from xitcore.corpus import parallel_sources

    pairs = [p for p in parallel_sources() if p["lang"] == "de" and p["source"] == "pud-intermediate-half"]
    table = induce_dictionary(pairs)["de"]
    assert table["government"][0][0] == "Regierung"  # German nouns are capitalised mid-sentence
    assert table["and"][0][0] == "und"


@pytest.mark.quick
def test_split_words_keeps_vowel_signs_and_splits_chinese_into_characters():
    assert split_words("सरकार की नीति, नहीं।", "hi") == ["सरकार", "की", "नीति", "नहीं"]
    assert split_words("政府的。", "zh") == ["政", "府", "的"]
    assert split_words("The U.N.'s 2 reports", "en") == ["the", "u", "n", "s", "2", "reports"]


@pytest.mark.quick
def test_sentence_pairs_splits_aligned_paragraphs_and_drops_mismatched_ones():
    long = " ".join(["word"] * 90)
    ok = {"lang": "xx", "en": f"{long}. Second one here.", "xx": f"{long}. Zweite hier."}
    bad = {"lang": "xx", "en": f"{long}. Second. Third.", "xx": f"{long}. Zweite."}
    short = {"lang": "xx", "en": "A cat.", "xx": "Un chat."}
    out = sentence_pairs([ok, bad, short])
    assert [p["en"] for p in out] == ["Second one here.", "A cat."]  # the 90-word sentence is too long to align


@pytest.mark.quick
def test_code_switch_keeps_spacing_punctuation_and_capitals():
    table = {"the": [("la", 3)], "city": [("ciudad", 1)], "and": [("y", 2)]}
    out, n = code_switch("The city, and  the (city).", table, 1.0, random.Random(0))
    assert out == "La ciudad, y  la (ciudad)."
    assert n == 5
    assert code_switch("The city.", table, 0.0, random.Random(0)) == ("The city.", 0)


@pytest.mark.quick
def test_code_switch_draws_translations_in_proportion_to_alignment_counts():
    rng = random.Random(1)
    draws = [code_switch("the", {"the": [("el", 3), ("la", 1)]}, 1.0, rng)[0] for _ in range(4000)]
    assert 0.70 < draws.count("el") / len(draws) < 0.80


def _mlm_data(code_switched):
    from xitcore.tasks.mlm import MLMData

    train = {"en": np.zeros((5, 4), dtype=np.int64), "es": np.ones((5, 4), dtype=np.int64)}
    return MLMData(train, np.zeros((0, 4), dtype=np.int64), {"en": 0.5, "es": 0.5}, 1.0, code_switched=code_switched)


@pytest.mark.quick
def test_rows_come_from_code_switched_blocks_at_the_set_rate():
    from xitcore.tasks.mlm import draw_mlm_rows

    data = _mlm_data(np.full((3, 4), 7, dtype=np.int64))
    probs = np.array([0.5, 0.5])
    rows = draw_mlm_rows(data, ["en", "es"], probs, 4000, np.random.default_rng(0), code_switch_fraction=0.25)
    share = float((rows[:, 0] == 7).mean())
    assert 0.22 < share < 0.28
    rows = draw_mlm_rows(data, ["en", "es"], probs, 50, np.random.default_rng(0), code_switch_fraction=1.0)
    assert (rows == 7).all()


@pytest.mark.quick
def test_plain_rows_unchanged_by_the_code_switch_option():
    """Off, the option draws nothing extra: the batches (and so earlier runs' checkpoints) stay the same."""
    from xitcore.tasks.mlm import draw_mlm_rows

    probs = np.array([0.5, 0.5])
    a = draw_mlm_rows(_mlm_data(None), ["en", "es"], probs, 64, np.random.default_rng(3))
    b = draw_mlm_rows(
        _mlm_data(np.full((3, 4), 7)), ["en", "es"], probs, 64, np.random.default_rng(3), code_switch_fraction=0.0
    )
    assert (a == b).all()


@pytest.mark.parametrize(
    "over, msg",
    [
        ({"code_switch_fraction": 1.5}, "mlm.code_switch_fraction"),
        ({"code_switch_prob": -0.1}, "mlm.code_switch_prob"),
        ({"code_switch_fraction": 0.6, "tlm_fraction": 0.6}, "at most 1"),
    ],
)
@pytest.mark.quick
def test_bad_code_switch_settings_are_one_clear_error(over, msg):
    from xitcore.config import MLMConfig

    with pytest.raises(ConfigError, match=msg):
        MLMConfig(**over)


@pytest.mark.quick
def test_mlm_step_key_ignores_code_switch_settings_while_off(tmp_path):
    """Existing MLM checkpoints keep their keys; turning code-switching on adds the dictionary step's key."""
    from xitcore.config import load_condition
    from xitcore.pipeline import _mlm_key
    from xitcore.runstore import RunStore

    cfg = load_condition("params/smoke/no-intermediate.yaml", {})
    key = _mlm_key(cfg, None)
    assert not any(k.startswith("code_switch") for k in key) and "dictionary" not in key
    on = load_condition("params/smoke/no-intermediate.yaml", {"mlm": {"code_switch_fraction": 0.3}})
    step = RunStore(tmp_path).step("dictionary", {"corpus": "x"})
    key_on = _mlm_key(on, step)
    assert key_on["code_switch_fraction"] == 0.3 and key_on["dictionary"] == step.key


def test_code_switched_pretraining_end_to_end(tmp_path):
    """Phase i and continued MLM with code-switched rows: the dictionary step is built once and both use it."""
    import json

    from conftest import TINY

    from xitcore.config import load_condition
    from xitcore.pipeline import run_condition

    over = {"mlm": {"code_switch_fraction": 0.25}, "target": {"tasks": ["pos"]}, "seeds": [1]}
    index = run_condition(load_condition(TINY / "mlm.yaml", over), tmp_path)
    (dict_dir,) = (tmp_path / "dictionary").iterdir()
    stats = json.loads((dict_dir / "metrics.json").read_text())
    assert set(stats["english_words"]) == {"de", "es"}  # the tiny corpus's two other languages
    assert stats["examples"]["es"]["and"][0] == "y" and stats["examples"]["de"]["and"][0] == "und"
    mlm = json.loads((tmp_path / index["mlm"] / "metrics.json").read_text())
    assert mlm["code_switched_blocks"] > 0
    inter_dir = tmp_path / index["seeds"]["1"]["intermediate"]
    assert json.loads((inter_dir / "config.json").read_text())["dictionary"] == dict_dir.name
