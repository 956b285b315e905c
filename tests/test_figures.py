"""Figures render to PNG from a synthetic results table, and their captions name the source runs."""

from __future__ import annotations

import re

import matplotlib
import pandas as pd
import pytest
from book_synthetic import synthetic_results

from xitcore.book import figures as F
from xitcore.book import tables as T

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def df():
    return synthetic_results(effects={"en-qa": 3.0, "ml-qa": 5.0, "ml-copa": -2.0})


def _texts(fig) -> str:
    return "\n".join(t.get_text() for t in fig.texts)


def _check(fig, tmp_path, name):
    assert isinstance(fig, matplotlib.figure.Figure)
    path = tmp_path / f"{name}.png"
    F.save_png(fig, path)
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 5000
    # the caption (a figure text, so it is in the PNG) names the run records
    assert fig.xit_source in _texts(fig).replace("\n", " ") or fig.xit_source.split(",")[0] in _texts(fig)
    assert re.search(r"\((\d+) runs?\)", fig.xit_source)
    return fig


FIGURES = {
    "pos_by_language": lambda d: F.pos_by_language(d),
    "pos_one_condition": lambda d: F.pos_by_language(T.select(d, conditions=["en-qa"]), conditions=["en-qa"]),
    "ner_by_language": lambda d: F.ner_by_language(d),
    "delta_heatmap_pos": lambda d: F.delta_heatmap(d),
    "delta_heatmap_tatoeba": lambda d: F.delta_heatmap(
        d, task="tatoeba", metric="top1", phases=("intermediate", "mlm")
    ),
    "tatoeba_by_phase": lambda d: F.tatoeba_by_phase(d),
    "by_script": lambda d: F.by_group(d),
    "by_family": lambda d: F.by_group(d, mapping=T.FAMILY, group_name="family"),
    "en_vs_ml": lambda d: F.en_vs_ml(d),
    "mlm_floor": lambda d: F.mlm_floor(d),
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_renders_and_names_runs(df, tmp_path, name):
    fig = _check(FIGURES[name](df), tmp_path, name)
    assert "runs/" in fig.xit_source
    assert fig.xit_title


def test_caption_counts_exactly_the_runs_plotted(df):
    one = T.select(df, conditions=["en-qa"], baselines=False)
    fig = F.pos_by_language(one)
    pos_runs = T.runs_of(T.rows(one, "pos", "accuracy", "target"))
    assert fig.xit_source.endswith(f"({len(pos_runs)} runs)")
    assert pos_runs[0] in fig.xit_source


def test_source_note_format():
    mk = lambda runs: pd.DataFrame({"run": runs})  # noqa: E731
    assert F.source_note(mk([])) == "source: no run records (0 runs)"
    assert F.source_note(mk(["runs/target/a"])) == "source: runs/target/a (1 run)"
    note = F.source_note(mk([f"runs/target/{k}" for k in "edcba"] + ["runs/target/a", None]))
    assert note == "source: runs/target/a, runs/target/b, runs/target/c, … (5 runs)"


def test_empty_selection_gives_a_figure_that_says_so(tmp_path):
    empty = synthetic_results().iloc[0:0]
    for name, fn in FIGURES.items():
        fig = _check(fn(empty), tmp_path, f"empty-{name}")
        assert "0 runs" in fig.xit_source


def test_heatmap_shows_seed_mean_difference(df):
    mat = T.delta_matrix(df)
    assert mat.loc["en-qa", "0-shot\nmean"] == pytest.approx(3.0, abs=0.5)
    assert mat.loc["ml-copa", "0-shot\nmean"] == pytest.approx(-2.0, abs=0.5)
    assert "no-intermediate" not in mat.index
    assert abs(mat.loc["en-qa", "en"]) < 1.5  # English is not shifted in the synthetic table


def test_baselines_drawn_as_reference_marks(df):
    fig = F.pos_by_language(df)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "majority-tag baseline" in labels and "punct + majority baseline" in labels
    assert "en-qa" in labels and not any(l.startswith("baseline:") for l in labels)


def test_palette_is_stable_and_grouped():
    p1 = F.palette(["ml-qa", "en-qa", "no-intermediate"])
    p2 = F.palette(["no-intermediate", "en-qa", "ml-qa"])
    assert p1 == p2
    r, g, b = p1["en-qa"]
    assert b > r  # English conditions blue, multilingual orange
    r, g, b = p1["ml-qa"]
    assert r > b


def test_tables_for_a_condition(df):
    pos = T.pos_table(df, "en-qa")
    assert {"majority", "punct-majority", "mean", "sd", "seeds"} <= set(pos.columns)
    assert pos.loc["de", "seeds"] == 3 and pos.loc["de", "transfer"] == "zero-shot"
    assert pos.loc["en", "transfer"] == pos.loc["en-ewt", "transfer"] == "in-language"
    assert pos.loc["avg", "transfer"] == "mean of zero-shot"
    tat = T.metric_table(df, "en-qa", "tatoeba")
    assert [c[1] for c in tat.columns] == ["mlm", "intermediate", "target"]
    assert T.metric_table(df, "en-qa", "xcopa").empty
    mlm = T.mlm_table(df, "en-qa")
    assert bool(mlm["below floor"].iloc[0]) is True
    ov = T.overview(df)
    assert ov.index[0] == "no-intermediate" and ov.loc["no-intermediate"].iloc[-1] != ""
    assert ov.loc["en-copa", "zero-shot XCOPA accuracy"] != "" and ov.loc["en-qa", "zero-shot XCOPA accuracy"] == ""


def test_select_keeps_shared_rows_and_baselines(df):
    sel = T.select(df, conditions=["en-qa"], seeds=[1])
    assert set(sel["seed"]) == {0, 1}
    assert {"baseline:majority", "baseline:punct-majority", "en-qa"} == set(sel["condition"])
    with pytest.raises(ValueError, match="lacks column"):
        T.select(df.drop(columns=["run"]))
