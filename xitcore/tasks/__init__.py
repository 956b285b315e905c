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

#: intermediate tasks whose translated data can be drawn from chosen languages (intermediate.language_folds), with
#: the languages it has
FOLD_LANGUAGES: dict[str, tuple[str, ...]] = {"deprel": tuple(tagging.DEPREL_LANGUAGES)}

#: tasks whose labels are gold syntax: no run may train on them in a language whose POS or NER it scores
#: (pipeline.check_in_language_syntax)
SYNTAX_TASKS = ("deprel", "chunk", "ccg", "pos", "udpos")


def load_fold_examples(name: str, languages: list[str]) -> tuple[Task, list[dict]]:
    """(task, translated training examples of ``name`` drawn from ``languages`` only, size-matched to its English
    data): one fold of intermediate.language_folds."""
    if name not in FOLD_LANGUAGES:
        raise ConfigError(f"task '{name}' has no per-language loader; allowed: {', '.join(FOLD_LANGUAGES)}")
    return get_task(name), tagging.load_deprel("translated", languages)


def syntax_languages(name: str, data: str, backend: str = "local") -> set[str]:
    """The languages whose gold syntax intermediate task ``name`` trains on with ``data`` (empty for a task whose
    labels are not syntax): English, or its translated data's languages."""
    if name not in SYNTAX_TASKS:
        return set()
    task = get_task(name)
    if data != "translated" or (backend == "hub" and task.hub_dataset is not None):
        return {"en"}
    return set(FOLD_LANGUAGES.get(name, ("en",)))


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
    "FOLD_LANGUAGES",
    "SYNTAX_TASKS",
    "load_fold_examples",
    "syntax_languages",
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
