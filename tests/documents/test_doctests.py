"""The examples in the docstrings of the documents package are right.

(pytest collects doctests only under ``testpaths``; this keeps them checked from here.)
"""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from facturier.documents import (
    cii,
    cii_base,
    cii_lines,
    cii_notes,
    cii_parties,
    cii_tax,
    layouts,
)


@pytest.mark.parametrize(
    "module", [cii, cii_base, cii_lines, cii_notes, cii_parties, cii_tax, layouts]
)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
