"""Every step key of every shipped preset, against the list recorded when the keys were last meant to change.

A step key hashes the config a step depends on: if one changes, every finished run of that step is silently
orphaned. A refactor must leave this test green; a deliberate change regenerates the list (see below) and says
why in its commit message.

    python tests/test_step_keys.py > tests/fixtures/step_keys.tsv
"""

from __future__ import annotations

import sys
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "step_keys.tsv"
PRESETS = ("smoke", "e5-small", "gpu-small", "paper")


def current_keys(runs_dir: str = "runs") -> list[str]:
    from xitcore.config import load_condition, preset_conditions
    from xitcore.pipeline import condition_graph

    lines = set()
    for preset in PRESETS:
        for path in preset_conditions(preset):
            for node in condition_graph(load_condition(path, {}), runs_dir).nodes:
                lines.add(f"params/{preset}/{path.name}\t{node.kind}\t{node.rel}")
    return sorted(lines)


def test_step_keys_unchanged(tmp_path):
    want = FIXTURE.read_text().splitlines()
    got = current_keys(str(tmp_path))
    missing, new = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    assert not missing and not new, (
        f"step keys changed: {len(missing)} gone (first {missing[:3]}), {len(new)} new (first {new[:3]})"
    )


def test_graph_builds_without_writing(tmp_path):
    current_keys(str(tmp_path))
    assert not any(tmp_path.iterdir())


if __name__ == "__main__":
    sys.stdout.write("\n".join(current_keys()) + "\n")
