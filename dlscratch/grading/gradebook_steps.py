"""nbgrader's OverwriteCells and SaveAutoGrades, with the gradebook read once per notebook.

Both look up one row per cell (a query that joins five tables), and SaveAutoGrades commits once per
cell: about 60 queries and 30 commits for assignment 1's notebook. These subclasses read the
notebook's rows in one query per table, answer nbgrader's per-cell lookups from them, and commit
once. nbgrader's own code still decides everything: only the rows come from elsewhere.
Configured in nbgrader_config.py; tests/grading/test_gradebook_steps.py compares them with nbgrader's.
"""
import types

from nbgrader import preprocessors as nbgrader_preprocessors
from nbgrader.api import BaseCell, Comment, Grade, Gradebook, MissingEntry


class _Rows:
    """Stands in for the Gradebook inside one of nbgrader's preprocessors: its per-cell lookups are
    answered from rows read beforehand, its commits wait for the caller's, and anything else goes to
    the real gradebook."""

    def __init__(self, gradebook, **tables):  # table: {cell name: row}
        self._gradebook, self._tables = gradebook, tables
        self.db = types.SimpleNamespace(commit=lambda: None)

    def _find(self, table, name):
        try:
            return self._tables[table][name]
        except KeyError:
            raise MissingEntry() from None

    def find_grade(self, name, *_):
        return self._find("grades", name)

    def find_comment(self, name, *_):
        return self._find("comments", name)

    def find_source_cell(self, name, *_):
        return self._find("source_cells", name)

    def find_graded_cell(self, name, *_):
        return self._find("graded_cells", name)

    def __getattr__(self, name):
        return getattr(self._gradebook, name)


def by_cell_name(gradebook, row_class, notebook_id):
    """{cell name: row} for the Grade or Comment rows of one submitted notebook, in one query."""
    rows = (gradebook.db.query(BaseCell.name, row_class).join(BaseCell, BaseCell.id == row_class.cell_id)
            .filter(row_class.notebook_id == notebook_id))
    return dict(rows.all())


class SaveAutoGrades(nbgrader_preprocessors.SaveAutoGrades):
    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        self.notebook_id, self.assignment_id = ids["notebook"], ids["assignment"]
        self.student_id, self.db_url = ids["student"], ids["db_url"]
        with Gradebook(self.db_url) as gradebook:
            submitted = gradebook.find_submission_notebook(self.notebook_id, self.assignment_id, self.student_id)
            self.gradebook = _Rows(gradebook, grades=by_cell_name(gradebook, Grade, submitted.id),
                                   comments=by_cell_name(gradebook, Comment, submitted.id))
            nb, resources = super(nbgrader_preprocessors.SaveAutoGrades, self).preprocess(nb, resources)
            gradebook.db.commit()
        return nb, resources


class OverwriteCells(nbgrader_preprocessors.OverwriteCells):
    def preprocess(self, nb, resources):
        self.notebook_id, self.assignment_id = resources["nbgrader"]["notebook"], resources["nbgrader"]["assignment"]
        self.db_url = resources["nbgrader"]["db_url"]
        with Gradebook(self.db_url) as gradebook:
            source = gradebook.find_notebook(self.notebook_id, self.assignment_id)
            self.gradebook = _Rows(gradebook, source_cells={c.name: c for c in source.source_cells},
                                   graded_cells={c.name: c for c in [*source.task_cells, *source.grade_cells]})
            nb, resources = super(nbgrader_preprocessors.OverwriteCells, self).preprocess(nb, resources)
            if self.add_missing_cells:
                nb, resources = self.add_missing_grade_cells(nb, resources)
                nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources
