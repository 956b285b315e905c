"""Item-level overlap between the shipped training data and the shipped evaluated sets, for every task.

The train/test guard (pipeline.check_train_test_overlap) refuses a condition by declared set (a task's shipped
data ``trains_on`` a set a target ``evaluates``) and item by item (xitcore/overlap.py: whitespace-normalised,
case-folded texts). This audit prints the item-level table for every shipped intermediate task and both data
variants, so the declarations can be checked against the text: declared overlaps (*) should be large; anything
else is a coincidence of short sentences, which a condition that evaluates that set must allow explicitly
(``eval.allow_overlap``) and its book chapter flags.

    .venv/bin/python scripts/audit_overlap.py
"""

from __future__ import annotations

from xitcore import overlap
from xitcore.tasks import SHIPPED_INTERMEDIATE, TASKS


def main() -> None:
    print(f"{'task':<10} {'data':<11} {'texts':>6}  shared with an evaluated set (declared: *)")
    for task in SHIPPED_INTERMEDIATE:
        for data in ("en", "translated") if TASKS[task].translated else ("en",):
            train = overlap.training_items(task, data)
            shared = {name: overlap.shared_items(task, data, name) for name in overlap.SHIPPED_EVALUATED}
            cells = ", ".join(
                f"{name}{'*' if name in TASKS[task].trains_on else ''} {len(items)}"
                for name, items in shared.items()
                if items
            )
            print(f"{task:<10} {data:<11} {len(train):>6}  {cells or '-'}")


if __name__ == "__main__":
    main()
