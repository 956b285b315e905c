"""Tasks, jiant-style: one module per task kind, each owning load -> featurise -> collate -> head -> loss ->
predict -> score, and one registry row per task (:mod:`xitcore.tasks.registry`).

Kind modules: :mod:`~xitcore.tasks.tagging` (token tagging: UPOS, NER, UD relations, chunks, CCG supertags),
:mod:`~xitcore.tasks.classification` (sentences and sentence pairs), :mod:`~xitcore.tasks.multiple_choice`,
:mod:`~xitcore.tasks.qa` (span extraction), :mod:`~xitcore.tasks.retrieval` (sentence retrieval, no training)
and :mod:`~xitcore.tasks.mlm` (masked language modelling data). The fine-tuning kinds share one interface:
``featurise(tokenizer, examples, labels, max_length)``, ``feature_length(f)``, ``collate(features, pad_id)``,
``make_head(hidden, num_labels, dropout)``, ``loss(model, task, batch, device)``, ``loss_units(feature)``.
Imports point one way: data -> tasks -> model/train -> pipeline -> cli/book.
"""

from types import ModuleType

from ..errors import ConfigError
from . import classification, mlm, multiple_choice, qa, tagging
from .registry import (
    HEADLINE,
    HUB_TARGETS,
    INTERMEDIATE,
    KINDS,
    METRICS,
    PAPER_INTERMEDIATE,
    SHIPPED_INTERMEDIATE,
    SHIPPED_TARGETS,
    TARGETS,
    TASKS,
    HubSource,
    Task,
    check_language,
    english_dev,
    get_task,
    headline_metrics,
    hub_source,
    is_labelled,
    item_key,
    load_dev,
    load_eval,
    load_hub_examples,
    load_pretrain,
    load_task_examples,
    load_train,
    load_translate_train,
    metric_for,
    task_labels,
    translate_train_exists,
    translated_variant_exists,
)

FINE_TUNING_KINDS: dict[str, ModuleType] = {
    "tagging": tagging,
    "classification": classification,
    "multiple_choice": multiple_choice,
    "qa": qa,
    "mlm": mlm,  # only as the MLM share of intermediate.mlm_mix (its head is the checkpoint's own MLM head)
}


def kind_module(kind: str) -> ModuleType:
    """The module that featurises, collates, heads and losses a task kind (see the module docstring)."""
    if kind not in FINE_TUNING_KINDS:
        raise ConfigError(f"task kind '{kind}' is unknown; allowed: {', '.join(FINE_TUNING_KINDS)}")
    return FINE_TUNING_KINDS[kind]


__all__ = [
    "FINE_TUNING_KINDS",
    "HEADLINE",
    "HUB_TARGETS",
    "INTERMEDIATE",
    "PAPER_INTERMEDIATE",
    "SHIPPED_INTERMEDIATE",
    "KINDS",
    "METRICS",
    "SHIPPED_TARGETS",
    "TARGETS",
    "TASKS",
    "HubSource",
    "Task",
    "check_language",
    "english_dev",
    "get_task",
    "headline_metrics",
    "hub_source",
    "is_labelled",
    "item_key",
    "kind_module",
    "load_dev",
    "load_eval",
    "load_pretrain",
    "load_hub_examples",
    "load_task_examples",
    "load_translate_train",
    "load_train",
    "metric_for",
    "task_labels",
    "translate_train_exists",
    "translated_variant_exists",
]
