"""Fixtures for the nbgrader pipeline tests (see nbgrader_course.py).

    course   a temporary course: the repository's nbgrader_config.py and solutions/,
             with every assignment generated into its own gradebook
"""
import shutil

import pytest

from .nbgrader_course import REPO, TEST_CELL_TIMEOUT, Course, nbgrader


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "solutions", root / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    config = (REPO / "nbgrader_config.py").read_text(encoding="utf-8")
    (root / "nbgrader_config.py").write_text(config + f"\nc.Execute.timeout = {TEST_CELL_TIMEOUT}\n",
                                             encoding="utf-8")
    nbgrader("generate_assignment", "[0-9]*", "--force", cwd=root)
    return Course(root)
