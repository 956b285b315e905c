"""The book layer: claims ledger, figures, explorer and the jupyter-book build.

Modules: ``tables`` (pandas views of the long results table), ``figures`` (seaborn figures
whose captions name their source runs), ``claims`` (the seed paper's claims and computed
verdicts), ``explorer`` (ipywidgets explorer on plain functions), ``build`` (papermill +
jupyter-book).  The notebooks in ``notebooks/`` only call into these and into
``xitcore.config`` / ``xitcore.pipeline`` / ``xitcore.results``.

Two helpers for the notebooks live here because they must not import anything heavy:
``use_backend`` and ``as_list``.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

#: (module, function) the notebooks call; a test backend must provide all three functions
BACKEND_API = (("xitcore.config", "notebook_config"),
               ("xitcore.pipeline", "run_condition"),
               ("xitcore.results", "load_results"))


def use_backend(backend: str | None) -> str:
    """Route the notebooks' pipeline calls to ``backend`` (tests only); ``None`` keeps the real ones.

    ``backend`` is a path to a ``.py`` file or an importable module name defining
    ``notebook_config``, ``run_condition`` and ``load_results``.  Stand-in modules named
    ``xitcore.config`` / ``xitcore.pipeline`` / ``xitcore.results`` are put into ``sys.modules`` of
    the running kernel only.  Returns a one-line description of the backend in use.
    """
    if not backend:
        return "results backend: xitcore pipeline"
    path = Path(str(backend))
    if path.suffix == ".py":
        if not path.is_file():
            raise FileNotFoundError(f"backend {backend}: no such file")
        spec = importlib.util.spec_from_file_location("xit_book_backend", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    else:
        mod = importlib.import_module(str(backend))
    import xitcore

    for modname, fn in BACKEND_API:
        if not hasattr(mod, fn):
            raise AttributeError(f"backend {backend}: lacks {fn}()")
        stand_in = types.ModuleType(modname, f"stand-in for {modname} from {backend}")
        setattr(stand_in, fn, getattr(mod, fn))
        sys.modules[modname] = stand_in
        setattr(xitcore, modname.rsplit(".", 1)[1], stand_in)
    return f"results backend: {backend} (a stand-in, NOT the xitcore pipeline)"


def as_list(value, name: str = "value"):
    """Normalise a notebook parameter that may arrive as text (``papermill -p seeds "[1]"``).

    ``None`` stays ``None``; a string is parsed as YAML; a scalar becomes a one-element list.
    """
    if value is None:
        return None
    if isinstance(value, str):
        import yaml
        value = yaml.safe_load(value)
        if value is None:
            return None
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def as_dict(value, name: str = "value") -> dict:
    """Like ``as_list`` for mapping parameters (``overrides``)."""
    if value is None:
        return {}
    if isinstance(value, str):
        import yaml
        value = yaml.safe_load(value) or {}
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a mapping, not {type(value).__name__}")
    return dict(value)
