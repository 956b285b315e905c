import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "fixtures" / "params" / "tiny"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """One shared run store with the tiny preset's phase-(i) steps already done (reused by several tests)."""
    from xitcore.config import load_condition
    from xitcore.pipeline import run_condition

    runs = tmp_path_factory.mktemp("runs")
    run_condition(load_condition(TINY / "none.yaml"), runs)
    return runs


@pytest.fixture(scope="session")
def make_tokenizer(tmp_path_factory):
    """Factory: a tiny fast tokenizer trained offline on the given texts (no hub download)."""
    from xitcore.model import train_tokenizer

    def make(texts, vocab_size: int = 120):
        return train_tokenizer(vocab_size, list(texts) * 3, tmp_path_factory.mktemp("tok"))

    return make
