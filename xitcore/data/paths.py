"""Where the vendored data lives, and small helpers to open it.

``DATA_ROOT`` is ``<repo>/data``; set the environment variable ``XIT_DATA_ROOT`` to use another copy
(it is read again on every call of :func:`data_root`, so tests can point it elsewhere).
Every helper raises :class:`xitcore.errors.DataError` with one line naming the missing thing.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
from pathlib import Path
from typing import IO

from xitcore.errors import DataError

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_VAR = "XIT_DATA_ROOT"


def data_root() -> Path:
    """The data directory: ``$XIT_DATA_ROOT`` if set, else ``<repo>/data``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser().resolve() if env else REPO_ROOT / "data"


DATA_ROOT = data_root()

# --------------------------------------------------------------------------- languages / file names
# The 13 Parallel UD treebanks (ISO 639-1 code -> treebank directory under data/ud).
PUD_TREEBANKS: dict[str, str] = {
    "ar": "UD_Arabic-PUD",
    "de": "UD_German-PUD",
    "en": "UD_English-PUD",
    "es": "UD_Spanish-PUD",
    "fi": "UD_Finnish-PUD",
    "fr": "UD_French-PUD",
    "hi": "UD_Hindi-PUD",
    "id": "UD_Indonesian-PUD",
    "it": "UD_Italian-PUD",
    "pt": "UD_Portuguese-PUD",
    "ru": "UD_Russian-PUD",
    "tr": "UD_Turkish-PUD",
    "zh": "UD_Chinese-PUD",
}
PUD_LANGS: tuple[str, ...] = tuple(PUD_TREEBANKS)
# Further PUD treebanks, opt-in evaluation languages only (not in PUD_LANGS, so not in the MLM corpus, the
# translated intermediate data or any existing preset's defaults).
EXTRA_PUD_TREEBANKS: dict[str, str] = {
    "pl": "UD_Polish-PUD",
    "sv": "UD_Swedish-PUD",
}
ALL_PUD_TREEBANKS: dict[str, str] = {**PUD_TREEBANKS, **EXTRA_PUD_TREEBANKS}
# Non-parallel UD treebanks shipped as dev + test ("<name>-dev" / "<name>-test"): name -> (language, directory).
UD_DEV_TEST_TREEBANKS: dict[str, tuple[str, str]] = {
    "ewt": ("en", "UD_English-EWT"),
    "gsd": ("ja", "UD_Japanese-GSD"),
}
UD_WHICH: tuple[str, ...] = ("pud",) + tuple(
    f"{tb}-{split}" for tb in UD_DEV_TEST_TREEBANKS for split in ("dev", "test")
)

# ISO 639-1 -> the ISO 639-3 code used in the Tatoeba file names (data/tatoeba/tatoeba.<iso3>-eng.*).
# Tatoeba (LASER v1) uses macro-language members for some: Mandarin 'cmn' for zh, Standard Arabic 'ara',
# Swahili 'swh', Standard Latvian 'lvs', Standard Malay 'zsm', Persian 'pes'.
TATOEBA_ISO3: dict[str, str] = {
    "ar": "ara",
    "de": "deu",
    "es": "spa",
    "fi": "fin",
    "fr": "fra",
    "hi": "hin",
    "id": "ind",
    "it": "ita",
    "pt": "por",
    "ru": "rus",
    "tr": "tur",
    "zh": "cmn",
    "nl": "nld",
    "el": "ell",
    "ro": "ron",
    "th": "tha",
    "vi": "vie",
    "et": "est",
    "sw": "swh",
    "ta": "tam",
    "ja": "jpn",
    "ko": "kor",
    "bg": "bul",
    "he": "heb",
    "hu": "hun",
    "ur": "urd",
    "af": "afr",
    "bn": "ben",
    "eu": "eus",
    "fa": "pes",
    "jv": "jav",
    "ka": "kat",
    "kk": "kaz",
    "ml": "mal",
    "mr": "mar",
    "ms": "zsm",
    "te": "tel",
    "tl": "tgl",
}

# One UTF-8 UDHR text per language, inside data/nltk/udhr2.zip (the Unicode "udhr2" corpus, full texts).
# Scripts/varieties chosen to match the evaluation data: zh = Traditional (UD_Chinese-PUD is Traditional),
# pt = European Portuguese (UD_Portuguese-PUD is European), el = monotonic, ar = Standard Arabic.
UDHR_FILES: dict[str, str] = {
    "ar": "udhr2/arb.txt",
    "de": "udhr2/deu.txt",
    "en": "udhr2/eng.txt",
    "es": "udhr2/spa.txt",
    "fi": "udhr2/fin.txt",
    "fr": "udhr2/fra.txt",
    "hi": "udhr2/hin.txt",
    "id": "udhr2/ind.txt",
    "it": "udhr2/ita.txt",
    "pt": "udhr2/por_PT.txt",
    "ru": "udhr2/rus.txt",
    "tr": "udhr2/tur.txt",
    "zh": "udhr2/cmn_hant.txt",
    "nl": "udhr2/nld.txt",
    "el": "udhr2/ell_monotonic.txt",
    "ro": "udhr2/ron.txt",
    "th": "udhr2/tha.txt",
    "vi": "udhr2/vie.txt",
}

XQUAD_LANGS: tuple[str, ...] = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
XCOPA_LANGS: tuple[str, ...] = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")
XCOPA_TRANSLATED_LANGS: tuple[str, ...] = tuple(l for l in XCOPA_LANGS if l != "qu")  # no Quechua in data-gmt
XCOPA_SPLITS: tuple[str, ...] = ("val", "test")
# Universal NER (UNER v1; data/uner): evaluation set name -> (directory, file). One annotation guideline
# (PER/ORG/LOC, plus OTH in hr/sr) for all. PUD sets are the 1,000 PUD sentences (the NER target scores their UPOS
# evaluation half: treebanks.load_uner); the others are whole test sets of other treebanks, named <iso>-<treebank>
# where the language also has a PUD set (pt-bosque, zh-gsd), else by the ISO 639-1 code.
UNER_PUD_SETS: dict[str, str] = {
    "en": "UNER_English-PUD",
    "de": "UNER_German-PUD",
    "pt": "UNER_Portuguese-PUD",
    "ru": "UNER_Russian-PUD",
    "sv": "UNER_Swedish-PUD",
    "zh": "UNER_Chinese-PUD",
}
UNER_TEST_SETS: dict[str, tuple[str, str]] = {
    "da": ("UNER_Danish-DDT", "da_ddt-ud-test"),
    "hr": ("UNER_Croatian-SET", "hr_set-ud-test"),
    "sr": ("UNER_Serbian-SET", "sr_set-ud-test"),
    "sk": ("UNER_Slovak-SNK", "sk_snk-ud-test"),
    "pt-bosque": ("UNER_Portuguese-Bosque", "pt_bosque-ud-test"),
    "zh-gsd": ("UNER_Chinese-GSD", "zh_gsd-ud-test"),
}
UNER_SETS: tuple[str, ...] = tuple(UNER_PUD_SETS) + tuple(UNER_TEST_SETS)
UNER_EWT_SPLITS: tuple[str, ...] = ("dev", "test")
CONLL2002_LANGS: dict[str, str] = {"es": "esp", "nl": "ned"}
CONLL2002_SPLITS: tuple[str, ...] = ("train", "testa", "testb")
CONLL2000_SPLITS: tuple[str, ...] = ("train", "test")
TREC_SPLITS: tuple[str, ...] = ("train", "test")


def _allowed(values) -> str:
    return ", ".join(sorted(values))


def check_choice(kind: str, value, allowed) -> None:
    """Raise DataError naming ``kind`` and listing the allowed values when ``value`` is not one of them."""
    if value not in allowed:
        raise DataError(f"unknown {kind} {value!r}: allowed are {_allowed(allowed)}")


# --------------------------------------------------------------------------- files
def data_file(relpath: str | os.PathLike) -> Path:
    """Absolute path of a vendored file (relative to the data root); DataError if it is absent."""
    root = data_root()
    path = Path(relpath)
    if not path.is_absolute():
        path = root / path
    if not path.is_file():
        raise DataError(
            f"missing data file {path}: the vendored data lives under {root} "
            f"(see data/README.md; set {ENV_VAR} to use another copy)"
        )
    return path


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (the stored, compressed bytes for .gz/.zip)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError as exc:
        raise DataError(f"missing data file {path}: cannot compute its checksum") from exc
    return h.hexdigest()


def open_text(path: str | os.PathLike, encoding: str = "utf-8", errors: str = "strict") -> IO[str]:
    """Open a text file for reading, gunzipping transparently when the name ends in .gz."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"missing data file {p}: no such file")
    if p.suffix == ".gz":
        return gzip.open(p, "rt", encoding=encoding, errors=errors, newline=None)
    return open(p, encoding=encoding, errors=errors)


def read_bytes(path: str | os.PathLike) -> bytes:
    """All bytes of a file, gunzipped when the name ends in .gz."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"missing data file {p}: no such file")
    if p.suffix == ".gz":
        try:
            return gzip.decompress(p.read_bytes())
        except (OSError, EOFError) as exc:
            raise DataError(f"{p}: not a valid gzip file ({exc})") from exc
    return p.read_bytes()


def zip_member(zip_relpath: str, member: str) -> bytes:
    """Bytes of ``member`` inside a vendored zip (e.g. ``nltk/rte.zip``, ``rte/rte1_dev.xml``)."""
    path = data_file(zip_relpath)
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                return zf.read(member)
            except KeyError:
                raise DataError(f"missing data file {path}!{member}: no such member in the zip") from None
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path}: not a valid zip file ({exc})") from exc


def zip_members(zip_relpath: str) -> list[str]:
    """Names of the files inside a vendored zip."""
    path = data_file(zip_relpath)
    try:
        with zipfile.ZipFile(path) as zf:
            return [n for n in zf.namelist() if not n.endswith("/")]
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path}: not a valid zip file ({exc})") from exc


def ud_file(lang: str, which: str = "pud") -> Path:
    """The CoNLL-U file for ``lang``: ``which`` is "pud" (any of ALL_PUD_TREEBANKS: the 13 PUD_LANGS, sv, pl),
    "ewt-dev"/"ewt-test" (lang "en") or "gsd-dev"/"gsd-test" (lang "ja")."""
    check_choice("UD file kind", which, UD_WHICH)
    if which == "pud":
        check_choice("PUD language", lang, ALL_PUD_TREEBANKS)
        tb = ALL_PUD_TREEBANKS[lang]
        return data_file(f"ud/{tb}/{lang}_pud-ud-test.conllu.gz")
    name, split = which.split("-", 1)
    tb_lang, tb = UD_DEV_TEST_TREEBANKS[name]
    if lang != tb_lang:
        raise DataError(f"unknown language {lang!r} for UD {which}: allowed is {tb_lang} ({tb})")
    return data_file(f"ud/{tb}/{tb_lang}_{name}-ud-{split}.conllu.gz")


def uner_file(name: str) -> Path:
    """The IOB2 file of a UNER set: a name of UNER_SETS (PUD sets: all 1,000 sentences) or "ewt-dev"/"ewt-test"."""
    if name.startswith("ewt-") and name[4:] in UNER_EWT_SPLITS:
        return data_file(f"uner/UNER_English-EWT/en_ewt-ud-{name[4:]}.iob2.gz")
    check_choice("UNER set", name, UNER_SETS + tuple(f"ewt-{s}" for s in UNER_EWT_SPLITS))
    if name in UNER_PUD_SETS:
        return data_file(f"uner/{UNER_PUD_SETS[name]}/{name}_pud-ud-test.iob2.gz")
    folder, stem = UNER_TEST_SETS[name]
    return data_file(f"uner/{folder}/{stem}.iob2.gz")


def tatoeba_languages() -> list[str]:
    """ISO 639-3 codes with a Tatoeba pair file in the data."""
    d = data_root() / "tatoeba"
    return sorted(p.name.split(".")[1].split("-")[0] for p in d.glob("tatoeba.*-eng.eng.gz"))


def tatoeba_files(iso3: str) -> tuple[Path, Path]:
    """(xx file, eng file) for a Tatoeba language; accepts an ISO 639-1 code listed in TATOEBA_ISO3 too."""
    code = TATOEBA_ISO3.get(iso3, iso3)
    langs = tatoeba_languages()
    if code not in langs:
        raise DataError(f"unknown Tatoeba language {iso3!r}: allowed are the ISO 639-3 codes {', '.join(langs)}")
    return (data_file(f"tatoeba/tatoeba.{code}-eng.{code}.gz"), data_file(f"tatoeba/tatoeba.{code}-eng.eng.gz"))


# --------------------------------------------------------------------------- checksums
CHECKSUMS_FILE = "CHECKSUMS.sha256"


def read_checksums() -> dict[str, str]:
    """relpath -> sha256 from data/CHECKSUMS.sha256 (``sha256sum`` format)."""
    path = data_file(CHECKSUMS_FILE)
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split(None, 1)
            if len(parts) != 2 or len(parts[0]) != 64:
                raise DataError(f"{path}:{lineno}: expected '<sha256>  <path>'")
            out[parts[1].lstrip("*")] = parts[0]
    return out


def verify_checksums(relpaths=None) -> dict[str, str]:
    """Check vendored files against CHECKSUMS.sha256; returns relpath -> sha256 of those checked.

    ``relpaths`` limits the check (default: every listed file). Raises DataError on the first mismatch.
    """
    sums = read_checksums()
    todo = list(sums) if relpaths is None else list(relpaths)
    out = {}
    for rel in todo:
        if rel not in sums:
            raise DataError(f"{rel}: not listed in {CHECKSUMS_FILE}")
        actual = file_sha256(data_file(rel))
        if actual != sums[rel]:
            raise DataError(
                f"{data_file(rel)}: sha256 {actual[:12]}… does not match {CHECKSUMS_FILE} ({sums[rel][:12]}…)"
            )
        out[rel] = actual
    return out


def decode_text(data: bytes, encoding: str, source) -> str:
    """Decode bytes, turning a decoding failure into DataError naming ``source``."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"{source}: cannot decode as {encoding} at byte {exc.start} ({exc.reason})") from exc
