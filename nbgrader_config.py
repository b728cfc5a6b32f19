"""nbgrader settings for the dlscratch exercises. See solutions/README.md, "Teaching with dlscratch".

Run every nbgrader command from this folder, with the environment's bin directory
first on PATH (nbgrader calls `alembic` by name to create the gradebook).
"""
import os
import warnings

from sqlalchemy.exc import SAWarning

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

course_root = os.path.dirname(os.path.abspath(__file__))

# Where things live. The source notebooks, with solutions and hidden tests, are in
# solutions/<assignment>/; the student versions nbgrader generates go to exercises/.
c.CourseDirectory.course_id = "dlscratch"
c.CourseDirectory.root = course_root
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"  # submitted/<student>/<assignment>/<notebook>.ipynb
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(course_root, "gradebook.db")  # git-ignored
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

# Seconds a single cell may run when validating or autograding. The longest graded cell
# (1000 training steps) takes well under a second; a student's infinite loop is stopped
# here, that cell scores 0, and grading goes on with the next cell.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

# A deleted test cell is put back at grading time instead of leaving the notebook waiting
# for a manual grade forever. nbgrader would then run it like any other; the second line of
# this notice (nbgrader comments out only the first) makes it score 0 instead, with a reason
# the student sees in the feedback. tests/grading checks that this still works.
c.OverwriteCells.add_missing_cells = True
c.OverwriteCells.missing_cell_notification = (
    "This test cell (id:{cell_id}) was deleted from the submission; nbgrader put it back.\n"
    "raise AssertionError('This test cell was deleted from the submission, so it scores 0.')\n\n"
)

# Create a student in the gradebook the first time their submission is autograded.
c.Autograde.create_student = True

# nbconvert checks the notebook against nbformat's schema after each of autograde's 13 steps; once
# after the last step of each of its two passes is enough (an invalid notebook is still refused).
c.Exporter.optimistic_validation = True

# nbgrader 0.9.6 builds a new submission's rows and reads them before adding them to the
# database session, written for SQLAlchemy 1.x. SQLAlchemy 2 then warns, for every submission,
# "Object of type <SubmittedAssignment> not in session, add operation along ... will not
# proceed"; the rows are added a line later, so nothing is lost. Only these warnings, raised
# from nbgrader's own api module, are silenced. tests/grading checks autograde prints none.
warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader\.api",
                        message=r"Object of type <\w+> not in session, add operation along")

# Feedback pages load MathJax from a mathjax/ folder written beside them instead of from a CDN,
# so formulas show offline, and long output lines wrap (dlscratch/grading/feedback.py).
c.GenerateFeedback.exporter_class = "dlscratch.grading.feedback.FeedbackExporter"

# --- Isolated grading (docs/grading-isolation.md) -------------------------------------------
# nbgrader's Execute step is replaced by IsolatedExecute: for the assignments listed below, the
# student's cells run in a bubblewrap sandbox (no network, no course files, as a user of its
# own, with resource limits) and the test cells run in nbgrader's own process, from the gradebook's copy,
# calling the student's functions only with data. An assignment not listed runs in the kernel, as stock.
# Without bubblewrap it falls back to a plain subprocess and says so loudly on every notebook.
# RestoreCellMetadata (all assignments) puts the gradebook's nbgrader metadata back on the cells it
# knows and ignores the metadata of cells it does not (a student's extra "graded" cell).
# CheckCellMetadata is nbgrader's, with its schema's validator built once instead of once per cell.
# OverwriteCells and SaveAutoGrades are nbgrader's, with the gradebook read once per notebook, not per cell.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
)

from dlscratch.grading.gradebook_steps import OverwriteCells, SaveAutoGrades  # noqa: E402
from dlscratch.grading.isolation.preprocessor import (  # noqa: E402
    CheckCellMetadata,
    IsolatedExecute,
    RestoreCellMetadata,
)

c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreCellMetadata,
                                      OverwriteCells, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [IsolatedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.IsolatedExecute.assignments = ["01-backward-passes", "02-backprop", "03-training", "04-forward-engine"]
c.IsolatedExecute.sandbox = "auto"  # "bwrap" to refuse grading without the sandbox
# --- end of isolated grading ------------------------------------------------------------------
