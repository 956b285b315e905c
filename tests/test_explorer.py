"""Explorer callbacks without a browser: filtering, default state, redraw, and the widget wiring."""

from __future__ import annotations

import matplotlib
import pytest
from book_synthetic import synthetic_results

from xitcore.book import explorer as E

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)


@pytest.fixture(scope="module")
def df():
    return synthetic_results(conditions=["no-intermediate", "en-qa", "ml-qa", "en-copa"])


def test_filter_results(df):
    out = E.filter_results(df, ["en-qa"], ["de", "es"], "pos", "accuracy", "target")
    assert set(out["condition"]) == {"en-qa"} and set(out["language"]) == {"de", "es"}
    assert len(out) == 2 * 3  # two languages x three seeds
    everything = E.filter_results(df, None, None, "tatoeba", "top1", None)
    assert set(everything["phase"]) == {"mlm", "intermediate", "target"}
    assert E.filter_results(df, [], None, "pos", "accuracy", "target").empty  # empty selection: nothing
    assert E.filter_results(df, None, None, "pos", "no-such-metric", "target").empty


def test_default_state(df):
    s = E.default_state(df)
    assert (s.task, s.metric, s.phase) == ("pos", "accuracy", "target")
    assert s.conditions[0] == "no-intermediate" and "baseline:majority" in s.conditions
    assert "avg" not in s.languages and "de" in s.languages


def test_redraw_returns_a_figure_naming_its_runs(df, tmp_path):
    s = E.default_state(df)
    fig = E.redraw(s)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert "UPOS" in fig.xit_title and "runs/" in fig.xit_source
    fig.savefig(tmp_path / "explorer.png")
    assert (tmp_path / "explorer.png").stat().st_size > 5000
    from dataclasses import replace

    t = E.redraw(replace(s, task="tatoeba", metric="top1", phase="intermediate", conditions=("en-qa",)))
    assert "Tatoeba" in t.xit_title and "(3 runs)" in t.xit_source  # one run dir per seed
    nothing = E.redraw(replace(s, conditions=()))
    assert "nothing matches" in nothing.axes[0].texts[0].get_text() and "0 runs" in nothing.xit_source


def test_options_per_task(df):
    o = E.options(df, "tatoeba")
    assert o["metrics"] == ["top1"] and o["phases"] == ["mlm", "intermediate", "target"]
    assert E.options(df)["tasks"][:3] == ["pos", "ner", "tatoeba"]


def test_widgets_are_wired_to_redraw(df, monkeypatch):
    pytest.importorskip("ipywidgets")
    drawn = []
    real = E.redraw
    monkeypatch.setattr(E, "redraw", lambda state: drawn.append(state) or real(state))
    box = E.build_widgets(df)
    assert drawn and drawn[-1].task == "pos"  # initial rendering
    w = box.xit_controls
    w["task"].value = "tatoeba"  # a task change resets metric/phase/conditions, then redraws once
    assert w["metric"].value == "top1" and w["phase"].value == "target"
    assert drawn[-1].task == "tatoeba" and drawn[-1].metric == "top1"
    n = len(drawn)
    w["conditions"].value = ("en-qa",)
    assert len(drawn) == n + 1 and drawn[-1].conditions == ("en-qa",)
    w["phase"].value = "mlm"
    assert drawn[-1].phase == "mlm"
    assert box.xit_current().languages == drawn[-1].languages


def test_seed_filter_keeps_asked_seeds_and_shared_rows(df):
    assert E.options(df, "pos")["seeds"] == [1, 2, 3]
    out = E.filter_results(df, None, ["de"], "pos", "accuracy", "target", seeds=[2])
    runs = out[~out.condition.str.startswith("baseline:")]
    assert set(runs.seed) == {2} and len(runs) == 4  # four conditions, seed 2 only
    assert set(out[out.condition.str.startswith("baseline:")].seed) == {0}  # baselines: shared by every seed
    tat = E.filter_results(df, ["en-qa"], None, "tatoeba", "top1", "mlm", seeds=[3])
    assert set(tat.seed) == {0} and len(tat)  # the shared MLM checkpoint's rows stay
    assert (
        E.filter_results(df, None, None, "pos", "accuracy", "target", seeds=[])
        .condition.str.startswith("baseline:")
        .all()
    )
    from dataclasses import replace

    s = replace(E.default_state(df), conditions=("en-qa",), seeds=(1, 3))
    assert set(E.selection(s).seed) == {1, 3}
    assert "(2 runs)" in E.redraw(s).xit_source


def test_export_writes_png_and_csv_of_the_selection(df, tmp_path):
    from dataclasses import replace

    import pandas as pd

    s = replace(E.default_state(df), conditions=("en-qa", "ml-qa"), languages=("de", "fr"), seeds=(2,))
    png, csv = E.export(s, tmp_path / "out")
    assert png.parent == csv.parent == tmp_path / "out" and png.stem == csv.stem
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    rows = pd.read_csv(csv)
    want = df[
        (df.task == "pos")
        & (df.metric == "accuracy")
        & (df.phase == "target")
        & df.condition.isin(["en-qa", "ml-qa"])
        & df.language.isin(["de", "fr"])
        & (df.seed == 2)
    ]
    assert len(rows) == len(want) == 4
    key = ["condition", "language", "seed"]
    got = rows.sort_values(key).reset_index(drop=True)
    assert got[key + ["value"]].equals(want.sort_values(key).reset_index(drop=True)[key + ["value"]])
    assert E.export(s, tmp_path / "out") == (png, csv)  # same selection: same files
    other = E.export(replace(s, seeds=(1,)), tmp_path / "out")
    assert other[0] != png and len(list((tmp_path / "out").iterdir())) == 4


def test_widgets_seed_selector_and_save_button(df, tmp_path):
    pytest.importorskip("ipywidgets")
    box = E.build_widgets(df, export_dir=tmp_path / "exp")
    w = box.xit_controls
    assert w["seeds"].options == (1, 2, 3) and w["seeds"].value == (1, 2, 3)
    w["seeds"].value = (3,)
    w["conditions"].value = ("en-copa",)
    assert box.xit_current().seeds == (3,)
    w["save"].click()
    files = sorted((tmp_path / "exp").iterdir())
    assert [f.suffix for f in files] == [".csv", ".png"] and "saved" in w["saved"].value
    import pandas as pd

    rows = pd.read_csv(files[0])
    assert set(rows.condition) == {"en-copa"} and set(rows.seed) == {3}
