"""BUCC 2018 bitext mining as the paper's preset runs it: XTREME's dev files (<l>-en.dev.<l|en|gold>), the
checkpoints Tatoeba reads, F1 at the optimal threshold, results rows; a missing directory fails with one line."""

import json
import shutil

import pytest
import torch
from conftest import TINY

from xitcore.config import load_condition
from xitcore.errors import ConfigError, DataError
from xitcore.pipeline import condition_graph, run_condition
from xitcore.results import load_results

torch.set_num_threads(1)

DE = ["der Mann geht in das Haus", "ein Buch im Garten", "das Haus und der Garten", "er liest ein Buch"]
EN = ["the man walks to the house", "a book in the garden", "the house and the garden", "he reads a book"]


def _bucc_dir(tmp_path):
    d = tmp_path / "bucc2018"
    d.mkdir()
    # XTREME layout: <id>\t<sentence>; gold <de-id>\t<en-id>. The gold pairs share their text (a tiny random encoder
    # cannot translate), so they are mined; the other sentences are distractors.
    de = [(f"de-{k:06d}", s) for k, s in enumerate(DE)] + [("de-000100", "ein Mann")]
    en = [(f"en-{k:06d}", s) for k, s in enumerate(EN)]
    en += [(f"en-{k + 10:06d}", s) for k, s in enumerate(DE[:2])] + [("en-000200", "reads")]
    (d / "de-en.dev.de").write_text("".join(f"{i}\t{s}\n" for i, s in de))
    (d / "de-en.dev.en").write_text("".join(f"{i}\t{s}\n" for i, s in en))
    (d / "de-en.dev.gold").write_text("de-000000\ten-000010\nde-000001\ten-000011\n")
    return d


@pytest.fixture
def runs(tiny_runs, tmp_path):
    out = tmp_path / "runs"
    shutil.copytree(tiny_runs, out)
    return out


def test_bucc_mines_on_the_tatoeba_checkpoints_and_reports_f1(runs, tmp_path):
    cfg = load_condition(
        TINY / "none.yaml", {"eval": {"bucc2018_languages": ["de"], "bucc2018_dir": str(_bucc_dir(tmp_path))}}
    )
    index = run_condition(cfg, runs)
    rel = index["bucc2018"]["mlm"]
    m = json.loads((runs / rel / "metrics.json").read_text())
    de = m["languages"]["de"]
    assert m["split"] == "dev" and de["gold_pairs"] == 2 and de["sentences"] == [5, 7]
    assert de["recall"] == 100.0 and de["f1"] > 0  # identical text is mined
    df = load_results(runs, variants=True)  # a variant of tiny/none (its eval settings changed)
    rows = df[(df.task == "bucc2018") & (df.condition == cfg.condition)]
    assert set(rows.language) == {"de", "avg"} and set(rows.metric) == {"f1"} and set(rows.phase) == {"mlm"}
    assert rows[rows.language == "de"].value.iloc[0] == de["f1"]


@pytest.mark.quick
def test_bucc_is_off_unless_asked_and_fails_with_one_line_without_its_files(tmp_path, monkeypatch):
    plain = condition_graph(load_condition(TINY / "none.yaml"), tmp_path / "r")
    assert not any(n.kind == "bucc2018" for n in plain.nodes) and "bucc2018" not in plain.index
    monkeypatch.delenv("XIT_BUCC2018", raising=False)
    cfg = load_condition(TINY / "none.yaml", {"eval": {"bucc2018_languages": ["de"]}})
    node = next(n for n in condition_graph(cfg, tmp_path / "r").nodes if n.kind == "bucc2018")
    with pytest.raises(DataError, match=r"bucc2018: eval.bucc2018_dir is empty and \$XIT_BUCC2018 unset; allowed:"):
        node.prepare()
    monkeypatch.setenv("XIT_BUCC2018", str(tmp_path))
    with pytest.raises(DataError, match=r"de-en.dev.de.* not found; allowed: XTREME's layout"):
        node.prepare()
    with pytest.raises(
        ConfigError, match="eval.bucc2018_languages: language 'es' is not in BUCC 2018; allowed: de, fr"
    ):
        load_condition(TINY / "none.yaml", {"eval": {"bucc2018_languages": ["es"]}})
