"""Local `evaluate` module: seqeval entity-span precision/recall/F1 (CoNLL-style NER score).

Loaded by path, offline: ``xitcore.metrics.load_metric("seqeval_f1")``.
The numbers come from ``xitcore.metrics.span_f1``, which reads the entities with the ``seqeval`` package;
``mode`` is seqeval's: "default" (as conlleval, CoNLL-2002 and XTREME's PAN-X; the default here, as in
seqeval and Hugging Face's ``seqeval`` metric) or "strict" (``mode="strict", scheme=IOB2``).
"""

import datasets
import evaluate

from xitcore.metrics import span_f1

_DESCRIPTION = """\
Entity-level precision, recall and F1 for IOB2-tagged sequences (named entities, chunks), computed
with the seqeval package. A predicted entity is correct only if a gold entity has exactly the same
start, end and type. mode="default" (seqeval's default, the conlleval reading used by CoNLL-2002 and
XTREME's PAN-X): an I-X that does not continue an entity of type X starts a new entity.
mode="strict" (seqeval mode="strict", scheme=IOB2): an entity must start with B-X, so such a stray
I-X is no entity. ``types`` restricts scoring to some entity types: labels of other types are read
as O in both references and predictions.
"""

_CITATION = """\
@inproceedings{tjong-kim-sang-2002-introduction,
  title={Introduction to the {CoNLL}-2002 Shared Task: Language-Independent Named Entity Recognition},
  author={Tjong Kim Sang, Erik F.},
  booktitle={COLING-02: The 6th Conference on Natural Language Learning 2002 (CoNLL-2002)},
  year={2002}
}
@misc{seqeval,
  title={{seqeval}: A Python framework for sequence labeling evaluation},
  author={Hiroki Nakayama},
  year={2018},
  url={https://github.com/chakki-works/seqeval}
}
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions: list of sentences, each a list of predicted IOB2 tags (str).
    references: list of sentences, each a list of gold IOB2 tags (str), same lengths as predictions.
    types: optional iterable of entity types to score (others are treated as O); default all.
    mode: "default" (seqeval's default = conlleval; the default) or "strict" (IOB2).
Returns:
    precision, recall, f1: micro-averaged over entities, 0..1 (0.0 where undefined).
    n_gold, n_pred, n_correct: entity counts.
    per_type: {type: {precision, recall, f1, support, n_pred, n_correct}}.
    mode: the mode used.
Examples:
    >>> metric = xitcore.metrics.load_metric("seqeval_f1")
    >>> metric.compute(predictions=[["B-PER", "O"]], references=[["B-PER", "O"]])["f1"]
    1.0
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SeqevalF1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string")),
                    "references": datasets.Sequence(datasets.Value("string")),
                }
            ),
        )

    def _compute(self, predictions, references, types=None, mode="default"):
        return span_f1(references, predictions, types=None if types is None else set(types), mode=mode)
