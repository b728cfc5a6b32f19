"""What the hostile-submission suites (test_hostile*.py) share: grading their cases, reading the verdicts,
the assertions every suite makes, and the pieces of attack that recur from assignment to assignment.

A suite is a list of cases (hostile*.py): `cases(course_root)` returns

    {student: (answers, changes, cells that must score 0)}

where each case is the instructor's solution with one attack or accident in it: `answers` replace answer
cells, `changes` are build() keyword arguments. `grade()` submits every case into its own copy of the
course (shards, graded side by side by real `nbgrader autograde`) and returns a `Graded`: scores from the
gradebook, outputs from the autograded notebooks. Each case must then lose exactly the points of the cells
it breaks, and keep every other point (`assert_loses_exactly_what_it_did_not_earn`).
"""
import textwrap

from .nbgrader_course import nbgrader_in_parallel
from .sandbox_tools import require_bwrap
from .submissions import grade_id, solutions, submission

SHARDS = 2


def code(text):
    return textwrap.dedent(text).strip() + "\n"


def function(signature, body):
    """`def signature:` with `body` (dedented) as its body."""
    return f"def {signature}:\n" + textwrap.indent(code(body), "    ")


# --- pieces of attack ------------------------------------------------------------------------------

# An IPython input transformer that turns every test cell into `pass`, and an AST transformer that drops
# every statement calling a check.
INPUT_TRANSFORMER = code("""
    def skip_the_tests(lines):
        return ["pass\\n"] if any("grading." in line for line in lines) else lines
    get_ipython().input_transformers_cleanup.append(skip_the_tests)
""")

AST_TRANSFORMER = code("""
    import ast

    class NoChecks(ast.NodeTransformer):
        def visit_Expr(self, node):
            text = ast.unparse(node)
            return ast.Pass() if "grading.check" in text else node

    get_ipython().ast_transformers.append(NoChecks())
""")

# IPython's error display silenced, so that a failing test cell would show no error.
SILENT_TRACEBACKS = code("""
    ip = get_ipython()
    ip.showtraceback = lambda *args, **kwargs: None
    ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
""")

EXIT = "import os\nos._exit(1)\n"  # ends the process the cell runs in
LOOP = "while True:\n    pass\n"


def honest_helpers(helper):
    """The honest case's own cell, the same shape as the attacks' cells: a helper of the student's
    (`helper`, code), a magic, a print to stderr, and a file written into the scratch folder."""
    return "%matplotlib inline\nimport sys, warnings\n" + code(helper) + code("""
        with open("notes.txt", "w") as f:  # the scratch folder is writable
            f.write("my notes")
        print("helpers ready", file=sys.stderr)
    """)


def patched_checks(module, names):
    """Code that replaces the checks `names` by do-nothings, both in `grading` and in dlscratch.grading.`module`."""
    return code(f"""
        import dlscratch.grading.{module} as checks_module
        for name in {sorted(names)!r}:
            setattr(grading, name, lambda *args, **kwargs: None)
            setattr(checks_module, name, lambda *args, **kwargs: None)
    """)


def rebound_grading(names):
    """Code that rebinds `grading` (and the module itself) to a namespace of do-nothing checks `names`."""
    return code(f"""
        import sys, types
        def nothing(*args, **kwargs):
            return None
        grading = types.SimpleNamespace(**dict.fromkeys({sorted(names)!r}, nothing))
        sys.modules["dlscratch.grading"] = grading
        ds.grading = grading
    """)


def reads_solutions(course_root, assignment, notebook, name):
    """Code that defines `name` by running the instructor's solution cell, read from the course's solutions/."""
    path = f"{course_root}/solutions/{assignment}/{notebook}.ipynb"
    return code(f"""
        import json
        source = json.load(open({path!r}))
        for cell in source["cells"]:
            if "def {name}(" in "".join(cell["source"]):
                exec("".join(cell["source"]))
    """)


def reads_gradebook(course_root, then):
    """Code that reads the hidden tests from the course's gradebook, then runs `then` (code)."""
    return code(f"""
        import sqlite3
        gradebook = sqlite3.connect("file:{course_root}/gradebook.db?mode=ro", uri=True)
        hidden = [row[0] for row in gradebook.execute("SELECT source FROM source_cell")
                  if "BEGIN HIDDEN TESTS" in row[0]]
    """) + code(then)


def build(release_nb, solved, answers, changes):
    """The submitted notebook of a case: the release with the instructor's answers, the case's own answers,
    and its `changes`: submission()'s drop/replace/insert_after, plus `append` ({grade_id: code added at the
    end of that answer cell}), `metadata` ({grade_id: nbgrader metadata to change}) and `extra_graded_cell`
    ((source, points): a test cell of the student's own)."""
    changes = dict(changes)
    metadata = changes.pop("metadata", {})
    extra = changes.pop("extra_graded_cell", None)
    answers = {**solved, **answers}
    for cell, extra_code in changes.pop("append", {}).items():
        answers[cell] = answers[cell].rstrip("\n") + "\n" + extra_code
    nb = submission(release_nb, answers, **changes)
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        meta.update(metadata.get(meta.get("grade_id"), {}))
    if extra:
        source, points = extra
        nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "my-own-test", "outputs": [],
                            "source": source, "metadata": {"nbgrader": {
                                "grade": True, "solution": False, "locked": True, "points": points,
                                "grade_id": "my_own_test", "schema_version": 3}}})
    return nb


def graded_cells(nb):
    """The grade ids of a notebook's autograded test cells."""
    return {grade_id(c) for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")}


def points(nb):
    """The points of a notebook's test cells, as the instructor set them."""
    return sum(c["metadata"]["nbgrader"].get("points", 0) for c in nb["cells"]
               if c["metadata"].get("nbgrader", {}).get("grade"))


# --- grading and reading the verdicts ----------------------------------------------------------------

class Graded:
    """The cases of one assignment, graded: which course copy each was graded in, and what it must fail."""

    def __init__(self, assignment, courses, fails):
        self.assignment, self.courses, self.fails = assignment, courses, fails

    def scores(self, student):
        """{test cell: (score, max score)} from the gradebook."""
        return self.courses[student].scores(student, self.assignment)

    def notebook(self, student):
        return self.courses[student].autograded(student, self.assignment)

    def outputs(self, student, cell):
        """The outputs of one cell (by grade id) of the student's autograded notebook."""
        [found] = [c for c in self.notebook(student)["cells"] if grade_id(c) == cell]
        return found.get("outputs", [])

    def errors(self, student, cells):
        """The error outputs of those of the student's cells whose grade id is in `cells`."""
        return [o for c in self.notebook(student)["cells"] if grade_id(c) in cells for o in c.get("outputs", [])
                if o["output_type"] == "error"]

    def messages(self, student, cells):
        """Their errors as `name: message` lines, whitespace collapsed (isolated feedback wraps its lines)."""
        return [" ".join(f"{o['ename']}: {o['evalue']}".split()) for o in self.errors(student, cells)]


def grade(course, assignment, cases, tmp_path_factory, shards=SHARDS):
    """Submit every case of `cases(course_root)` into one of `shards` copies of `course` (in turn), grade the
    copies side by side with `nbgrader autograde`, and return the Graded cases."""
    require_bwrap()
    copies = [course.copy(tmp_path_factory.mktemp(f"hostile-{assignment}")) for _ in range(shards)]
    solved = solutions(course.source(assignment))
    release = course.release(assignment)
    plans = [cases(copy.root) for copy in copies]  # a case may name its course folder
    courses, fails = {}, {}
    for i, student in enumerate(plans[0]):
        copy, plan = copies[i % shards], plans[i % shards]
        answers, changes, fails[student] = plan[student]
        copy.submit(student, assignment, build(release, solved, answers, changes))
        courses[student] = copy
    nbgrader_in_parallel([("autograde", assignment, "--force")] * shards, [copy.root for copy in copies])
    return Graded(assignment, courses, fails)


# --- what every suite asserts ----------------------------------------------------------------------------

def assert_loses_exactly_what_it_did_not_earn(graded, student):
    """Every cell the case breaks scores 0, every other cell full marks."""
    scores = graded.scores(student)
    fails = graded.fails[student]
    assert fails <= set(scores), f"unknown cells {fails - set(scores)}"
    wrong = {cell: score for cell, score in scores.items() if score[0] != (0 if cell in fails else score[1])}
    assert not wrong, (f"{student}: these cells scored (score, max) {wrong}; "
                       f"expected 0 exactly for {sorted(fails)} and full marks elsewhere; "
                       f"their errors: {graded.messages(student, set(wrong))}")


def assert_full_marks(graded, student, total):
    scores = graded.scores(student)
    assert sum(score for score, _ in scores.values()) == total == sum(top for _, top in scores.values()), scores


def assert_feedback(graded, student, cell, *texts):
    """The cell's feedback holds an error whose `name: message` contains one of `texts`."""
    shown = graded.messages(student, {cell})
    assert shown and any(text in line for line in shown for text in texts), shown


def assert_not_run(graded, student, cell):
    """The cell (one that ended its process) is reported as not run, on that cell."""
    outputs = graded.outputs(student, cell)
    assert [o.get("ename") for o in outputs] == ["NotRun"], outputs


def assert_extra_graded_cell_ignored(graded, student, total):
    """A test cell the student added (worth 100 points) is not graded; the points are the instructor's."""
    scores = graded.scores(student)
    assert "my_own_test" not in scores
    assert sum(top for _, top in scores.values()) == total
