"""Fetch every hub model and data set a preset's runs read, into the Hugging Face cache, for offline compute nodes.

Run it on a machine that reaches huggingface.co (a cluster's login node) with ``HF_HOME`` on storage the compute
nodes share; run the grid there with ``HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1`` and the same ``HF_HOME``:

    export HF_HOME=/shared/$USER/hf
    .venv/bin/python scripts/prefetch.py paper                 # every condition of params/paper/
    .venv/bin/python scripts/prefetch.py paper --only en-mnli  # some of them
    .venv/bin/python scripts/prefetch.py paper --list          # what it would fetch, offline, nothing downloaded

Data sets are found by running the pipeline's own loaders (``xitcore.tasks``: the intermediate tasks' training
data with ``backend: hub``; a hub target's first-stage, training, English dev and per-language test data), so the
list is the one the runs read. Models: ``model.init`` and ``tokenizer.source`` when they are hub ids, and
``intermediate.mt_model`` for ``data: mt`` (config, tokenizer and safetensors weights only). Not fetched: CCGbank
(LDC-licensed: ``XIT_CCGBANK``) and an mC4 corpus streamed from the hub (give ``corpus.mc4_files`` instead).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xitcore.errors import XitError  # noqa: E402

MODEL_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "tokenizer*"]  # no TF/Flax/ONNX copies


def hub_models(cfg) -> list[str]:
    """Hub ids (not local directories) of the models and tokenizers ``cfg`` loads."""
    names = []
    if cfg.model.init not in ("scratch",) and not cfg.model.init.startswith("packaged:"):
        names.append(cfg.model.init)
    if cfg.tokenizer.source not in ("train", "model"):
        names.append(cfg.tokenizer.source)
    if cfg.intermediate.kind in ("task", "multitask") and cfg.intermediate.data == "mt":
        names.append(cfg.intermediate.mt_model)
    return [n for n in dict.fromkeys(names) if not Path(n).is_dir()]


def data_loads(cfg) -> list[tuple[str, tuple]]:
    """The loader calls (function name in xitcore.tasks, arguments) that read hub data for ``cfg``."""
    from xitcore import tasks

    calls = []
    if cfg.intermediate.kind in ("task", "multitask") and cfg.backend == "hub":
        for name in cfg.intermediate.tasks:
            if tasks.get_task(name).hub_dataset is not None:
                data = "tt" if cfg.intermediate.data == "tt" else "en"  # tt: English and translate-train sets
                calls.append(("load_task_examples", (name, data, "hub")))
    tc = cfg.target
    for t in tc.tasks:
        if t in ("pos", "ner"):  # shipped
            continue
        calls.append(("load_pretrain", (t, tc.max_train_examples)))
        calls.append(("load_train", (t, tc.max_train_examples)))
        if tc.early_stopping:
            calls.append(("load_dev", (t,)))
        calls += [("load_eval", (t, lang)) for lang in cfg.eval.languages_of(t)]
    return calls


def notes(cfgs) -> list[str]:
    """What the runs need that no hub has, each said once."""
    out = []
    ccg = [c.condition for c in cfgs if "ccg" in c.intermediate.tasks]
    if ccg:
        out.append(
            f"CCGbank: {', '.join(ccg)} need CCGbank (LDC2005T13), LDC-licensed and not on the hub: put your copy on "
            "shared storage and set XIT_CCGBANK to its directory of .auto files (sections 02-21)"
        )
    bucc = [c.condition for c in cfgs if c.eval.bucc2018_languages and not c.eval.bucc2018_dir]
    if bucc:
        out.append(
            f"BUCC 2018: {len(bucc)} condition(s) mine bitext from XTREME's BUCC 2018 files, which no hub holds in "
            "full (google/xtreme bucc18.* rows are the gold pairs alone): fetch them with google-research/xtreme "
            "scripts/download_data.sh and set XIT_BUCC2018 to their directory"
        )
    mc4 = [c.condition for c in cfgs if c.corpus.source == "mc4" and not c.corpus.mc4_files]
    if mc4:
        out.append(f"mC4: {', '.join(mc4)} stream their corpus from the hub: set corpus.mc4_files for offline nodes")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("preset", help="preset name: a folder of params/")
    p.add_argument("--only", help="comma-separated condition names")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="params override, as in xit run")
    p.add_argument("--list", action="store_true", help="only list what would be fetched (offline; nothing written)")
    a = p.parse_args(argv)

    from xitcore import tasks
    from xitcore.cli import _overrides
    from xitcore.config import load_condition, preset_conditions
    from xitcore.tasks import registry

    try:
        paths = preset_conditions(a.preset)
        if a.only:
            wanted = a.only.split(",")
            unknown = sorted(set(wanted) - {q.stem for q in paths})
            if unknown:
                raise XitError(f"--only: {', '.join(unknown)} unknown; allowed: {', '.join(q.stem for q in paths)}")
            paths = [q for q in paths if q.stem in wanted]
        cfgs = [load_condition(q, _overrides(a.set)) for q in paths]
    except XitError as e:
        print(f"prefetch: error: {e}", file=sys.stderr)
        return 2
    models = list(dict.fromkeys(m for c in cfgs for m in hub_models(c)))
    loads = list(dict.fromkeys(call for c in cfgs for call in data_loads(c)))
    seen: dict[tuple, int] = {}  # (dataset, config, split) -> rows

    real_rows = registry.load_hub_rows

    def rows(task, dataset, config, split):
        key = (dataset, config, split)
        if a.list:
            seen.setdefault(key, 0)
            return []
        got = real_rows(task, dataset, config, split)
        seen[key] = len(got)
        return got

    registry.load_hub_rows = rows  # every hub read of the loaders goes through here
    try:
        for fn, args in loads:
            getattr(tasks, fn)(*args)
    except XitError as e:
        print(f"prefetch: error: {e}", file=sys.stderr)
        return 2
    finally:
        registry.load_hub_rows = real_rows
    cache = os.environ.get("HF_HOME") or "~/.cache/huggingface (HF_HOME unset)"
    for m in models:
        if a.list:
            print(f"model {m}")
            continue
        from huggingface_hub import snapshot_download

        where = snapshot_download(m, allow_patterns=MODEL_FILES)
        if not list(Path(where).glob("*.safetensors")):  # an older repo: PyTorch .bin weights instead
            where = snapshot_download(m, allow_patterns=[*MODEL_FILES, "*.bin"])
        print(f"model {m}: {where}")
    for (dataset, config, split), n in seen.items():
        name = dataset + (f" {config}" if config else "")
        print(f"data {name} split={split}" + ("" if a.list else f": {n:,} rows"))
    for line in notes(cfgs):
        print(f"note: {line}")
    verb = "would fetch" if a.list else "fetched"
    print(f"{verb} {len(models)} model(s) and {len(seen)} data split(s) into {cache}")
    if not a.list:
        print("compute nodes: the same HF_HOME, and HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
