"""`xit results` filters and narrow view, `xit keys`, and their one-line errors (rc 2)."""

from __future__ import annotations

import re

import pytest
from book_synthetic import synthetic_results

from xitcore import cli
from xitcore.results import filter_results, results_view


def run(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def df():
    return synthetic_results(conditions=["no-intermediate", "en-qa", "ml-qa"])


@pytest.mark.quick
def test_empty_or_missing_run_store_is_one_error_line(capsys, tmp_path):
    for store in (tmp_path / "missing", tmp_path):
        rc, out, err = run(capsys, "--runs-dir", str(store), "results")
        assert rc == 2 and out == ""
        assert err == (
            f"xit: error: run store '{store}' has no results (no condition index under {store / 'index'}); "
            "run a condition first, e.g. xit run params/smoke/no-intermediate.yaml\n"
        )


@pytest.mark.quick
def test_unknown_values_name_what_is_allowed(df):
    from xitcore.errors import DataError

    with pytest.raises(DataError, match=r"^--preset: preset 'nope' is unknown; presets with results: smoke$"):
        filter_results(df, "runs", preset="nope")
    with pytest.raises(DataError, match=r"^--preset: preset 'paper' has no results in 'runs'; presets with results"):
        filter_results(df, "runs", preset="paper")  # a params folder, never run
    with pytest.raises(DataError, match=r"^--condition: condition\(s\) en-xx not in the results; allowed: .*en-qa"):
        filter_results(df, "runs", conditions=["en-qa", "en-xx"])
    with pytest.raises(DataError, match=r"^--task: task\(s\) posx not in the results; allowed: mlm, ner, pos, tatoeba"):
        filter_results(df, "runs", tasks=["posx"])
    with pytest.raises(DataError, match=r"^--language: language\(s\) xx not in the results; allowed: all, ar, avg"):
        filter_results(df, "runs", languages=["xx"])


@pytest.mark.quick
def test_filters_keep_only_the_asked_rows(df):
    out = filter_results(df, "runs", preset="smoke", conditions=["en-qa"], tasks=["pos"], languages=["de", "avg"])
    assert set(out.condition) == {"en-qa"} and set(out.task) == {"pos"} and set(out.language) == {"de", "avg"}
    assert len(out) == len(df[(df.condition == "en-qa") & (df.task == "pos") & df.language.isin(["de", "avg"])])


@pytest.mark.quick
def test_narrow_default_view(df):
    table = results_view(df)
    assert list(table.columns) == ["seeds", "POS en", "POS avg", "NER en", "Tatoeba avg"]
    assert list(table.index) == ["no-intermediate", "en-qa", "ml-qa", "baseline:majority", "baseline:punct-majority"]
    assert table.loc["en-qa", "seeds"] == "3" and table.loc["baseline:majority", "seeds"] == ""
    pos = df[(df.condition == "en-qa") & (df.task == "pos") & (df.language == "avg") & (df.metric == "accuracy")]
    assert table.loc["en-qa", "POS avg"] == f"{pos.value.mean():.1f}±{pos.value.std():.1f}"
    assert max(len(line) for line in table.to_string().splitlines()) < 100
    per_lang = results_view(df[df.language.isin(["de", "fr"])], languages=["de", "fr"])
    assert [c for c in per_lang.columns if c.startswith("POS")] == ["POS de", "POS fr"]
    ner = results_view(df[df.task == "ner"], tasks=["ner"])
    assert list(ner.columns) == ["seeds", "NER en", "NER es", "NER nl"]


def test_results_on_real_runs(capsys, tiny_runs):
    rc, out, err = run(capsys, "--runs-dir", str(tiny_runs), "results")
    assert rc == 0, err
    lines = out.splitlines()
    assert max(map(len, lines)) <= 120 and "POS avg" in lines[0] and any(ln.startswith("none ") for ln in lines)
    rc, out, _ = run(capsys, "--runs-dir", str(tiny_runs), "results", "--preset", "tiny", "--task", "pos", "--csv")
    rows = out.splitlines()
    assert rc == 0 and rows[0].startswith("preset,condition,seed") and len(rows) > 2
    assert all(r.split(",")[4] == "pos" and r.split(",")[0] == "tiny" for r in rows[1:])
    rc, out, err = run(capsys, "--runs-dir", str(tiny_runs), "results", "--preset", "nope")
    assert rc == 2 and out == ""
    assert err == "xit: error: --preset: preset 'nope' is unknown; presets with results: tiny\n"
    rc, out, err = run(capsys, "--runs-dir", str(tiny_runs), "results", "--condition", "en-qa")
    assert (
        rc == 2
        and err
        == "xit: error: --condition: condition(s) en-qa not in the results; allowed: "
        + ", ".join(sorted({ln.split(",")[1] for ln in rows[1:]} | {"none"}))
        + "\n"
    )


@pytest.mark.quick
def test_keys_lists_every_key_with_type_default_help(capsys):
    rc, out, _ = run(capsys, "keys")
    assert rc == 0
    assert re.search(r"^target\.early_stopping +bool +False +train as jiant did", out, re.M)
    assert re.search(r"^tokenizer\.vocab_size +int +8000 +vocabulary size when training$", out, re.M)
    assert re.search(r"^target\.tasks +list\[str\] +\[\"pos\", \"ner\"\] +English target tasks", out, re.M)
    rc, section, _ = run(capsys, "keys", "target")
    assert rc == 0 and section.strip() and all(ln.startswith("target.") for ln in section.splitlines())
    assert "target.early_stopping" in section and "mlm." not in section


@pytest.mark.quick
def test_keys_unknown_section_is_one_line(capsys):
    rc, out, err = run(capsys, "keys", "targets")
    assert rc == 2 and out == ""
    assert err.startswith("xit: error: params section 'targets' is unknown; allowed: analysis, backend, compile, ")
    assert err.count("\n") == 1 and "target, tokenizer" in err


@pytest.mark.quick
def test_run_help_mentions_keys(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    out = capsys.readouterr().out
    assert "xit keys" in " ".join(out.split())
