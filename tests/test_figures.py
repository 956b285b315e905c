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
    "delta_by_language": lambda d: F.delta_by_language(d, "en-qa"),
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


@pytest.mark.quick
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
    shown = [t.get_text() for leg in fig.legends for t in leg.get_texts()]  # one legend for the figure
    assert shown == list(dict.fromkeys(labels))


def _hue(rgb):
    import colorsys

    return colorsys.rgb_to_hls(*rgb)


def test_palette_one_hue_per_task_family_english_dark_multilingual_light():
    conds = ["ml-qa", "en-qa", "no-intermediate", "en-deprel", "ml-deprel", "en-copa", "ml-copa", "ml-mlm"]
    p1 = F.palette(conds)
    assert p1 == F.palette(list(reversed(conds)))  # stable whatever the order
    assert len(set(p1.values())) == len(conds)  # every condition distinct
    for x in ("qa", "deprel", "copa"):
        (h_en, l_en, _), (h_ml, l_ml, _) = _hue(p1[f"en-{x}"]), _hue(p1[f"ml-{x}"])
        assert abs(h_en - h_ml) < 0.02  # same family, same hue
        assert l_ml > l_en + 0.15  # multilingual lighter than English
    hues = [_hue(p1[f"en-{x}"])[0] for x in ("qa", "deprel", "copa")]
    assert min(abs(a - b) for i, a in enumerate(hues) for b in hues[i + 1 :]) > 0.1  # families differ in hue
    assert max(p1["no-intermediate"]) < 0.2  # the reference near-black
    assert F.markers(["en-qa", "ml-qa", "no-intermediate"]) == ["o", "^", "s"]
    assert F.task_family("en-squad") == F.task_family("ml-qa") == "QA" and F.task_family("mt-mnli") == "NLI"


def test_figures_fit_the_book_column(df, tmp_path):
    """Drawn at 100 dpi for the ~784 px column at a 1400 px window: shown at natural size, text legible."""
    from PIL import Image

    for name, fn in FIGURES.items():
        fig = fn(df)
        path = tmp_path / f"{name}.png"
        F.save_png(fig, path)
        width = Image.open(path).width
        assert 500 <= width <= 800, (name, width)
        sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip()]
        assert min(sizes) >= 8, (name, min(sizes))  # 8 pt at 100 dpi is 11 px on screen


def test_percent_axes_are_fixed_and_deltas_symmetric(df):
    one = F.tatoeba_by_phase(df, conditions=["en-qa"])  # one condition: no axis fitted to its noise
    assert one.axes[0].get_ylim() == (0, 100)
    pos = F.pos_by_language(df)
    assert all(ax.get_ylim() == (0, 100) for ax in pos.axes)
    delta = F.delta_by_language(df, "en-nli")  # no effect: the axis still spans at least ± 2 points
    for ax in delta.axes:
        lo, hi = ax.get_ylim()
        assert lo == pytest.approx(-hi) and hi >= 2.0


def test_delta_by_language_plots_the_paired_intervals(df):
    st = T.delta_stats(df, "no-intermediate", "pos", "accuracy", conditions=["en-qa"])
    assert st.iloc[-1]["language"] == T.ZERO_SHOT_MEAN
    assert st.iloc[-1]["mean"] == pytest.approx(3.0, abs=0.5) and st.iloc[-1]["lo"] > 0
    fig = F.delta_by_language(df, "en-qa")
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks[-1] == "0-shot\nmean" and "de" in ticks
    assert "95 % t-interval" in fig.xit_caption


def test_tables_for_a_condition(df):
    pos = T.pos_table(df, "en-qa")
    assert {"majority", "punct-majority", "Δ vs best baseline", "seeds"} <= set(pos.columns)
    assert pos.loc["de", "seeds"] == 3 and pos.loc["de", "transfer"] == "zero-shot"
    assert pos.loc["en", "transfer"] == pos.loc["en-ewt", "transfer"] == "in-language"
    assert pos.loc["avg", "transfer"] == "0-shot mean"
    assert "NaN" not in pos.to_html() and pos.loc["en-ewt", "majority"] == "–"  # no baseline on EWT
    mean = T.rows(df[df.condition == "en-qa"], "pos", "accuracy", "target").query("language == 'de'")["value"].mean()
    best = max(float(pos.loc["de", "majority"]), float(pos.loc["de", "punct-majority"]))
    assert pos.loc["de", "Δ vs best baseline"] == f"{mean - best:+.1f}"
    tat = T.metric_table(df, "en-qa", "tatoeba")
    assert [c[1] for c in tat.columns] == ["pretrained", "after phase ii", "after phase iii"]  # never "mlm"
    assert T.checkpoints_sentence(df, "en-qa", "tatoeba").endswith(
        "3 checkpoint(s): pretrained, after phase ii, after phase iii."
    )
    assert T.metric_table(df, "en-qa", "xcopa").empty
    mlm = T.mlm_table(df, "en-qa")
    assert bool(mlm["below floor"].iloc[0]) is True
    ov = T.overview(df)
    assert ov.index[0] == "no-intermediate" and ov.loc["no-intermediate"].iloc[0] != ""
    assert not any("composite" in c for c in ov.columns)  # no number mixes metrics or checkpoints
    assert ov.loc["en-copa", "zero-shot XCOPA accuracy"] != "" and ov.loc["en-qa", "zero-shot XCOPA accuracy"] == ""


@pytest.mark.quick
def test_select_keeps_shared_rows_and_baselines(df):
    sel = T.select(df, conditions=["en-qa"], seeds=[1])
    assert set(sel["seed"]) == {0, 1}
    assert {"baseline:majority", "baseline:punct-majority", "en-qa"} == set(sel["condition"])
    with pytest.raises(ValueError, match="lacks column"):
        T.select(df.drop(columns=["run"]))


def test_condition_delta_table_and_summary_pair_by_seed(df):
    t = T.condition_delta_table(df, "en-qa")
    assert list(t.columns) == ["POS accuracy", "NER span F1", "Tatoeba top-1"]
    assert t.index[-1] == T.ZERO_SHOT_MEAN and t.attrs["comparisons"] == sum(bool(x) for x in t.to_numpy().ravel())
    st = T.family_delta(df, "pos", "en-qa")
    assert t.loc[T.ZERO_SHOT_MEAN, "POS accuracy"].startswith(f"{st.mean:+.1f}\u00a0[{st.lo:+.1f},")
    s = T.delta_summary(df, conditions=["en-qa", "en-nli"])
    assert list(s.index) == ["en-nli", "en-qa"] and s.loc["en-qa", "zero-shot POS accuracy"].endswith("*")


def test_answer_states_the_paired_verdict(df):
    found = T.answer_findings(df)
    ml = {f.a: f for f in found["ml_vs_en"] if f.family == "pos"}
    # synthetic effects: ml-qa +5, en-qa +3, ml-copa -2, en-copa 0
    assert ml["ml-qa"].direction == "helped" and ml["ml-qa"].stats.mean == pytest.approx(2.0, abs=0.5)
    assert ml["ml-copa"].direction == "hurt" and ml["ml-deprel"].direction == "within seed noise"
    text = "\n".join(T.verdict_sentences(found))
    assert f"`ml-qa` {ml['ml-qa'].cell}" in text and "`ml-copa`" in text
    table = T.answer_table(found)
    assert len(table) == len(found["ml_vs_en"]) + len(found["vs_reference"])
    caveats = "\n".join(T.caveat_facts(df, found))
    assert "n = 3 seeds" in caveats and "4.30" in caveats


def test_answer_headline_says_when_the_question_is_not_answered():
    one = synthetic_results(["no-intermediate", "en-qa"], effects={"en-qa": 3.0})
    found = T.answer_findings(one)
    assert found["ml_vs_en"] == []
    text = T.headline(found)
    assert "research question is not answered by these runs" in text
    st = T.family_delta(one, "pos", "en-qa")
    assert f"`en-qa` (+{st.mean:.1f}" in text and "helped zero-shot POS" in text
    assert T.verdict_sentences(found)[0].startswith(
        "**Zero-shot POS accuracy, Δ to `no-intermediate` (secondary family):** helped"
    )
