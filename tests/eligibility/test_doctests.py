"""The Examples sections of the eligibility and safety modules run as doctests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "radiotrial.eligibility",
    "radiotrial.eligibility._engine",
    "radiotrial.eligibility._labs",
    "radiotrial.eligibility._renal",
    "radiotrial.eligibility._tumour",
    "radiotrial.safety",
    "radiotrial.safety._ae",
    "radiotrial.safety._ctcae",
]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
