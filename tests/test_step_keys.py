"""Every step key of every shipped preset, against the list recorded when the keys were last meant to change.

A step key hashes the config a step depends on: if one changes, every finished run of that step is silently
orphaned. A refactor must leave this test green; a deliberate change regenerates the list (see below) and says
why in its commit message.

    python tests/test_step_keys.py > tests/fixtures/step_keys.tsv
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

FIXTURE = Path(__file__).parent / "fixtures" / "step_keys.tsv"
PRESETS = ("smoke", "e5-small", "gpu-small", "paper")


def current_keys(runs_dir: str = "runs") -> list[str]:
    from xitcore import model
    from xitcore.config import load_condition, preset_conditions
    from xitcore.pipeline import condition_graph

    # `precision: auto` resolves per machine (bf16 keys on a CPU with AMX/AVX512-BF16): the list is recorded for a
    # CPU without bf16 units, so it is the same on every machine; the bf16 keys differ only by that one field.
    saved = dict(model._PRECISION_CACHE)
    model._PRECISION_CACHE["cpu"] = ("fp32", "auto: CPU without bf16 matrix units (pinned by test_step_keys)")
    try:
        lines = set()
        for preset in PRESETS:
            for path in preset_conditions(preset):
                for node in condition_graph(load_condition(path, {}), runs_dir).nodes:
                    lines.add(f"params/{preset}/{path.name}\t{node.kind}\t{node.rel}")
    finally:
        model._PRECISION_CACHE.clear()
        model._PRECISION_CACHE.update(saved)
    return sorted(lines)


def test_step_keys_unchanged(tmp_path):
    want = FIXTURE.read_text().splitlines()
    got = current_keys(str(tmp_path))
    missing, new = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    assert not missing and not new, (
        f"step keys changed: {len(missing)} gone (first {missing[:3]}), {len(new)} new (first {new[:3]})"
    )


def keys_by_kind(cfg, runs_dir) -> dict[str, set[str]]:
    from xitcore.pipeline import condition_graph

    out: dict[str, set[str]] = {}
    for node in condition_graph(cfg, str(runs_dir)).nodes:
        out.setdefault(node.kind, set()).add(node.rel)
    return out


def test_bf16_cpu_changes_only_the_keys_of_auto_precision_presets(tmp_path, monkeypatch):
    from xitcore import model
    from xitcore.config import load_condition

    path = Path(__file__).parents[1] / "params" / "e5-small" / "en-qa.yaml"
    cfg = load_condition(path, {})
    assert cfg.precision == "auto"
    monkeypatch.setitem(model._PRECISION_CACHE, "cpu", ("fp32", "pinned"))
    fp32 = keys_by_kind(cfg, tmp_path)
    monkeypatch.setitem(model._PRECISION_CACHE, "cpu", ("bf16", "pinned"))
    bf16 = keys_by_kind(cfg, tmp_path)
    # numerics change under bf16, so the trained steps get new keys; the shared data steps do not
    for kind in ("intermediate", "target", "tatoeba"):
        assert not fp32[kind] & bf16[kind], kind
    # e5 loaded as shipped (mlm.steps 0) and its frozen layers' output (computed in fp32) are shared by both
    for kind in ("encoder", "corpus", "tokenizer", "mlm", "frozen"):
        assert fp32[kind] == bf16[kind], kind


def test_graph_builds_without_writing(tmp_path):
    current_keys(str(tmp_path))
    assert not any(tmp_path.iterdir())


if __name__ == "__main__":
    sys.stdout.write("\n".join(current_keys()) + "\n")
