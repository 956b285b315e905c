"""Local `evaluate` module: token accuracy for POS tagging (and, optionally, XTREME's seqeval F1).

Loaded by path, offline: ``xitcore.metrics.load_metric("pos_accuracy")``.
The numbers come from the pure functions in ``xitcore.metrics``.
"""

import datasets
import evaluate

from xitcore.metrics import pos_accuracy, xtreme_seqeval_f1

_DESCRIPTION = """\
Token-level accuracy of part-of-speech tags: the fraction of words whose predicted tag equals the
gold tag, over all words of all sentences (micro average). With ``include_xtreme_seqeval_f1=True``
it also returns the number XTREME's run_tag.py reports as "f1" for UD-POS: seqeval's default-mode
chunk F1 over the raw UPOS labels, which scores maximal runs of identical tags, not single words
(see ``xitcore.metrics.xtreme_seqeval_f1``).
"""

_CITATION = """\
@inproceedings{hu2020xtreme,
  title={{XTREME}: A Massively Multilingual Multi-task Benchmark for Evaluating Cross-lingual Generalization},
  author={Hu, Junjie and Ruder, Sebastian and Siddhant, Aditya and Neubig, Graham and Firat, Orhan and Johnson, Melvin},
  booktitle={Proceedings of the 37th International Conference on Machine Learning (ICML)},
  year={2020}
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
    predictions: list of sentences, each a list of predicted tags (str).
    references: list of sentences, each a list of gold tags (str), same lengths as predictions.
    include_xtreme_seqeval_f1: also return "xtreme_seqeval_f1" (default False).
Returns:
    accuracy: token accuracy, 0..1.
    xtreme_seqeval_f1: (only if asked) seqeval f1_score on the raw tags, 0..1.
Examples:
    >>> metric = xitcore.metrics.load_metric("pos_accuracy")
    >>> metric.compute(predictions=[["DET", "NOUN"]], references=[["DET", "VERB"]])
    {'accuracy': 0.5}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class PosAccuracy(evaluate.Metric):
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

    def _compute(self, predictions, references, include_xtreme_seqeval_f1=False):
        out = {"accuracy": pos_accuracy(references, predictions)}
        if include_xtreme_seqeval_f1:
            out["xtreme_seqeval_f1"] = xtreme_seqeval_f1(references, predictions)
        return out
