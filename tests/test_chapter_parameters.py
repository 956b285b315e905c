"""A chapter given a parameter it does not take fails with one line (papermill itself only warns)."""

import types

import pytest
import yaml
from conftest import REPO

from xitcore.book import ChapterParameterError, check_parameters

ALLOWED = ("preset", "condition", "runs_dir")
KERNEL = {"In": [], "Out": {}, "get_ipython": print, "_": None, "__name__": "__main__", "xitcore": types}


def test_the_chapter_parameters_pass():
    check_parameters({**KERNEL, "preset": "smoke", "condition": "en-qa", "runs_dir": "runs"}, *ALLOWED)


def test_an_unknown_parameter_is_one_line():
    with pytest.raises(ChapterParameterError) as e:
        check_parameters({"preset": "smoke", "condition": "en-qa", "runs_dir": "runs", "seed": 1}, *ALLOWED)
    msg = str(e.value)
    assert "\n" not in msg and "chapter parameter 'seed' is unknown; allowed: preset, condition, runs_dir" in msg


def test_a_params_file_given_with_f_is_accepted_at_its_committed_values():
    injected = yaml.safe_load((REPO / "params/smoke/en-qa.yaml").read_text())  # what papermill -f injects
    check_parameters({"runs_dir": "runs", **injected}, *ALLOWED)
    with pytest.raises(ChapterParameterError, match=r"'seeds' = \[4\] is not what params/smoke/en-qa.yaml says"):
        check_parameters({"runs_dir": "runs", **injected, "seeds": [4]}, *ALLOWED)
