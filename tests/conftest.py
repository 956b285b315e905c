import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "fixtures" / "params" / "tiny"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def store_listing(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` (``root`` itself as ``.``) -> (mode, size, mtime in ns), links not followed.

    Two listings of a run store are equal only if nothing in it was created, removed, renamed, written or
    touched in between (a directory's mtime changes when an entry comes or goes, even a temporary one)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (".", *dirnames, *filenames):
            path = Path(dirpath) / name
            st = path.lstat()
            out[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def listing_changes(before: dict, after: dict) -> list[str]:
    """What differs between two ``store_listing`` results, one path a line (empty: nothing)."""
    return [
        f"{path}: {'new' if path not in before else 'gone' if path not in after else 'changed'}"
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path)
    ]


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
