"""xitcore.multilingual: mC4 stream sampling/resume, translation cache/batching/resume, label projection."""

import json
import time
from pathlib import Path

import pytest

from xitcore.errors import DataError
from xitcore.multilingual import label_projection as lp
from xitcore.multilingual import mc4
from xitcore.multilingual.translate import (
    HFTranslator,
    TranslationCache,
    TranslatorConfig,
    language_token_id,
    translate_examples,
    translate_texts,
)

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

FIXTURES = Path(__file__).parent / "fixtures" / "multilingual"
SENTENCES = (FIXTURES / "sentences.txt").read_text(encoding="utf-8").splitlines()


# ------------------------------------------------------------------ mC4 sampling and stream


def test_alpha_probabilities_hand_computed():
    # n^0.2 for n = 1, 32, 1024 is 1, 2, 4 -> p = 1/7, 2/7, 4/7
    p = mc4.language_probabilities({"c": 1024, "a": 1, "b": 32}, alpha=0.2)
    assert list(p) == ["a", "b", "c"]
    assert p == pytest.approx({"a": 1 / 7, "b": 2 / 7, "c": 4 / 7}, abs=1e-12)
    # XLM-R alpha 0.3: 1024^0.3 = 8 -> 1/9, 8/9; empty languages drop out; alpha 1 is proportional
    assert mc4.language_probabilities({"a": 1, "b": 1024, "z": 0}) == pytest.approx({"a": 1 / 9, "b": 8 / 9})
    assert mc4.language_probabilities({"a": 1, "b": 3}, alpha=1.0) == pytest.approx({"a": 0.25, "b": 0.75})
    for bad in (0.0, 1.5):
        with pytest.raises(DataError, match="alpha"):
            mc4.language_probabilities({"a": 1}, alpha=bad)


def test_sizes_table_and_missing_language():
    assert mc4.resolve_sizes(["de", "fr"]) == {"de": mc4.MC4_DOCUMENTS["de"], "fr": mc4.MC4_DOCUMENTS["fr"]}
    with pytest.raises(DataError, match="no document count for zz"):
        mc4.resolve_sizes(["de", "zz"])
    assert mc4.resolve_sizes(["zz"], {"zz": 5}) == {"zz": 5}


def counting_source(lengths, opened=None):
    """lang -> documents '<lang>-<i>' for i < lengths[lang], starting at ``start``; records every open."""

    def source(lang, start):
        if opened is not None:
            opened.append((lang, start))
        return (f"{lang}-{i}" for i in range(start, lengths[lang]))

    return source


def take(stream, n):
    return [next(stream) for _ in range(n)]


def test_interleaving_deterministic_per_seed_and_follows_probabilities():
    sizes, big = {"de": 1000, "fr": 100, "sw": 10}, {"de": 10**9, "fr": 10**9, "sw": 10**9}
    s1 = mc4.open_mc4_stream(["de", "fr", "sw"], sizes, seed=7, source=counting_source(big))
    s2 = mc4.open_mc4_stream(["de", "fr", "sw"], sizes, seed=7, source=counting_source(big))
    s3 = mc4.open_mc4_stream(["de", "fr", "sw"], sizes, seed=8, source=counting_source(big))
    a, b, c = take(s1, 6000), take(s2, 6000), take(s3, 6000)
    assert a == b and a != c
    # documents of each language arrive in source order
    assert [d.text for d in a if d.lang == "sw"] == [f"sw-{i}" for i in range(sum(d.lang == "sw" for d in a))]
    p = mc4.language_probabilities(sizes)
    for lang in sizes:
        assert sum(d.lang == lang for d in a) / len(a) == pytest.approx(p[lang], abs=0.02)


def test_resume_from_saved_state_gives_same_continuation():
    lengths = {"de": 10**6, "fr": 10**6, "sw": 30}  # sw runs dry mid-way: exhaustion must resume too
    sizes = {"de": 100, "fr": 50, "sw": 50}
    ref = mc4.open_mc4_stream(list(sizes), sizes, seed=3, source=counting_source(lengths))
    first, rest = take(ref, 80), take(ref, 300)
    run = mc4.open_mc4_stream(list(sizes), sizes, seed=3, source=counting_source(lengths))
    assert take(run, 80) == first
    saved = json.loads(json.dumps(run.state().to_dict()))  # survives a JSON round trip
    assert sum(saved["positions"].values()) == saved["documents"] == 80
    opened = []
    resumed = mc4.open_mc4_stream(list(sizes), sizes, seed=3, state=saved, source=counting_source(lengths, opened))
    assert take(resumed, 300) == rest
    assert all(start == saved["positions"][lang] for lang, start in opened)  # sources skip what was consumed
    assert "sw" in resumed.state().exhausted and sum(d.lang == "sw" for d in first + rest) == 30
    finite = mc4.open_mc4_stream(list(sizes), sizes, source=counting_source({"de": 7, "fr": 5, "sw": 3}))
    assert sorted(d.text for d in finite) == sorted(
        [f"de-{i}" for i in range(7)] + [f"fr-{i}" for i in range(5)] + [f"sw-{i}" for i in range(3)]
    )  # every document once, then stop


def test_offline_hub_fails_fast_with_one_line(monkeypatch):
    monkeypatch.setattr("xitcore.tasks.io.hub_reachable", lambda timeout=3.0: False)
    t0 = time.monotonic()
    with pytest.raises(DataError) as e:
        mc4.open_mc4_stream(["de", "fr"])
    assert time.monotonic() - t0 < 5
    msg = str(e.value)
    assert "\n" not in msg and "allenai/c4" in msg and "unreachable" in msg
    with pytest.raises(DataError, match="qu not in mC4"):  # XCOPA's Quechua has no mC4 config
        mc4.open_mc4_stream(["de", "qu"])


class CharTokenizer:
    """Stand-in tokenizer: one id per character, wrapped in 0 ... 2 like <s> ... </s>."""

    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": [0] + [ord(ch) for ch in text] + [2]}


def test_block_packer_fixed_length_single_language_and_resumable():
    sizes = {"de": 1, "fr": 1}
    lengths = {"de": 10**6, "fr": 10**6}
    ref_stream = mc4.open_mc4_stream(["de", "fr"], sizes, seed=1, source=counting_source(lengths))
    ref = mc4.BlockPacker(CharTokenizer(), block_size=16).blocks(ref_stream)
    blocks = [next(ref) for _ in range(40)]
    assert all(len(b.input_ids) == 16 for b in blocks)
    assert {b.lang for b in blocks} == {"de", "fr"}
    for b in blocks:  # a block holds only its language's characters
        other = "f" if b.lang == "de" else "d"
        assert ord(other) not in b.input_ids
    stream = mc4.open_mc4_stream(["de", "fr"], sizes, seed=1, source=counting_source(lengths))
    packer = mc4.BlockPacker(CharTokenizer(), block_size=16)
    gen = packer.blocks(stream)
    assert [next(gen) for _ in range(15)] == blocks[:15]
    saved = json.loads(json.dumps({"stream": stream.state().to_dict(), "carry": packer.carry}))
    stream2 = mc4.open_mc4_stream(["de", "fr"], sizes, seed=1, state=saved["stream"], source=counting_source(lengths))
    gen2 = mc4.BlockPacker(CharTokenizer(), 16, carry=saved["carry"]).blocks(stream2)
    assert [next(gen2) for _ in range(25)] == blocks[15:]


# ------------------------------------------------------------------ translation: tiny random M2M100


@pytest.fixture(scope="module")
def tiny_nllb(tmp_path_factory):
    """A character-level NLLB tokenizer and a random 1+1-layer M2M100 (d_model 16), saved like a hub model."""
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    torch.set_num_threads(1)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for ch in sorted(set("".join(SENTENCES).replace(" ", "")) | {"▁"}):
        vocab[ch] = len(vocab)
    tok = NllbTokenizer(vocab=vocab, merges=[], src_lang="eng_Latn")
    d = tmp_path_factory.mktemp("tiny_nllb")
    tok.save_pretrained(d)
    torch.manual_seed(0)
    cfg = M2M100Config(
        vocab_size=max(tok.get_vocab().values()) + 1,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=256,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    M2M100ForConditionalGeneration(cfg).save_pretrained(d)
    return d


def load_tiny(model_dir, batch_size):
    return HFTranslator.load(
        TranslatorConfig(model_name=str(model_dir), batch_size=batch_size, num_beams=1, max_new_tokens=6, device="cpu")
    )


def count_batches(translator, fail_after=None):
    """Record each batch sent to the model; optionally die after ``fail_after`` batches (a killed run)."""
    batches, inner = [], translator.translate_batch

    def wrapped(texts, tgt_lang):
        if fail_after is not None and len(batches) >= fail_after:
            raise KeyboardInterrupt("killed")
        batches.append(list(texts))
        return inner(texts, tgt_lang)

    translator.translate_batch = wrapped
    return batches


def test_tiny_model_batches_in_order_and_second_call_hits_cache(tiny_nllb, tmp_path):
    tr = load_tiny(tiny_nllb, batch_size=2)
    batches = count_batches(tr)
    generated = []
    inner_generate = tr.model.generate
    tr.model.generate = lambda **kw: generated.append(inner_generate(**kw)) or generated[-1]
    texts = SENTENCES[:4] + [SENTENCES[0], ""]  # a duplicate and a blank
    with TranslationCache(tmp_path / "cache.sqlite") as cache:
        out = translate_texts(texts, "de", tr, cache, progress=False)
        assert len(out) == len(texts) and out[4] == out[0] and out[5] == ""
        assert len(batches) == 2 and all(len(b) == 2 for b in batches)
        assert sorted(t for b in batches for t in b) == sorted(SENTENCES[:4])  # each unique text once
        flat = [t for b in batches for t in b]
        assert [len(t) for t in flat] == sorted(map(len, flat), reverse=True)  # length-sorted batches
        lookup = cache.lookup(tr.cache_key, "de", SENTENCES[:4])
        assert out[:4] == [lookup[t] for t in SENTENCES[:4]]  # outputs aligned to input order
        deu = language_token_id(tr.tokenizer, "de")
        assert deu == tr.tokenizer.convert_tokens_to_ids("deu_Latn")
        assert all((g[:, 1] == deu).all() for g in generated)  # forced BOS = target language token
        assert translate_texts(texts, "de", tr, cache, progress=False) == out
        assert len(batches) == 2  # no new model call: all from the cache
        translate_texts(SENTENCES[:1], "fr", tr, cache, progress=False)
        assert len(batches) == 3  # another target language is another cache key
        assert cache.count(tr.cache_key, "de") == 4 and cache.count() == 5
    with pytest.raises(DataError, match="no NLLB code for language 'xx'"):
        language_token_id(tr.tokenizer, "xx")


def test_killed_run_resumes_with_only_the_missing_texts(tiny_nllb, tmp_path):
    texts = SENTENCES[:5]
    clean = translate_texts(
        texts, "fr", load_tiny(tiny_nllb, 1), TranslationCache(tmp_path / "clean.sqlite"), progress=False
    )
    path = tmp_path / "killed.sqlite"
    tr = load_tiny(tiny_nllb, 1)
    done = count_batches(tr, fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        translate_texts(texts, "fr", tr, TranslationCache(path), progress=False)
    assert len(done) == 2 and TranslationCache(path).count() == 2  # both finished batches were committed
    tr2 = load_tiny(tiny_nllb, 1)
    rest = count_batches(tr2)
    out = translate_texts(texts, "fr", tr2, TranslationCache(path), progress=False)
    assert sorted(t for b in rest for t in b) == sorted(set(texts) - {t for b in done for t in b})
    assert out == clean


def test_m2m100_tokenizer_path(tmp_path):
    spm = pytest.importorskip("sentencepiece")
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    torch.set_num_threads(1)
    (tmp_path / "train.txt").write_text("\n".join(SENTENCES * 5), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(tmp_path / "train.txt"),
        model_prefix=str(tmp_path / "sp"),
        vocab_size=60,
        model_type="bpe",
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "sp.model"))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tok = M2M100Tokenizer(str(tmp_path / "vocab.json"), str(tmp_path / "sp.model"), src_lang="en")
    model_dir = tmp_path / "m2m"
    tok.save_pretrained(model_dir)
    torch.manual_seed(0)
    M2M100ForConditionalGeneration(
        M2M100Config(
            vocab_size=max([*tok.get_vocab().values(), *tok.lang_token_to_id.values()]) + 1,
            d_model=16,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=32,
            decoder_ffn_dim=32,
            max_position_embeddings=256,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            decoder_start_token_id=2,
        )
    ).save_pretrained(model_dir)
    tr = load_tiny(model_dir, batch_size=4)
    assert type(tr.tokenizer).__name__ == "M2M100Tokenizer"
    assert language_token_id(tr.tokenizer, "de") == tr.tokenizer.get_lang_id("de")  # M2M100 codes are ISO
    out = translate_texts(SENTENCES[:3], "de", tr, TranslationCache(tmp_path / "c.sqlite"), progress=False)
    assert len(out) == 3 and all(isinstance(t, str) for t in out)
    with pytest.raises(DataError, match="M2M100 has no language 'qu'"):
        language_token_id(tr.tokenizer, "qu")


def test_load_failure_is_one_line(tmp_path):
    with pytest.raises(DataError) as e:
        HFTranslator.load(TranslatorConfig(model_name=str(tmp_path)))  # an empty dir: no model there
    assert "\n" not in str(e.value) and "cannot load" in str(e.value)


class ReverseTranslator:
    """Fake model: reverses each text and records the batches it was given."""

    cache_key, batch_size = "reverse", 3

    def __init__(self):
        self.batches = []

    def translate_batch(self, texts, tgt_lang):
        self.batches.append(list(texts))
        return [t[::-1] for t in texts]


def test_translate_texts_maps_outputs_back_to_input_order(tmp_path):
    texts = ["bb", "a", "dddd", "ccc", "a", "eeeee", "ff"]
    fake = ReverseTranslator()
    out = translate_texts(texts, "de", fake, TranslationCache(tmp_path / "c.sqlite"), progress=False)
    assert out == [t[::-1] for t in texts]
    assert fake.batches == [["eeeee", "dddd", "ccc"], ["bb", "ff", "a"]]


# ------------------------------------------------------------------ label projection


def test_markers_kept_give_projected_span():
    marked = lp.mark_answer("Paris is the capital of France.", 0, "Paris")
    assert marked == "[Paris] is the capital of France."
    text, spans = lp.extract_spans("La capitale de la France est [ Paris ] .", 1)
    assert text == "La capitale de la France est Paris ." and text[slice(*spans[0])] == "Paris"
    text, spans = lp.extract_spans("  [Paris] est la capitale.", 1)
    assert text == "Paris est la capitale." and spans == [(0, 5)]


@pytest.mark.parametrize(
    "translated,reason",
    [
        ("Paris est la capitale.", "markers lost"),
        ("(Paris) est la capitale.", "markers lost"),
        ("[Paris est la capitale.", "nested or unclosed marker"),
        ("Paris] est [la capitale.", "close marker before open"),
        ("[[Paris]] est la capitale.", "nested or unclosed marker"),
        ("[ ] est la capitale.", "empty span"),
        ("[Paris] est la [capitale].", "span count changed"),
    ],
)
def test_lost_or_mangled_markers_are_rejected(translated, reason):
    with pytest.raises(lp.ProjectionError, match=reason):
        lp.extract_spans(translated, 1)


def test_multiple_spans_bio_roundtrip():
    words = ["John", "Smith", "visited", "New", "York", "and", "Ann", "Bo", "."]
    tags = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-PER", "B-PER", "O"]
    text, spans = lp.bio_to_char_spans(words, tags)
    assert text == "John Smith visited New York and Ann Bo ."
    assert [(text[s:e], t) for s, e, t in spans] == [
        ("John Smith", "PER"),
        ("New York", "LOC"),
        ("Ann", "PER"),
        ("Bo", "PER"),
    ]
    marked = lp.insert_markers(text, [(s, e) for s, e, _ in spans])
    assert marked == "[John Smith] visited [New York] and [Ann] [Bo] ."
    clean, got = lp.extract_spans("[John Smith] besuchte [New York] und [Ann] [Bo].", 4)
    w, t = lp.char_spans_to_bio(clean, [(s, e, typ) for (s, e), (_, _, typ) in zip(got, spans)])
    assert list(zip(w, t)) == [
        ("John", "B-PER"),
        ("Smith", "I-PER"),
        ("besuchte", "O"),
        ("New", "B-LOC"),
        ("York", "I-LOC"),
        ("und", "O"),
        ("Ann", "B-PER"),
        ("Bo", "B-PER"),
        (".", "O"),
    ]
    with pytest.raises(lp.ProjectionError, match="marker characters in source"):
        lp.insert_markers("a [citation] here", [(0, 1)])


def fake_mt(table):
    """Translate by lookup (unknown strings pass through unchanged), recording the requests."""
    calls = []

    def translate(texts):
        calls.append(list(texts))
        return [table.get(t, t) for t in texts]

    translate.calls = calls
    return translate


def test_translate_examples_qa_counts_drops():
    ctx = "Paris is the capital of France. It is large."
    examples = [
        {"id": "q1", "context": ctx, "question": "What is the capital?", "answers": ["Paris"], "answer_starts": [0]},
        {"id": "q2", "context": ctx, "question": "Is it large?", "answers": ["large"], "answer_starts": [38]},
        {"id": "q3", "context": ctx, "question": "Bad offset?", "answers": ["France"], "answer_starts": [3]},
    ]
    mt = fake_mt(
        {
            "[Paris] is the capital of France.": "[Paris] est la capitale de la France.",
            "It is large.": "Elle est grande.",
            "It is [large].": "Elle est grande.",  # markers lost
            "What is the capital?": "Quelle est la capitale ?",
        }
    )
    out, report = translate_examples(examples, "qa", "fr", mt)
    assert len(mt.calls) == 1  # one call for all texts: the cache/batcher sees everything at once
    assert [ex["id"] for ex in out] == ["q1"]
    q1 = out[0]
    assert q1["context"] == "Paris est la capitale de la France. Elle est grande."
    assert q1["context"][q1["answer_starts"][0] : q1["answer_starts"][0] + len(q1["answers"][0])] == "Paris"
    assert q1["question"] == "Quelle est la capitale ?" and q1["lang"] == "fr"
    assert report.to_dict() == {
        "total": 3,
        "kept": 1,
        "dropped": 2,
        "drop_rate": pytest.approx(2 / 3),
        "reasons": {"answer offset does not match context": 1, "markers lost": 1},
    }


def test_translate_examples_classification_multiple_choice_tagging():
    upper_fn = lambda texts: [t.upper() for t in texts]  # noqa: E731
    cls = [
        {"text_a": "good film", "text_b": None, "label": 1, "lang": "en"},
        {"text_a": "a man sleeps", "text_b": "a person rests", "label": 1, "lang": "en"},
    ]
    out, rep = translate_examples(cls, "classification", "de", upper_fn)
    assert out == [
        {"text_a": "GOOD FILM", "text_b": None, "label": 1, "lang": "de"},
        {"text_a": "A MAN SLEEPS", "text_b": "A PERSON RESTS", "label": 1, "lang": "de"},
    ]
    mc = [{"premise": "it rained", "question": "effect", "choices": ["wet", "dry"], "label": 0, "idx": 3}]
    out, rep = translate_examples(mc, "multiple_choice", "de", upper_fn)
    assert out[0]["premise"] == "IT RAINED" and out[0]["choices"] == ["WET", "DRY"]
    assert out[0]["question"] == "effect" and out[0]["label"] == 0 and rep.drop_rate == 0
    ner = [{"words": ["Ann", "lives", "in", "Rome"], "tags": ["B-PER", "O", "O", "B-LOC"]}]
    out, rep = translate_examples(ner, "tagging", "it", upper_fn)
    assert out[0]["words"] == ["ANN", "LIVES", "IN", "ROME"] and out[0]["tags"] == ["B-PER", "O", "O", "B-LOC"]
    with pytest.raises(DataError, match="not BIO span tags"):
        translate_examples([{"words": ["a"], "tags": ["nsubj"]}], "tagging", "it", upper_fn)
    with pytest.raises(DataError, match="task kind 'nope' unknown"):
        translate_examples(cls, "nope", "it", upper_fn)
