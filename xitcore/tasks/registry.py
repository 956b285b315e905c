"""The task registry: one row per task (name -> :class:`Task`): its kind (the module of :mod:`xitcore.tasks` that
featurises, collates, heads, losses, predicts and scores it), its shipped data and/or hub source, languages,
labels, splits and metric.

* Shipped intermediate tasks (offline analogues of the paper's nine English tasks; each names its analogue).
  A ``translated`` variant keeps the same examples (same paragraph / item / sentence ids, same count) and only
  changes their language, so that en-X vs ml-X differ in the language mix alone.
* The paper's nine English intermediate tasks at full scale (SQuAD, MNLI, HellaSwag, ANLI, CCG, CommonsenseQA,
  CosmosQA, QQP, SST-2): hub data (CCG: a local CCGbank copy).
* Targets: ``pos`` and ``ner`` on shipped data, and the XTREME-R tasks (XNLI, XCOPA, UD-POS, WikiANN-NER, XQuAD,
  MLQA, TyDiQA-GoldP, Tatoeba, LAReQA, Mewsli-X) plus PAWS-X and BUCC from XTREME (the paper evaluated XTREME).

Language lists: ``XTREME_R_TASK2LANGS`` / ``XTREME_TASK2LANGS`` of google-research/xtreme ``evaluate.py``
(commit 838c13b). LAReQA has an empty list there; its languages are the 11 XQuAD-R files
(google-research-datasets/lareqa ``xquad-r/<lang>.json``).
Hub configs: the ``google/xtreme`` dataset card (``PAN-X.de``, ``udpos.German``, ``XNLI``, ``tydiqa``,
``MLQA.de.de``, ``tatoeba.deu``, ``bucc18.de``, ``PAWS-X.de``, ``XQuAD.de``). It predates XTREME-R: the
XTREME-R-only languages come from ``unimelb-nlp/wikiann`` (PAN-X) and ``google/xquad`` (XQuAD ro), or have no
hub source (UD v2.7 lt/pl/uk/wo/ro, Tatoeba az/lt/pl/uk/ro, LAReQA, Mewsli-X, CCG): use the local loaders.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from ..data import read_conllu, read_xcopa, read_xquad
from ..data.paths import UNER_PUD_SETS, UNER_TEST_SETS, ud_file
from ..data.treebanks import (
    COPA_ENGLISH_SOURCE,
    DEPRELS,
    NER_LABELS,
    UPOS,
    XCOPA_LANGS,
    deprel_label,
    load_ner_train,
    load_pos_train,
)
from ..errors import ConfigError, DataError
from . import classification as sc
from . import multiple_choice as mc
from . import qa
from . import retrieval as ret
from . import tagging as tc
from .io import load_hub_rows

KINDS = ("tagging", "classification", "multiple_choice", "qa", "retrieval")


def _split(s: str) -> tuple[str, ...]:
    return tuple(s.split(","))


# google-research/xtreme evaluate.py, XTREME_R_TASK2LANGS (en is the training language where listed).
XTREME_R_LANGS: dict[str, tuple[str, ...]] = {
    "xnli": _split("ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh"),
    "panx": _split(
        "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,"
        "yo,my,zh,kk,tr,et,fi,hu,qu,pl,uk,az,lt,pa,gu,ro"
    ),
    "udpos": _split(
        "af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,"
        "zh,lt,pl,uk,wo,ro"
    ),
    "tatoeba": _split(
        "ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,zh,"
        "kk,tr,et,fi,hu,az,lt,pl,uk,ro"
    ),
    "xcopa": tuple(XCOPA_LANGS),
    "lareqa": _split("ar,de,el,en,es,hi,ru,th,tr,vi,zh"),  # XQuAD-R files (evaluate.py lists none)
    "mewslix": _split("ar,de,en,es,fa,ja,pl,ro,ta,tr,uk"),
    "xquad": _split("en,es,de,el,ru,tr,ar,vi,th,zh,hi,ro"),
    "mlqa": _split("en,es,de,ar,hi,vi,zh"),
    "tydiqa": _split("en,ar,bn,fi,id,ko,ru,sw,te"),
}
# Same file, XTREME_TASK2LANGS: the XTREME (v1) lists, the ones the paper evaluated. The XTREME-R lists of
# panx, udpos, tatoeba and xquad are the XTREME ones with the new languages appended, hence the slices.
XTREME_LANGS: dict[str, tuple[str, ...]] = {
    "pawsx": _split("de,en,es,fr,ja,ko,zh"),
    "xnli": XTREME_R_LANGS["xnli"],
    "panx": XTREME_R_LANGS["panx"][:40],
    "udpos": XTREME_R_LANGS["udpos"][:33],
    "bucc2018": _split("de,fr,ru,zh"),
    "tatoeba": XTREME_R_LANGS["tatoeba"][:36],
    "xquad": XTREME_R_LANGS["xquad"][:11],
    "mlqa": XTREME_R_LANGS["mlqa"],
    "tydiqa": XTREME_R_LANGS["tydiqa"],
}
# google/xtreme udpos configs are named by language (UD v2.5 treebanks).
UDPOS_CONFIG_NAMES = {
    "af": "Afrikaans",
    "ar": "Arabic",
    "bg": "Bulgarian",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "eu": "Basque",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "kk": "Kazakh",
    "ko": "Korean",
    "mr": "Marathi",
    "nl": "Dutch",
    "pt": "Portuguese",
    "ru": "Russian",
    "ta": "Tamil",
    "te": "Telugu",
    "th": "Thai",
    "tl": "Tagalog",
    "tr": "Turkish",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "yo": "Yoruba",
    "zh": "Chinese",
}


@dataclass(frozen=True)
class HubSource:
    dataset: str
    config: str | None
    split: str


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # one of KINDS: the xitcore.tasks module that handles it
    hub_dataset: str | None  # None: local files only (see note)
    hub_config: Callable[[str], str | None]  # language -> config of hub_dataset (None: not there)
    splits: Mapping[str, str]  # role (train/dev/test) -> hub split name
    languages: tuple[str, ...]  # evaluation languages (XTREME-R, or XTREME for BUCC / PAWS-X)
    metric: str  # key of METRICS
    paper_role: str  # intermediate | target | target (XTREME-R only), or "(shipped)"
    row_mapper: Callable | None = None  # (hub row, lang) -> example, or None to skip the row
    xtreme_languages: tuple[str, ...] = ()  # XTREME (v1) list, where the task was in XTREME
    hub_fallback: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # lang -> (dataset, config)
    hub_missing: tuple[str, ...] = ()  # languages with no hub source at all
    note: str = ""
    labels: tuple[str, ...] = ()  # label names (tagging tasks without them: read from the data)
    description: str = ""
    paper_analogue: str = ""  # shipped tasks: which of the paper's tasks it stands in for
    load_local: Callable[[str], list[dict]] | None = None  # shipped training data: "en" | "translated" -> examples
    translated: bool = False  # load_local has a "translated" variant
    train_from: tuple[str, str] = ("", "")  # hub targets: (task whose English train split trains it, what)
    pretrain_from: tuple[str, str] = ("", "")  # hub targets trained on another task first (XCOPA: SIQA), or none
    # The guard against training on evaluated items (pipeline.check_train_test_overlap) reads these:
    trains_on: tuple[str, ...] = ()  # data sets whose items its shipped (backend local) training data holds
    evaluates: tuple[str, ...] = ()  # data sets whose items a target evaluates (translations of one item count)
    # English hub data pooled from several data sets under one head (ANLI+): ((dataset, config, {role: split}), ...);
    # load_hub_examples concatenates them in this order, each through row_mapper.
    hub_parts: tuple[tuple[str, str | None, Mapping[str, str]], ...] = ()
    # XTREME translate-train data of an English intermediate task (intermediate.data: tt): (hub dataset, split,
    # languages); the config is the language code. load_translate_train size-matches it to the English set.
    translate_train: tuple[str, str, tuple[str, ...]] = ()


def _const(config: str | None) -> Callable[[str], str | None]:
    return lambda lang: config


_NLI3 = ("entailment", "neutral", "contradiction")


def _en_task(name, kind, dataset, config, splits, metric, mapper, title, labels=(), note="", load_local=None):
    """One of the paper's nine English intermediate tasks (hub data; CCG from a local CCGbank copy)."""
    return Task(
        name,
        kind,
        dataset,
        _const(config),
        splits,
        ("en",),
        metric,
        "intermediate",
        mapper,
        note=note,
        labels=labels,
        load_local=load_local,
        paper_analogue=title,
        description=f"{title} (paper task; {'local CCGbank' if load_local else 'hub data'})",
    )


_PANX_WIKIANN = {l: ("unimelb-nlp/wikiann", l) for l in XTREME_R_LANGS["panx"][40:]}

_MNLI = ("mnli", "MNLI train (nyu-mll/glue mnli)")
_SQUAD = ("squad", "SQuAD v1.1 train (rajpurkar/squad)")
COPA_HUB = ("aps/super_glue", "copa", "train")  # XCOPA's English training data (same fields as XCOPA rows)


def _rte_row(r: dict, lang: str = "en") -> dict:
    # GLUE's RTE: 0 = entailment; the shipped RTE files (and this task's labels): 1 = entailment
    ex = sc.glue_style_row(r, lang)
    return {**ex, "label": {0: 1, 1: 0}.get(ex["label"], ex["label"])}


def _shipped(name, kind, description, analogue, labels, load_local, dataset, config, mapper, translated=False):
    """A shipped intermediate task (offline data), with the hub dataset that stands for it at full scale."""
    metric = {
        "classification": "accuracy",
        "multiple_choice": "choice_accuracy",
        "qa": "squad_f1_em",
        "tagging": "tag_accuracy",
    }[kind]
    return Task(
        name,
        kind,
        dataset,
        _const(config),
        {"train": "train"},
        ("en",),
        metric,
        "intermediate (shipped)",
        mapper,
        labels=tuple(labels),
        description=description,
        paper_analogue=analogue,
        load_local=load_local,
        translated=translated,
    )


TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        # ---------------- shipped intermediate tasks (offline analogues of the paper's nine)
        _shipped(
            "nli",
            "classification",
            "RTE 1-3 entailment pairs",
            "MNLI / ANLI",
            ["not_entailment", "entailment"],
            sc.load_nli,
            "nyu-mll/glue",
            "rte",
            _rte_row,
        ),
        _shipped(
            "sentiment",
            "classification",
            "sentence polarity (movie reviews)",
            "SST-2",
            ["negative", "positive"],
            sc.load_sentiment,
            "nyu-mll/glue",
            "sst2",
            sc.glue_style_row,
        ),
        _shipped(
            "questions",
            "classification",
            "TREC question classification (coarse)",
            "QQP (sentence classification)",
            sc.TREC_COARSE,
            sc.load_trec,
            "CogComp/trec",
            None,
            sc.glue_style_row,
        ),
        _shipped(
            "qa",
            "qa",
            "XQuAD extractive QA (English side / human translations)",
            "SQuAD",
            [],
            qa.load_qa,
            "rajpurkar/squad",
            None,
            qa.squad_row,
            translated=True,
        ),
        _shipped(
            "copa",
            "multiple_choice",
            "COPA cause/effect items (XCOPA English MT / native items)",
            "CommonsenseQA / CosmosQA / HellaSwag",
            [],
            mc.load_copa,
            "super_glue",
            "copa",
            mc.copa_hub_row,
            translated=True,
        ),
        _shipped(
            "deprel",
            "tagging",
            "universal dependency relation per word (PUD intermediate half)",
            "CCG supertagging",
            DEPRELS,
            tc.load_deprel,
            "universal_dependencies",
            "en_ewt",
            tc.ud_relation_row,
            translated=True,
        ),
        _shipped(
            "chunk",
            "tagging",
            "CoNLL-2000 chunking (WSJ)",
            "CCG supertagging",
            [],
            tc.load_chunk,
            "conll2000",
            None,
            tc.ud_relation_row,
        ),
        # ---------------- targets on shipped data (languages: config.POS_EVAL_LANGUAGES / NER_LANGUAGES)
        Task(
            "pos",
            "tagging",
            None,
            _const(None),
            {},
            (),
            "pos",
            "target (shipped)",
            labels=tuple(UPOS),
            load_local=lambda data: load_pos_train(),
            description="UPOS: trained on UD English-EWT dev, evaluated on the PUD evaluation half (ja: GSD test)",
        ),
        Task(
            "ner",
            "tagging",
            None,
            _const(None),
            {},
            (),
            "ner",
            "target (shipped)",
            labels=tuple(NER_LABELS),
            load_local=lambda data: load_ner_train(),
            description=(
                "NER (PER/ORG/LOC): trained on NLTK's IEER, evaluated on CoNLL-2002 es/nl testb; with "
                "target.ner_data uner on Universal NER English-EWT dev, evaluated on UNER sets (uner_evaluates)"
            ),
        ),
        # ---------------- targets on hub data (XTREME-R, and PAWS-X / BUCC from XTREME)
        Task(
            "xnli",
            "classification",
            "google/xtreme",
            _const("XNLI"),
            {"dev": "validation", "test": "test"},
            XTREME_R_LANGS["xnli"],
            "accuracy",
            "target",
            sc.xnli_row,
            XTREME_LANGS["xnli"],
            note="one config for all languages (language column); training data is MNLI",
            labels=tuple(sc.LABELS["xnli"]),
            train_from=_MNLI,
        ),
        Task(
            "pawsx",
            "classification",
            "google/xtreme",
            lambda l: f"PAWS-X.{l}",
            {"train": "train", "dev": "validation", "test": "test"},
            XTREME_LANGS["pawsx"],
            "accuracy",
            "target",
            sc.pawsx_row,
            XTREME_LANGS["pawsx"],
            note="XTREME only (not in XTREME-R)",
            labels=tuple(sc.LABELS["pawsx"]),
            train_from=("pawsx", "PAWS-X English train (google/xtreme PAWS-X.en)"),
        ),
        Task(
            "xcopa",
            "multiple_choice",
            "cambridgeltl/xcopa",
            lambda l: l,
            {"dev": "validation", "test": "test"},
            XTREME_R_LANGS["xcopa"],
            "choice_accuracy",
            "target (XTREME-R only)",
            mc.xcopa_row,
            train_from=("copa", "COPA train (aps/super_glue copa), after SIQA as in XTREME-R"),
            pretrain_from=("siqa", "SIQA train (allenai/social_i_qa), XTREME-R's first stage for XCOPA"),
        ),
        # ---------------- training data only (not evaluated): XTREME-R trains XCOPA on SIQA first
        Task(
            "siqa",
            "multiple_choice",
            "allenai/social_i_qa",
            _const(None),
            {"train": "train", "dev": "validation"},
            ("en",),
            "choice_accuracy",
            "training data",
            mc.siqa_row,
            description="Social IQa (allenai/social_i_qa): XTREME-R's first training stage for XCOPA",
        ),
        Task(
            "udpos",
            "tagging",
            "google/xtreme",
            lambda l: f"udpos.{UDPOS_CONFIG_NAMES[l]}" if l in UDPOS_CONFIG_NAMES else None,
            {"train": "train", "dev": "validation", "test": "test"},
            XTREME_R_LANGS["udpos"],
            "pos",
            "target",
            tc.udpos_row,
            XTREME_LANGS["udpos"],
            hub_missing=XTREME_R_LANGS["udpos"][33:],
            note="lt, pl, uk, wo, ro come from UD v2.7 in XTREME-R and have no google/xtreme config: "
            "use load_udpos_conllu on the treebank files",
            labels=tuple(tc.UPOS_LABELS),
            train_from=("udpos", "UD English train (google/xtreme udpos.English)"),
        ),
        Task(
            "panx",
            "tagging",
            "google/xtreme",
            lambda l: None if l in _PANX_WIKIANN else f"PAN-X.{l}",
            {"train": "train", "dev": "validation", "test": "test"},
            XTREME_R_LANGS["panx"],
            "ner",
            "target",
            tc.panx_row,
            XTREME_LANGS["panx"],
            _PANX_WIKIANN,
            labels=tuple(tc.PANX_LABELS),
            train_from=("panx", "PAN-X English train (google/xtreme PAN-X.en)"),
        ),
        Task(
            "xquad",
            "qa",
            "google/xtreme",
            lambda l: None if l == "ro" else f"XQuAD.{l}",
            {"test": "validation"},
            XTREME_R_LANGS["xquad"],
            "squad_f1_em",
            "target",
            qa.squad_row,
            XTREME_LANGS["xquad"],
            {"ro": ("google/xquad", "xquad.ro")},
            note="training data is SQuAD v1.1",
            train_from=_SQUAD,
        ),
        Task(
            "mlqa",
            "qa",
            "google/xtreme",
            lambda l: f"MLQA.{l}.{l}",
            {"dev": "validation", "test": "test"},
            XTREME_R_LANGS["mlqa"],
            "mlqa_f1_em",
            "target",
            qa.squad_row,
            XTREME_LANGS["mlqa"],
            train_from=_SQUAD,
        ),
        Task(
            "tydiqa",
            "qa",
            "google/xtreme",
            _const("tydiqa"),
            # dev: the English questions of the GoldP dev set, jiant's tydiqa_en val (nyu-mll/jiant@daa5a258
            # jiant/scripts/download_data/dl_datasets/xtreme.py:435-438), which early stopping scores
            {"train": "train", "dev": "validation", "test": "validation"},
            XTREME_R_LANGS["tydiqa"],
            "squad_f1_em",
            "target",
            qa.tydiqa_row,
            XTREME_LANGS["tydiqa"],
            note="one config for all languages (question id prefix); XTREME evaluates on the dev set",
            train_from=("tydiqa", "TyDiQA-GoldP English train questions (google/xtreme tydiqa)"),
        ),
        Task(
            "tatoeba",
            "retrieval",
            "google/xtreme",
            lambda l: f"tatoeba.{ret.TATOEBA_ISO3[l]}" if l in XTREME_LANGS["tatoeba"] else None,
            {"test": "validation"},
            XTREME_R_LANGS["tatoeba"],
            "tatoeba_top1",
            "target",
            ret.tatoeba_row,
            XTREME_LANGS["tatoeba"],
            hub_missing=XTREME_R_LANGS["tatoeba"][36:],
            note="az, lt, pl, uk, ro have no google/xtreme config: use load_tatoeba",
        ),
        Task(
            "bucc2018",
            "retrieval",
            "google/xtreme",
            lambda l: f"bucc18.{l}",
            {"dev": "validation", "test": "test"},
            XTREME_LANGS["bucc2018"],
            "bucc_f1",
            "target",
            ret.bucc_row,
            XTREME_LANGS["bucc2018"],
            note="XTREME only; hub rows are the gold pairs alone, mining needs the full files (load_bucc)",
        ),
        Task(
            "lareqa",
            "retrieval",
            None,
            _const(None),
            {"test": "test"},
            XTREME_R_LANGS["lareqa"],
            "lareqa_map@20",
            "target (XTREME-R only)",
            note="google-research-datasets/xquad_r rows lack sentence_breaks, so the candidate pool cannot be "
            "rebuilt: use load_lareqa on the xquad-r/<lang>.json files",
        ),
        Task(
            "mewslix",
            "retrieval",
            None,
            _const(None),
            {"dev": "dev", "test": "test"},
            XTREME_R_LANGS["mewslix"],
            "mewslix_map@20",
            "target (XTREME-R only)",
            note="not on the hub: build it with XTREME's download_mewslix, then load_mewslix_mentions/_entities",
        ),
        # ---------------- the paper's nine English intermediate tasks
        _en_task(
            "squad",
            "qa",
            "rajpurkar/squad",
            None,
            {"train": "train", "dev": "validation"},
            "squad_f1_em",
            qa.squad_row,
            "SQuAD v1.1",
        ),
        _en_task(
            "mnli",
            "classification",
            "nyu-mll/glue",
            "mnli",
            {"train": "train", "dev": "validation_matched"},
            "accuracy",
            sc.nli_row,
            "MultiNLI",
            _NLI3,
        ),
        _en_task(
            "hellaswag",
            "multiple_choice",
            "Rowan/hellaswag",
            None,
            {"train": "train", "dev": "validation"},
            "choice_accuracy",
            mc.hellaswag_row,
            "HellaSwag",
        ),
        _en_task(
            "anli",
            "classification",
            "facebook/anli",
            None,
            {"train": "train_r1+train_r2+train_r3", "dev": "dev_r1+dev_r2+dev_r3"},
            "accuracy",
            sc.nli_row,
            "ANLI rounds 1-3",
            _NLI3,
            note="rounds 1-3 pooled",
        ),
        # ANLI+ as the paper trains it: nyu-mll/jiant@daa5a258 guides/tasks/task_specific.md:7 "training on the
        # full ANLI dataset, which is SNLI+MNLI+A1+A2+A3 ... proportional sampling ... the same NLI head". One task
        # with one head over the pooled examples: proportional sampling over one pool is that mix.
        replace(
            _en_task(
                "anliplus",
                "classification",
                "facebook/anli",
                None,
                {"train": "train_r1+train_r2+train_r3", "dev": "dev_r1+dev_r2+dev_r3"},
                "accuracy",
                sc.nli_row,
                "ANLI+ (SNLI + MNLI + ANLI rounds 1-3)",
                _NLI3,
                note="SNLI + MNLI + ANLI R1-R3 pooled under one NLI head (jiant task_specific.md:7)",
            ),
            hub_parts=(
                ("stanfordnlp/snli", None, {"train": "train", "dev": "validation"}),
                ("nyu-mll/glue", "mnli", {"train": "train", "dev": "validation_matched"}),
                ("facebook/anli", None, {"train": "train_r1+train_r2+train_r3", "dev": "dev_r1+dev_r2+dev_r3"}),
            ),
        ),
        _en_task(
            "ccg",
            "tagging",
            None,
            None,
            {},
            "supertag_accuracy",
            None,
            "CCGbank supertags",
            load_local=tc.load_ccg,
            note="CCGbank (LDC2005T13) is not redistributable: use load_ccg_auto / load_ccg_piped on a local copy",
        ),
        _en_task(
            "commonsenseqa",
            "multiple_choice",
            "tau/commonsense_qa",
            None,
            {"train": "train", "dev": "validation"},
            "choice_accuracy",
            mc.commonsenseqa_row,
            "CommonsenseQA",
        ),
        _en_task(
            "cosmosqa",
            "multiple_choice",
            "allenai/cosmos_qa",
            None,
            {"train": "train", "dev": "validation"},
            "choice_accuracy",
            mc.cosmosqa_row,
            "CosmosQA",
        ),
        _en_task(
            "qqp",
            "classification",
            "nyu-mll/glue",
            "qqp",
            {"train": "train", "dev": "validation"},
            "accuracy",
            sc.qqp_row,
            "Quora Question Pairs",
            ("not_duplicate", "duplicate"),
        ),
        _en_task(
            "sst2",
            "classification",
            "nyu-mll/glue",
            "sst2",
            {"train": "train", "dev": "validation"},
            "accuracy",
            sc.sst2_row,
            "SST-2",
            ("negative", "positive"),
        ),
    ]
}

# The guard against training on evaluated items (pipeline.check_train_test_overlap): which data sets a task's
# shipped training data holds, and which a target evaluates. A set is named once for all its languages: XQuAD and
# XCOPA are translations of one item set, so any language of it in training meets every language in evaluation.
XQUAD_SET = "XQuAD"
XCOPA_TEST_SET = "XCOPA test"
XCOPA_VAL_SET = "XCOPA val"
TATOEBA_SET = "Tatoeba"
_TRAINS_ON = {
    "nli": ("RTE 1-3",),
    "sentiment": ("sentence polarity",),
    "questions": ("TREC train",),
    "qa": (XQUAD_SET,),
    "copa": (XCOPA_TEST_SET,),  # English: the machine translation of the Italian test items
    "deprel": ("UD PUD intermediate half",),
    "chunk": ("CoNLL-2000 train",),
}
_EVALUATES = {
    "pos": ("UD PUD evaluation half", "UD English-EWT test", "UD Japanese-GSD test"),
    "ner": ("CoNLL-2002 testb",),
    "xnli": ("XNLI test",),
    "pawsx": ("PAWS-X test",),
    "xcopa": (XCOPA_TEST_SET,),
    "udpos": ("UD test treebanks (XTREME udpos)",),
    "panx": ("PAN-X test",),
    "xquad": (XQUAD_SET,),
    "mlqa": ("MLQA test",),
    "tydiqa": ("TyDiQA-GoldP dev",),
    "tatoeba": (TATOEBA_SET,),
}
# XTREME's translate-train sets (google-research/xtreme scripts/download_data.sh: XNLI-MT 1.0 for XNLI, the
# SQuAD v1.1 translations for XQuAD) on the hub: facebook/xnli's per-language "train" split is XNLI-MT 1.0 (MNLI
# train machine-translated, 392,702 rows per language, in MNLI's order); juletxara/xquad_xtreme's per-language
# "translate_train" split holds XTREME's SQuAD translate-train files (answers that did not survive translation are
# missing there, so fewer than 87,599 per language).
_TRANSLATE_TRAIN = {
    "mnli": ("facebook/xnli", "train", tuple(l for l in XTREME_LANGS["xnli"] if l != "en")),
    "squad": ("juletxara/xquad_xtreme", "translate_train", tuple(l for l in XTREME_LANGS["xquad"] if l != "en")),
}
TASKS = {
    n: replace(
        t,
        trains_on=_TRAINS_ON.get(n, ()),
        evaluates=_EVALUATES.get(n, ()),
        translate_train=_TRANSLATE_TRAIN.get(n, ()),
    )
    for n, t in TASKS.items()
}
# ner with target.ner_data uner evaluates Universal NER sets instead (the `evaluates` above is IEER's)
UNER_PUD_SET = "UNER PUD evaluation half"
UNER_EWT_TEST_SET = "UNER English-EWT test"
UNER_TEST_SET_NAMES = {lang: f"UNER {folder[len('UNER_') :]} test" for lang, (folder, _) in UNER_TEST_SETS.items()}


def uner_evaluates(languages, conll2002: bool) -> tuple[str, ...]:
    """The data sets UNER-trained ner evaluates: the PUD evaluation half, EWT test, each test set it lists, and
    CoNLL-2002 testb when it is the second evaluation."""
    out = [UNER_EWT_TEST_SET]
    if any(l in UNER_PUD_SETS for l in languages):
        out.append(UNER_PUD_SET)
    out += [UNER_TEST_SET_NAMES[l] for l in languages if l in UNER_TEST_SET_NAMES]
    return tuple(out) + (("CoNLL-2002 testb",) if conll2002 else ())


#: every data set the guard knows by name (what eval.allow_overlap may list)
DATA_SETS = tuple(
    sorted(
        {
            *sum(_TRAINS_ON.values(), ()),
            *sum(_EVALUATES.values(), ()),
            XCOPA_VAL_SET,
            UNER_PUD_SET,
            UNER_EWT_TEST_SET,
            *UNER_TEST_SET_NAMES.values(),
        }
    )
)

METRICS: dict[str, Callable] = {
    "accuracy": sc.classification_accuracy,
    "choice_accuracy": mc.choice_accuracy,
    "pos": tc.pos_scores,
    "ner": tc.ner_scores,
    "squad_f1_em": qa.squad_f1_em,
    "mlqa_f1_em": qa.mlqa_f1_em,
    "tatoeba_top1": ret.tatoeba_top1,
    "bucc_f1": ret.bucc_f1,
    "lareqa_map@20": ret.lareqa_map_at_k,
    "mewslix_map@20": ret.mewslix_map_at_k,
    "supertag_accuracy": tc.supertag_accuracy,
    "tag_accuracy": tc.tag_accuracy,
}
# Headline metrics (percent) per kind of a hub target, that results.load_results turns into rows.
HEADLINE = {
    "classification": ["accuracy"],
    "multiple_choice": ["accuracy"],
    "qa": ["f1", "exact_match"],
    "tagging": {"pos": ["accuracy", "seqeval_f1"], "ner": ["span_f1"]},
}
TRAIN_SAMPLE_SEED = 0  # max_train_examples draws one fixed sample, the same for every seed and condition

INTERMEDIATE = tuple(n for n, t in TASKS.items() if t.paper_role.startswith("intermediate"))  # all of them
PAPER_INTERMEDIATE = tuple(n for n, t in TASKS.items() if t.paper_role == "intermediate")  # the paper's nine
SHIPPED_INTERMEDIATE = tuple(n for n, t in TASKS.items() if t.paper_role == "intermediate (shipped)")
SHIPPED_TARGETS = tuple(n for n, t in TASKS.items() if t.paper_role == "target (shipped)")  # pos, ner
TARGETS = tuple(n for n, t in TASKS.items() if t.paper_role.startswith("target"))
HUB_TARGETS = tuple(n for n in TARGETS if n not in SHIPPED_TARGETS)  # XTREME-R, PAWS-X, BUCC


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ConfigError(f"task '{name}' is unknown; allowed: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def check_language(name: str, lang: str) -> Task:
    task = get_task(name)
    if lang not in task.languages:
        raise ConfigError(f"task '{name}': language '{lang}' is not evaluated; allowed: {', '.join(task.languages)}")
    return task


def metric_for(name: str) -> Callable:
    return METRICS[get_task(name).metric]


def headline_metrics(name: str) -> list[str]:
    t = get_task(name)
    h = HEADLINE[t.kind]
    return h[t.metric] if isinstance(h, dict) else h


def hub_source(name: str, lang: str, role: str) -> HubSource:
    """Dataset, config and split holding ``role`` (train/dev/test) of task ``name`` in ``lang``."""
    task = check_language(name, lang)
    if task.hub_dataset is not None and role not in task.splits:
        raise ConfigError(
            f"task '{name}' has no '{role}' split on the hub; allowed: {', '.join(task.splits) or 'none'}"
        )
    if task.hub_dataset is None or lang in task.hub_missing:
        raise DataError(f"task '{name}', language '{lang}': no hub source; {task.note or task.description}")
    if lang in task.hub_fallback:  # same split names as the main source
        return HubSource(*task.hub_fallback[lang], task.splits[role])
    return HubSource(task.hub_dataset, task.hub_config(lang), task.splits[role])


def load_hub_examples(name: str, lang: str, role: str = "test") -> list:
    """Examples of one task/language/split from the hub, through the task's row mapper (rows of other
    languages in shared configs are dropped). Offline: DataError at once (no download attempt)."""
    src = hub_source(name, lang, role)
    task = get_task(name)
    mapper = task.row_mapper
    parts = [(d, c, splits[role]) for d, c, splits in task.hub_parts] or [(src.dataset, src.config, src.split)]
    rows = [r for d, c, split in parts for r in load_hub_rows(name, d, c, split)]
    return [ex for ex in (mapper(r, lang) for r in rows) if ex is not None]


def is_labelled(ex: dict) -> bool:
    if "answers" in ex:
        return bool(ex["answers"])
    if "words" in ex:
        return bool(ex["words"])
    return ex["label"] >= 0


# ------------------------------------------------------------------ training data of intermediate tasks


def translated_variant_exists(name: str) -> bool:
    return get_task(name).translated


def load_task_examples(name: str, data: str = "en", backend: str = "local") -> tuple[Task, list[dict]]:
    """(task, English or ``data``-variant training examples): shipped data, or the hub's train split with
    ``backend: hub`` (labelled rows only; the hub has no translated variants)."""
    task = get_task(name)
    if data == "tt":
        return task, load_translate_train(name)
    if backend == "hub" and (task.hub_dataset is not None or task.load_local is None):
        return task, [e for e in load_hub_examples(name, "en", "train") if is_labelled(e)]
    if task.load_local is None:
        local = sorted(SHIPPED_INTERMEDIATE)
        how = "backend: hub" if task.hub_dataset else "a local CCGbank copy (not redistributable)"
        raise DataError(f"task '{name}' has no shipped data; use {how}, or a shipped task: {', '.join(local)}")
    return task, task.load_local(data)


def translate_train_exists(name: str) -> bool:
    return bool(get_task(name).translate_train)


def _tt_key(ex: dict, position: int, by_id: bool):
    return ex.get("id") if by_id else position


def load_translate_train(name: str) -> list[dict]:
    """XTREME translate-train examples of English intermediate task ``name``, size-matched to its English training
    set as the ``mt`` and ``translated`` variants are: English item ``i`` is taken in language
    ``languages[i % n]``, or in the next language that has it (an item no language kept is dropped). An item is
    found by its id (SQuAD) or, where the translations carry none (XNLI-MT), by its position, which the
    translations keep: then the labels must agree with the English ones (else DataError). Offline: DataError."""
    task = get_task(name)
    if not task.translate_train:
        allowed = ", ".join(n for n, t in TASKS.items() if t.translate_train)
        raise ConfigError(f"task '{name}' has no XTREME translate-train data; allowed with data=tt: {allowed}")
    dataset, split, langs = task.translate_train
    english = [e for e in load_hub_examples(name, "en", "train") if is_labelled(e)]
    loaded = {}
    for lang in langs:
        rows = [task.row_mapper(r, lang) for r in load_hub_rows(name, dataset, lang, split)]
        loaded[lang] = [e for e in rows if e is not None and is_labelled(e)]
    by_id = all(e.get("id") for rows in [english, *loaded.values()] for e in rows)
    per_lang: dict[str, dict] = {}
    for lang, rows in loaded.items():
        if not by_id:
            if len(rows) != len(english):
                raise DataError(
                    f"task '{name}': translate-train {dataset} {lang} has {len(rows)} labelled rows, English "
                    f"{len(english)}; allowed: the same rows in the same order"
                )
            agree = sum(a["label"] == b["label"] for a, b in zip(rows, english)) / max(1, len(rows))
            if agree < 0.99:
                raise DataError(
                    f"task '{name}': translate-train {dataset} {lang} is not in the English order (labels agree on "
                    f"{agree:.1%} of rows; allowed: at least 99%)"
                )
        per_lang[lang] = {_tt_key(e, k, by_id): e for k, e in enumerate(rows)}
    out = []
    for i, ex in enumerate(english):
        key = _tt_key(ex, i, by_id)
        for j in range(len(langs)):
            lang = langs[(i + j) % len(langs)]
            if key in per_lang[lang]:
                out.append({**per_lang[lang][key], "lang": lang})
                break
    return out


def task_labels(task: Task, examples: list[dict]) -> list[str]:
    """The task's labels; a tagging task without a fixed set takes the tags of its training examples."""
    if task.labels or task.kind != "tagging":
        return list(task.labels)
    return sorted({t for ex in examples for t in ex["tags"]})


# ------------------------------------------------------------------ hub targets: English training, evaluation


def fixed_sample(examples: list, max_examples: int) -> list:
    """``max_examples`` of ``examples`` (all when 0 or fewer): one fixed sample, the same for every seed and
    condition."""
    if not max_examples or len(examples) <= max_examples:
        return examples
    keep = sorted(random.Random(TRAIN_SAMPLE_SEED).sample(range(len(examples)), max_examples))
    return [examples[i] for i in keep]


def load_train(name: str, max_examples: int = 0) -> list:
    """English training examples of hub target ``name`` (with a label); a fixed sample of ``max_examples`` if set."""
    source = get_task(name).train_from[0]
    if source == "copa":
        rows = load_hub_rows(name, *COPA_HUB)
        examples = [mc.xcopa_row(r, "en", "COPA row") for r in rows]
    else:
        examples = load_hub_examples(source, "en", "train")
    return fixed_sample([e for e in examples if is_labelled(e)], max_examples)


def load_pretrain(name: str, max_examples: int = 0) -> list:
    """English examples of the first training stage of hub target ``name`` (XCOPA: SIQA); [] when it has none."""
    source = get_task(name).pretrain_from[0]
    if not source:
        return []
    return fixed_sample([e for e in load_hub_examples(source, "en", "train") if is_labelled(e)], max_examples)


def load_dev(name: str) -> list:
    """English dev examples of hub target ``name``'s training task (early stopping scores them)."""
    source = get_task(name).train_from[0]
    if source == "copa":
        return [mc.xcopa_row(r, "en", "COPA row") for r in load_hub_rows(name, COPA_HUB[0], COPA_HUB[1], "validation")]
    if "dev" not in get_task(source).splits:
        raise DataError(
            f"target '{name}': its training data ({source}) has no English dev split for early "
            f"stopping; set target.early_stopping: false"
        )
    return [e for e in load_hub_examples(source, "en", "dev") if is_labelled(e)]


def load_eval(name: str, lang: str) -> list:
    """Test examples of hub target ``name`` in ``lang`` (XTREME's evaluation split: dev for TyDiQA)."""
    return [e for e in load_hub_examples(name, lang, "test") if is_labelled(e)]


# ------------------------------------------------------------------ English dev sets of the intermediate tasks
# So that a reader sees that phase ii learned its task: deprel and copa have a natural English dev set that their
# training never reads (EWT dev with DEPREL labels; the XCOPA val items' English machine translations); the others
# hold out a stable share of their items (params intermediate.dev_fraction), in every language variant alike.
HELD_OUT_TASKS = ("qa", "nli", "sentiment", "questions", "chunk")


def stable_unit(text: str) -> float:
    """A number in [0, 1] fixed by ``text``: stable held-out shares, the same on every machine."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF


@functools.lru_cache(maxsize=1)
def _xquad_english_context() -> dict:
    return {r["id"]: r["context"] for r in read_xquad("en")}


def item_key(name: str, ex: dict) -> str:
    """What an intermediate item is held out by: a QA question by its English paragraph (no paragraph is split
    between training and dev), a sentence pair or sentence by its English text."""
    if name == "qa":
        return _xquad_english_context().get(ex["id"], ex["context"])
    if "text_a" in ex:
        return f"{ex['text_a']}\t{ex.get('text_b') or ''}"
    if "words" in ex:
        return " ".join(ex["words"])
    return f"{ex.get('premise')}\t{ex.get('idx')}"  # COPA items (never held out: XCOPA val is their dev set)


def english_dev(name: str, fraction: float) -> tuple[set[str], list[dict]]:
    """(keys of the items that training must leave out, English dev examples) of intermediate task ``name``;
    (set(), []) when the task has no dev set at this ``fraction``."""
    if name == "deprel":
        return set(), [
            {"words": s.words, "tags": [deprel_label(d) for d in s.deprel], "lang": "en"}
            for s in read_conllu(ud_file("en", "ewt-dev"))
        ]
    if name == "copa":
        return set(), mc.copa_examples(read_xcopa(COPA_ENGLISH_SOURCE, "val", translated=True), "en")
    if name not in HELD_OUT_TASKS or fraction <= 0:
        return set(), []
    english = get_task(name).load_local("en")
    held = {k for k in {item_key(name, ex) for ex in english} if stable_unit(f"{name}\t{k}") < fraction}
    return held, [ex for ex in english if item_key(name, ex) in held]
