"""xit: intermediate-task training for zero-shot cross-lingual transfer."""

__version__ = "0.1.0"

import os as _os

# The Rust tokenizer's thread pool, once used, competes with torch's threads for the two cores of a
# laptop-class machine and made MLM steps several times slower here; torch gets the cores.
_os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
