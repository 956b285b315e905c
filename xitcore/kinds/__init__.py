"""Full-scale task kinds: one module per kind (loaders for the released file formats, hub row mappers,
features for a fast XLM-R tokenizer, metrics) and the registry of XTREME-R targets and the paper's nine
English intermediate tasks. See :mod:`xitcore.kinds.registry`."""
from .registry import (INTERMEDIATE, KINDS, METRICS, TARGETS, TASKS, HubSource, TaskDef, check_language,
                       get_task_def, hub_source, load_hub_examples, metric_for)

__all__ = ["INTERMEDIATE", "KINDS", "METRICS", "TARGETS", "TASKS", "HubSource", "TaskDef", "check_language",
           "get_task_def", "hub_source", "load_hub_examples", "metric_for"]
