"""Task registry of the full-scale setting: name -> :class:`TaskDef`.

Targets: the XTREME-R tasks (XNLI, XCOPA, UD-POS, WikiANN-NER, XQuAD, MLQA, TyDiQA-GoldP, Tatoeba, LAReQA,
Mewsli-X) plus PAWS-X and BUCC from XTREME (the paper, Phang et al. 2020, evaluated on XTREME).
Intermediate: the paper's nine English tasks (SQuAD, MNLI, HellaSwag, ANLI, CCG, CommonsenseQA, CosmosQA,
QQP, SST-2).

Language lists: ``XTREME_R_TASK2LANGS`` / ``XTREME_TASK2LANGS`` of google-research/xtreme ``evaluate.py``
(commit 838c13b). LAReQA has an empty list there; its languages are the 11 XQuAD-R files
(google-research-datasets/lareqa ``xquad-r/<lang>.json``).
Hub configs: the ``google/xtreme`` dataset card (``PAN-X.de``, ``udpos.German``, ``XNLI``, ``tydiqa``,
``MLQA.de.de``, ``tatoeba.deu``, ``bucc18.de``, ``PAWS-X.de``, ``XQuAD.de``). It predates XTREME-R: the
XTREME-R-only languages come from ``unimelb-nlp/wikiann`` (PAN-X) and ``google/xquad`` (XQuAD ro), or have no
hub source (UD v2.7 lt/pl/uk/wo/ro, Tatoeba az/lt/pl/uk/ro, LAReQA, Mewsli-X, CCG): use the local loaders.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from xitcore.errors import ConfigError, DataError

from . import ccg, extractive_qa as qa, multiple_choice as mc, retrieval as ret
from . import sentence_classification as sc, token_classification as tc
from .common import load_hub_rows

KINDS = ("token_classification", "sentence_classification", "multiple_choice", "extractive_qa", "retrieval")


def _split(s: str) -> tuple[str, ...]:
    return tuple(s.split(","))


# google-research/xtreme evaluate.py, XTREME_R_TASK2LANGS (en is the training language where listed).
XTREME_R_LANGS: dict[str, tuple[str, ...]] = {
    "xnli": _split("ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh"),
    "panx": _split("ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,"
                   "yo,my,zh,kk,tr,et,fi,hu,qu,pl,uk,az,lt,pa,gu,ro"),
    "udpos": _split("af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,"
                    "zh,lt,pl,uk,wo,ro"),
    "tatoeba": _split("ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,zh,"
                      "kk,tr,et,fi,hu,az,lt,pl,uk,ro"),
    "xcopa": _split("et,ht,id,it,qu,sw,ta,th,tr,vi,zh"),
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
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "kk": "Kazakh", "ko": "Korean", "mr": "Marathi", "nl": "Dutch", "pt": "Portuguese", "ru": "Russian",
    "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "ur": "Urdu", "vi": "Vietnamese",
    "yo": "Yoruba", "zh": "Chinese",
}


@dataclass(frozen=True)
class HubSource:
    dataset: str
    config: str | None
    split: str


@dataclass(frozen=True)
class TaskDef:
    name: str
    kind: str                                   # one of KINDS
    hub_dataset: str | None                     # None: local files only (see note)
    hub_config: Callable[[str], str | None]     # language -> config of hub_dataset (None: not there)
    splits: Mapping[str, str]                   # role (train/dev/test) -> hub split name
    languages: tuple[str, ...]                  # evaluation languages (XTREME-R, or XTREME for BUCC / PAWS-X)
    metric: str                                 # key of METRICS
    paper_role: str                             # intermediate | target | target (XTREME-R only)
    row_mapper: Callable | None = None          # (hub row, lang) -> example, or None to skip the row
    xtreme_languages: tuple[str, ...] = ()      # XTREME (v1) list, where the task was in XTREME
    hub_fallback: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # lang -> (dataset, config)
    hub_missing: tuple[str, ...] = ()           # languages with no hub source at all
    note: str = ""


def _const(config: str | None) -> Callable[[str], str | None]:
    return lambda lang: config


def _en_task(name, kind, dataset, config, splits, metric, mapper, note=""):
    return TaskDef(name, kind, dataset, _const(config), splits, ("en",), metric, "intermediate", mapper, note=note)


_PANX_WIKIANN = {l: ("unimelb-nlp/wikiann", l) for l in XTREME_R_LANGS["panx"][40:]}

TASKS: dict[str, TaskDef] = {t.name: t for t in [
    # ---------------- targets
    TaskDef("xnli", "sentence_classification", "google/xtreme", _const("XNLI"), {"dev": "validation", "test": "test"},
            XTREME_R_LANGS["xnli"], "accuracy", "target", sc.xnli_row, XTREME_LANGS["xnli"],
            note="one config for all languages (language column); training data is MNLI"),
    TaskDef("pawsx", "sentence_classification", "google/xtreme", lambda l: f"PAWS-X.{l}",
            {"train": "train", "dev": "validation", "test": "test"}, XTREME_LANGS["pawsx"], "accuracy", "target",
            sc.pawsx_row, XTREME_LANGS["pawsx"], note="XTREME only (not in XTREME-R)"),
    TaskDef("xcopa", "multiple_choice", "cambridgeltl/xcopa", lambda l: l, {"dev": "validation", "test": "test"},
            XTREME_R_LANGS["xcopa"], "choice_accuracy", "target (XTREME-R only)", mc.xcopa_row),
    TaskDef("udpos", "token_classification", "google/xtreme",
            lambda l: f"udpos.{UDPOS_CONFIG_NAMES[l]}" if l in UDPOS_CONFIG_NAMES else None,
            {"train": "train", "dev": "validation", "test": "test"}, XTREME_R_LANGS["udpos"], "pos", "target",
            tc.udpos_row, XTREME_LANGS["udpos"], hub_missing=XTREME_R_LANGS["udpos"][33:],
            note="lt, pl, uk, wo, ro come from UD v2.7 in XTREME-R and have no google/xtreme config: "
                 "use load_udpos_conllu on the treebank files"),
    TaskDef("panx", "token_classification", "google/xtreme", lambda l: None if l in _PANX_WIKIANN else f"PAN-X.{l}",
            {"train": "train", "dev": "validation", "test": "test"}, XTREME_R_LANGS["panx"], "ner", "target",
            tc.panx_row, XTREME_LANGS["panx"], _PANX_WIKIANN),
    TaskDef("xquad", "extractive_qa", "google/xtreme", lambda l: None if l == "ro" else f"XQuAD.{l}",
            {"test": "validation"}, XTREME_R_LANGS["xquad"], "squad_f1_em", "target", qa.squad_row,
            XTREME_LANGS["xquad"], {"ro": ("google/xquad", "xquad.ro")}, note="training data is SQuAD v1.1"),
    TaskDef("mlqa", "extractive_qa", "google/xtreme", lambda l: f"MLQA.{l}.{l}", {"dev": "validation", "test": "test"},
            XTREME_R_LANGS["mlqa"], "mlqa_f1_em", "target", qa.squad_row, XTREME_LANGS["mlqa"]),
    TaskDef("tydiqa", "extractive_qa", "google/xtreme", _const("tydiqa"), {"train": "train", "test": "validation"},
            XTREME_R_LANGS["tydiqa"], "squad_f1_em", "target", qa.tydiqa_row, XTREME_LANGS["tydiqa"],
            note="one config for all languages (question id prefix); XTREME evaluates on the dev set"),
    TaskDef("tatoeba", "retrieval", "google/xtreme",
            lambda l: f"tatoeba.{ret.TATOEBA_ISO3[l]}" if l in XTREME_LANGS["tatoeba"] else None,
            {"test": "validation"}, XTREME_R_LANGS["tatoeba"], "tatoeba_top1", "target", ret.tatoeba_row,
            XTREME_LANGS["tatoeba"], hub_missing=XTREME_R_LANGS["tatoeba"][36:],
            note="az, lt, pl, uk, ro have no google/xtreme config: use load_tatoeba"),
    TaskDef("bucc2018", "retrieval", "google/xtreme", lambda l: f"bucc18.{l}", {"dev": "validation", "test": "test"},
            XTREME_LANGS["bucc2018"], "bucc_f1", "target", ret.bucc_row, XTREME_LANGS["bucc2018"],
            note="XTREME only; hub rows are the gold pairs alone, mining needs the full files (load_bucc)"),
    TaskDef("lareqa", "retrieval", None, _const(None), {"test": "test"}, XTREME_R_LANGS["lareqa"], "lareqa_map@20",
            "target (XTREME-R only)",
            note="google-research-datasets/xquad_r rows lack sentence_breaks, so the candidate pool cannot be "
                 "rebuilt: use load_lareqa on the xquad-r/<lang>.json files"),
    TaskDef("mewslix", "retrieval", None, _const(None), {"dev": "dev", "test": "test"}, XTREME_R_LANGS["mewslix"],
            "mewslix_map@20", "target (XTREME-R only)",
            note="not on the hub: build it with XTREME's download_mewslix, then load_mewslix_mentions/_entities"),
    # ---------------- the paper's nine English intermediate tasks
    _en_task("squad", "extractive_qa", "rajpurkar/squad", None, {"train": "train", "dev": "validation"},
             "squad_f1_em", qa.squad_row),
    _en_task("mnli", "sentence_classification", "nyu-mll/glue", "mnli", {"train": "train", "dev": "validation_matched"},
             "accuracy", sc.nli_row),
    _en_task("hellaswag", "multiple_choice", "Rowan/hellaswag", None, {"train": "train", "dev": "validation"},
             "choice_accuracy", mc.hellaswag_row),
    _en_task("anli", "sentence_classification", "facebook/anli", None,
             {"train": "train_r1+train_r2+train_r3", "dev": "dev_r1+dev_r2+dev_r3"}, "accuracy", sc.nli_row,
             note="rounds 1-3 pooled"),
    _en_task("ccg", "token_classification", None, None, {}, "supertag_accuracy", None,
             note="CCGbank (LDC2005T13) is not redistributable: use load_ccg_auto / load_ccg_piped on a local copy"),
    _en_task("commonsenseqa", "multiple_choice", "tau/commonsense_qa", None, {"train": "train", "dev": "validation"},
             "choice_accuracy", mc.commonsenseqa_row),
    _en_task("cosmosqa", "multiple_choice", "allenai/cosmos_qa", None, {"train": "train", "dev": "validation"},
             "choice_accuracy", mc.cosmosqa_row),
    _en_task("qqp", "sentence_classification", "nyu-mll/glue", "qqp", {"train": "train", "dev": "validation"},
             "accuracy", sc.qqp_row),
    _en_task("sst2", "sentence_classification", "nyu-mll/glue", "sst2", {"train": "train", "dev": "validation"},
             "accuracy", sc.sst2_row),
]}

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
    "supertag_accuracy": ccg.supertag_accuracy,
}

INTERMEDIATE = tuple(n for n, t in TASKS.items() if t.paper_role == "intermediate")
TARGETS = tuple(n for n, t in TASKS.items() if t.paper_role != "intermediate")


def get_task_def(name: str) -> TaskDef:
    if name not in TASKS:
        raise ConfigError(f"task '{name}' is unknown; allowed: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def check_language(name: str, lang: str) -> TaskDef:
    task = get_task_def(name)
    if lang not in task.languages:
        raise ConfigError(f"task '{name}': language '{lang}' is not evaluated; allowed: {', '.join(task.languages)}")
    return task


def metric_for(name: str) -> Callable:
    return METRICS[get_task_def(name).metric]


def hub_source(name: str, lang: str, role: str) -> HubSource:
    """Dataset, config and split holding ``role`` (train/dev/test) of task ``name`` in ``lang``."""
    task = check_language(name, lang)
    if task.hub_dataset is not None and role not in task.splits:
        raise ConfigError(f"task '{name}' has no '{role}' split on the hub; allowed: {', '.join(task.splits) or 'none'}")
    if task.hub_dataset is None or lang in task.hub_missing:
        raise DataError(f"task '{name}', language '{lang}': no hub source; {task.note}")
    if lang in task.hub_fallback:  # same split names as the main source
        return HubSource(*task.hub_fallback[lang], task.splits[role])
    return HubSource(task.hub_dataset, task.hub_config(lang), task.splits[role])


def load_hub_examples(name: str, lang: str, role: str = "test") -> list:
    """Examples of one task/language/split from the hub, through the task's row mapper (rows of other
    languages in shared configs are dropped). Offline: DataError at once (no download attempt)."""
    src = hub_source(name, lang, role)
    mapper = get_task_def(name).row_mapper
    rows = load_hub_rows(name, src.dataset, src.config, src.split)
    return [ex for ex in (mapper(r, lang) for r in rows) if ex is not None]
