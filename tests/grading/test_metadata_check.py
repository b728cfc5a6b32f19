"""The course's CheckCellMetadata (nbgrader_config.py) decides exactly as nbgrader's own: the same notebooks pass,
and a corrupted one fails with the same exception and message."""
import copy
import logging
from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import CheckCellMetadata as StockCheck

from dlscratch.grading.isolation.preprocessor import CheckCellMetadata

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "solutions").glob("[0-9]*/*.ipynb")) + sorted((ROOT / "exercises").glob("[0-9]*/*.ipynb"))


def _graded(nb, kind):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get(kind))


def _set(kind, key, value):
    def change(nb):
        _graded(nb, kind).metadata.nbgrader[key] = value
    return change


def _drop(kind, key):
    def change(nb):
        del _graded(nb, kind).metadata.nbgrader[key]
    return change


def _duplicate_id(nb):
    cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    cells[1].metadata.nbgrader.grade_id = cells[0].metadata.nbgrader.grade_id


def _markdown_grade(nb):
    cell = _graded(nb, "grade")
    cell.cell_type = "markdown"
    cell.metadata.nbgrader.solution = False
    cell.pop("outputs", None)
    cell.pop("execution_count", None)


CORRUPTIONS = {
    "none": lambda nb: None,
    "points as text": _set("grade", "points", "two"),
    "no points": _drop("grade", "points"),
    "no grade_id": _drop("grade", "grade_id"),
    "empty grade_id": _set("grade", "grade_id", ""),
    "grade_id a number": _set("grade", "grade_id", 7),
    "locked a string": _set("locked", "locked", "yes"),
    "unknown key": _set("grade", "hack", 1),
    "old schema": _set("grade", "schema_version", 2),
    "new schema": _set("grade", "schema_version", 4),
    "schema as text": _set("grade", "schema_version", "3"),
    "duplicate grade_id": _duplicate_id,
    "markdown graded, no solution": _markdown_grade,
}


def _outcome(check, nb):
    """(exception type, message) of check.preprocess(nb), or None when it passes."""
    try:
        check.preprocess(nb, {})
    except Exception as e:  # noqa: BLE001 (the outcome is what is compared)
        return type(e).__name__, str(e)
    return None


def _errors(check, nb, caplog):
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        outcome = _outcome(check, nb)
    return outcome, [r.getMessage().splitlines()[-1] for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_the_faster_check_decides_as_nbgraders_own(path, corruption, caplog):
    nb = nbformat.read(path, as_version=4)
    CORRUPTIONS[corruption](nb)
    theirs = _errors(StockCheck(), copy.deepcopy(nb), caplog)
    ours = _errors(CheckCellMetadata(), copy.deepcopy(nb), caplog)
    assert ours == theirs
    assert (theirs[0] is None) == (corruption == "none")  # every corruption is one nbgrader refuses


def test_the_detailed_reason_names_the_broken_field(caplog):
    """The log keeps nbgrader's traceback of the schema error, which says what is wrong and where."""
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    _set("grade", "points", "two")(nb)
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        _outcome(CheckCellMetadata(), nb)
    assert "'two' is not of type 'number'" in caplog.text


def test_a_good_notebook_is_still_checked_after_a_bad_one():
    """The cached validator keeps no state from one notebook to the next."""
    good, bad = (nbformat.read(NOTEBOOKS[0], as_version=4) for _ in range(2))
    _set("grade", "points", "two")(bad)
    check = CheckCellMetadata()
    assert _outcome(check, bad) is not None
    assert _outcome(check, good) is None
    assert _outcome(check, bad) is not None
    MetadataValidator().validate_nb(good)  # and nbgrader agrees
