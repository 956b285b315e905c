"""Multilingual intermediate data at full scale (issue 5, item 3).

- ``mc4``: continued MLM text streamed from mC4 with XLM-R's alpha-smoothed language sampling.
- ``translate``: batched, disk-cached, resumable M2M100/NLLB translation of English task examples.
- ``label_projection``: span labels carried through translation by marker preservation.

Submodules import heavy libraries (datasets, torch, transformers) only inside the functions that need them.
"""
