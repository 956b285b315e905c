"""Offline compute nodes: scripts/prefetch.py fetches what a preset's runs read from the hub (found by the
pipeline's own loaders), and with HF_HUB_OFFLINE/HF_DATASETS_OFFLINE a prefetched data set is read from the cache."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

from xitcore.config import load_condition, preset_conditions
from xitcore.errors import DataError
from xitcore.plan import Assumptions, build_plan


def _script():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import prefetch
    finally:
        sys.path.remove(str(REPO / "scripts"))
    return prefetch


def test_prefetch_list_names_the_plans_hub_data_offline(tmp_path):
    hf = tmp_path / "hf"
    hf.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(hf)}
    env.pop("XIT_PARAMS_ROOT", None)
    p = subprocess.run(
        [sys.executable, "scripts/prefetch.py", "paper", "--list"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert not any(hf.iterdir())  # nothing downloaded or written
    lines = p.stdout.splitlines()
    listed = set()
    for l in lines:
        if l.startswith("data "):
            name, split = l[len("data ") :].rsplit(" split=", 1)
            listed.add((name.replace(" ", "/"), split))
    # the plan reads the registry's hub sources; the script ran the loaders: the same intermediate data
    plan = build_plan([load_condition(q) for q in preset_conditions("paper")], tmp_path / "runs", Assumptions(table=()))
    planned = {
        tuple(d.split(": hub: ", 1)[1].split(" (")[0].split(" split="))
        for d in plan.datasets
        if d.startswith("intermediate ") and ": hub: " in d and " + " not in d and "<lang>" not in d
    }
    assert len(planned) == 7 and planned <= listed
    # ANLI+'s three parts; XTREME translate-train per language; the XTREME targets' train, English dev and test
    assert {("stanfordnlp/snli", "train"), ("facebook/anli", "train_r1+train_r2+train_r3")} <= listed
    assert ("facebook/xnli/de", "train") in listed and ("juletxara/xquad_xtreme/hi", "translate_train") in listed
    assert {("google/xtreme/udpos.English", s) for s in ("train", "validation")} <= listed
    assert ("google/xtreme/udpos.German", "test") in listed and ("google/xtreme/tydiqa", "validation") in listed
    assert ("nyu-mll/glue/mnli", "validation_matched") in listed  # XNLI early-stops on MNLI's dev set
    assert [l for l in lines if l.startswith("model ")] == [
        "model xlm-roberta-large",
        "model facebook/m2m100_418M",
        "model facebook/nllb-200-distilled-600M",
    ]
    notes = [l for l in lines if l.startswith("note: ")]
    assert len(notes) == 3 and "en-ccg, en-multitask" in notes[0] and "XIT_CCGBANK" in notes[0]
    assert notes[1].startswith("note: BUCC 2018:") and "XIT_BUCC2018" in notes[1]
    assert "en-squad-mlm, ml-mlm-mc4" in notes[2] and "corpus.mc4_files" in notes[2]
    assert lines[-1].startswith(f"would fetch 3 model(s) and {len(listed)} data split(s) into ")


def test_prefetch_fetches_through_the_loaders(tmp_path, monkeypatch, capsys):
    """Hub targets: first stage, training, English dev (early stopping) and each language's test split."""
    import huggingface_hub

    from xitcore.tasks import registry

    prefetch = _script()
    reads, downloads = [], []
    monkeypatch.setattr(registry, "load_hub_rows", lambda task, *src: reads.append(src) or [])
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "model.safetensors").write_text("")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo, **kw: downloads.append((repo, kw)) or snap)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    over = ["target.tasks=[xcopa]", "eval.xcopa_languages=[it,tr]"]
    assert prefetch.main(["paper", "--only", "en-mnli", *sum((["--set", s] for s in over), [])]) == 0
    out = capsys.readouterr().out
    assert reads == [
        ("nyu-mll/glue", "mnli", "train"),  # the intermediate task (backend hub)
        ("allenai/social_i_qa", None, "train"),  # XCOPA's first stage, SIQA
        ("aps/super_glue", "copa", "train"),  # then COPA
        ("aps/super_glue", "copa", "validation"),  # its English dev set: early stopping
        ("cambridgeltl/xcopa", "it", "test"),
        ("cambridgeltl/xcopa", "tr", "test"),
    ]
    assert downloads == [("xlm-roberta-large", {"allow_patterns": prefetch.MODEL_FILES})]
    assert f"model xlm-roberta-large: {snap}" in out and "data nyu-mll/glue mnli split=train: 0 rows" in out
    assert f"fetched 1 model(s) and 6 data split(s) into {tmp_path / 'hf'}" in out


def _prefetched_cache(root, dataset: str, config: str, rows: list[dict]):
    """A data set laid out as ``datasets`` caches a hub download:
    <root>/<ns>___<name>/<config>/0.0.0/<hash>/<name>-train.arrow."""
    from datasets.packaged_modules.json.json import Json

    ns, name = dataset.split("/")
    src = root.parent / "src.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    b = Json(cache_dir=str(root / "build"), dataset_name=name, config_name=config, data_files={"train": str(src)})
    b.download_and_prepare()
    built = next((root / "build").rglob("dataset_info.json")).parent
    target = root / f"{ns}___{name}" / config / "0.0.0" / "0123456789abcdef"
    target.parent.mkdir(parents=True)
    shutil.copytree(built, target, ignore=shutil.ignore_patterns("*.lock"))
    info = json.loads((target / "dataset_info.json").read_text())
    (target / "dataset_info.json").write_text(json.dumps({**info, "config_name": config}))
    shutil.rmtree(root / "build")


def test_an_offline_node_reads_prefetched_data_from_the_cache(tmp_path, monkeypatch):
    from xitcore.tasks import io

    cache = tmp_path / "hf" / "datasets"
    cache.mkdir(parents=True)
    rows = [{"premise": f"p{i}", "hypothesis": "h", "label": i % 3} for i in range(4)]
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    _prefetched_cache(cache, "someorg/tinynli", "plain", rows)
    assert io.datasets_cache_dir("someorg/tinynli") == cache / "someorg___tinynli"
    assert io.load_hub_rows("nli", "someorg/tinynli", "plain", "train") == rows
    with pytest.raises(DataError) as e:  # fetched, but not this config
        io.load_hub_rows("nli", "someorg/tinynli", "other", "train")
    assert "\n" not in str(e.value) and "is not in the offline cache" in str(e.value)
    assert str(e.value).endswith("fetch it where the hub is reachable: scripts/prefetch.py")
    with pytest.raises(DataError, match="needs huggingface.co, which is unreachable; .*scripts/prefetch.py"):
        io.load_hub_rows("nli", "someorg/never-fetched", "plain", "train")
