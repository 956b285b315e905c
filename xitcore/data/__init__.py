"""Vendored data (``<repo>/data``) and one reader per file format. See docs/DESIGN.md and data/README.md.

All readers raise :class:`xitcore.errors.DataError` (one line naming the file/line, or the unknown
language/split and what is allowed) on missing or malformed input.
"""
from xitcore.data.paths import (
    CONLL2000_SPLITS,
    CONLL2002_LANGS,
    CONLL2002_SPLITS,
    DATA_ROOT,
    PUD_LANGS,
    PUD_TREEBANKS,
    TATOEBA_ISO3,
    TREC_SPLITS,
    UD_WHICH,
    UDHR_FILES,
    XCOPA_LANGS,
    XCOPA_SPLITS,
    XCOPA_TRANSLATED_LANGS,
    XQUAD_LANGS,
    data_file,
    data_root,
    file_sha256,
    open_text,
    read_checksums,
    tatoeba_files,
    tatoeba_languages,
    ud_file,
    verify_checksums,
    zip_member,
)
from xitcore.data.conllu import UDSentence, read_conllu
from xitcore.data.tagging import (
    is_iob2,
    read_conll2000,
    read_conll2002,
    read_ieer_documents,
    read_iob_columns,
    to_iob2,
    tokenize,
)
from xitcore.data.readers import (
    read_rte,
    read_sentence_polarity,
    read_squad,
    read_tatoeba,
    read_trec,
    read_udhr,
    read_xcopa,
    read_xquad,
)

__all__ = [
    "CONLL2000_SPLITS", "CONLL2002_LANGS", "CONLL2002_SPLITS", "DATA_ROOT", "PUD_LANGS", "PUD_TREEBANKS",
    "TATOEBA_ISO3", "TREC_SPLITS", "UD_WHICH", "UDHR_FILES", "XCOPA_LANGS", "XCOPA_SPLITS",
    "XCOPA_TRANSLATED_LANGS", "XQUAD_LANGS",
    "data_file", "data_root", "file_sha256", "open_text", "read_checksums", "tatoeba_files",
    "tatoeba_languages", "ud_file", "verify_checksums", "zip_member",
    "UDSentence", "read_conllu",
    "is_iob2", "read_conll2000", "read_conll2002", "read_ieer_documents", "read_iob_columns", "to_iob2", "tokenize",
    "read_rte", "read_sentence_polarity", "read_squad", "read_tatoeba", "read_trec", "read_udhr", "read_xcopa",
    "read_xquad",
]
