"""The grading workload: a simulated class, graded by stock nbgrader and by `scripts/grade.sh`.

    python -m benchmarks --grading                 # a sample of each kind, extrapolated
    python -m benchmarks --grading --students 500  # the full class: 500 per assignment

Each simulated student hands in every assignment. Per assignment, the submissions cycle
through a fixed mix (seeded): correct work (about half), the typical mistakes the grading
tests know (tests/grading/submissions.py: one wrong rule per op, wrong traversals, wrong
training loops) and hostile or broken code (an infinite loop, an exception, `os._exit`, a
deleted or edited test cell).

Both graders run the same course and the repository's nbgrader_config.py, with the cell timeout
shortened to `TIMEOUT` seconds for both, so that the infinite loops do not dominate. Stock is
nbgrader as it comes: `nbgrader autograde ASSIGNMENT --force`, one command per assignment, as an
instructor would run it, in its own copy of the course whose config lists no isolated assignment
(so nbgrader's own Execute runs each notebook in a kernel); ours is `grade.sh --all --no-feedback`
(stock writes no feedback either), every assignment isolated. Scores differ where they should:
a hostile submission that kills its kernel gets 0 from stock and the points it earned from ours.
"""
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.grading holds the catalogue of mistakes

from dlscratch.grading.parallel import default_jobs  # noqa: E402
from tests.grading import submissions as s  # noqa: E402
from tests.grading.nbgrader_course import BIN, NOTEBOOKS, environment  # noqa: E402

TIMEOUT = 8  # seconds a cell may run, in both graders (the repository's config says 60)

EXIT = "import os\nos._exit(1)\n"


def mix(assignment):
    """[(kind, name, submission() keyword arguments)] for one assignment, in the order they cycle."""
    correct = ("correct", "correct", {})
    if assignment == "01-backward-passes":
        mistakes = [("mistake", f"{op} rule", {"answers": {f"{op}_backward": code}})
                    for op, (code, _) in s.OP_MISTAKES.items()]
        hostile = [("hostile", "raises", {"answers": {"exp_backward": s.RAISES}}),
                   ("hostile", "infinite loop", {"answers": {"relu_backward": s.INFINITE_LOOP}}),
                   ("hostile", "os._exit", {"insert_after": {"negative_backward": EXIT}}),
                   ("hostile", "deleted test", {"drop": {"test_negative"}})]
    elif assignment == "02-backprop":
        mistakes = [("mistake", "consumer-walking order", {"answers": {"topological_order": s.CONSUMER_WALKING_ORDER}}),
                    ("mistake", "overwriting backprop", {"answers": {"backprop": s.OVERWRITING_BACKPROP}}),
                    ("mistake", "breadth-first backprop", {"answers": {"backprop": s.BREADTH_FIRST_BACKPROP}}),
                    ("mistake", "pulling backprop", {"answers": {"backprop": s.PULLING_BACKPROP}})]
        hostile = [("hostile", "os._exit", {"insert_after": {"backprop": EXIT}}),
                   ("hostile", "edited test", {"replace": {"test_backprop_diamond": "pass\n"}})]
    elif assignment == "04-forward-engine":
        mistakes = [("mistake", "recursive order", {"answers": {"post_order": s.RECURSIVE_POST_ORDER}}),
                    ("mistake", "recomputing", {"answers": {"evaluate": s.RECOMPUTING_EVALUATE}}),
                    ("mistake", "unchecked feed", {"answers": {"evaluate": s.UNCHECKED_FEED_EVALUATE}}),
                    ("mistake", "mutating", {"answers": {"evaluate": s.MUTATING_EVALUATE}})]
        hostile = [("hostile", "os._exit", {"insert_after": {"evaluate": EXIT}})]
    else:
        mistakes = [("mistake", "naive cross-entropy", {"answers": {"cross_entropy": s.NAIVE_CROSS_ENTROPY}}),
                    ("mistake", "in-place step", {"answers": {"gradient_descent_step": s.IN_PLACE_STEP}}),
                    ("mistake", "every-node train", {"answers": {"train": s.EVERY_NODE_TRAIN}}),
                    ("mistake", "ascending train", {"answers": {"train": s.ASCENDING_TRAIN}})]
        hostile = [("hostile", "os._exit", {"insert_after": {"cross_entropy": EXIT}})]
    # about half correct, then the mistakes and the hostile ones, interleaved
    return [x for item in mistakes + hostile for x in (correct, item)]


def make_course(root, students, assignments=tuple(NOTEBOOKS), timeout=TIMEOUT, isolated=True):
    """A course in `root` with `students` submissions of each assignment (a number, or {assignment: number});
    returns {(assignment, student): kind}. isolated=False: nbgrader as it comes (every notebook in a kernel)."""
    root = Path(root)
    shutil.copytree(ROOT / "solutions", root / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    config = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8") + f"\nc.Execute.timeout = {timeout}\n"
    if not isolated:
        config += "c.IsolatedExecute.assignments = []  # stock: nbgrader's own Execute, a kernel per notebook\n"
    (root / "nbgrader_config.py").write_text(config, encoding="utf-8")
    kinds = {}
    for assignment in assignments:
        notebook = NOTEBOOKS[assignment]
        release = json.loads((ROOT / "exercises" / assignment / f"{notebook}.ipynb").read_text(encoding="utf-8"))
        solved = s.solutions(json.loads((ROOT / "solutions" / assignment / f"{notebook}.ipynb").read_text(
            encoding="utf-8")))
        cycle = mix(assignment)
        for i in range(students[assignment] if isinstance(students, dict) else students):
            kind, name, change = cycle[i % len(cycle)]
            student = f"student{i:03d}"
            nb = s.submission(release, {**solved, **change.get("answers", {})},
                              drop=change.get("drop", ()), replace=change.get("replace"),
                              insert_after=change.get("insert_after"))
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{notebook}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
            kinds[(assignment, student)] = f"{kind}: {name}"
    return kinds


def _run(command, cwd):
    """Seconds `command` took. Exit code 1 is expected from stock when a notebook kills its kernel: it
    cannot grade that one, and goes on with the others."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=environment(), text=True, capture_output=True)
    refused = done.returncode == 1 and ("could not grade" in done.stderr or "NbGraderException" in done.stderr
                                        or "failed" in done.stderr.lower())
    if done.returncode != 0 and not refused:
        raise SystemExit(f"`{' '.join(map(str, command))}` failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def stock(root, assignments):
    """{assignment: (seconds, of which start-up)} for stock sequential `nbgrader autograde A --force`, one
    command per assignment. The start-up (Python, nbgrader, the gradebook) is timed on a command that finds
    no submission: it is paid once per command, however many submissions it grades."""
    _run([str(BIN / "nbgrader"), "generate_assignment", "[0-9]*", "--force"], root)  # not timed: both need it
    times = {}
    for a in assignments:
        start = time.perf_counter()
        nothing = subprocess.run([str(BIN / "nbgrader"), "autograde", a, "--force", "--student", "nobody"],
                                 cwd=root, env=environment(), text=True, capture_output=True)
        startup = time.perf_counter() - start
        if "No notebooks were matched" not in nothing.stdout + nothing.stderr:
            raise SystemExit(f"timing stock's start-up failed:\n{nothing.stdout[-2000:]}\n{nothing.stderr[-2000:]}")
        times[a] = (_run([str(BIN / "nbgrader"), "autograde", a, "--force"], root), startup)
    return times


def ours(root, jobs):
    """Seconds for `python -m dlscratch.grading.cli --all` (what scripts/grade.sh runs), without feedback."""
    return _run([sys.executable, "-m", "dlscratch.grading.cli", "--all", "--course", str(root),
                 "--jobs", str(jobs), "--no-feedback"], ROOT)


def scores(root):
    """{(assignment, student): score} from the course's gradebook."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{Path(root) / 'gradebook.db'}") as gb:
        return {(sub.assignment.name, sub.student.id): sub.score
                for a in NOTEBOOKS for sub in gb.assignment_submissions(a)}


def run(students, jobs, scratch, stock_students=None, assignments=None):
    """Grade `students` per assignment with ours, and a sample with stock; print a table.

    Stock is slow, so it grades `stock_students` per assignment, by default one whole cycle of each
    assignment's mix (so that every kind counts as often as in ours: assignment 1's infinite loop costs
    both graders two cell timeouts). Its time for ours's workload is then estimated per assignment: its
    command's start-up once, plus `students` times its seconds per submission of that assignment (the
    command's time less its start-up, over the sample)."""
    assignments = list(assignments or NOTEBOOKS)
    jobs = jobs or default_jobs()
    sample = {a: stock_students or len(mix(a)) for a in assignments}
    scratch = Path(scratch)
    print(f"grading workload: {students} submissions per assignment for ours; for stock, "
          + ", ".join(f"{n} of {a}" for a, n in sample.items())
          + f"; {len(mix(assignments[0])) // 2} of every {len(mix(assignments[0]))} correct in "
          f"{assignments[0]}; cell timeout {TIMEOUT} s", flush=True)
    ours_root, stock_root = scratch / "ours", scratch / "stock"
    kinds = make_course(ours_root, students, assignments)
    make_course(stock_root, sample, assignments, isolated=False)
    timed = stock(stock_root, assignments)
    t_stock = {a: seconds for a, (seconds, _) in timed.items()}
    t_ours = ours(ours_root, jobs)
    n_stock, n_ours = sum(sample.values()), students * len(assignments)
    # stock's time for ours's workload: each command's start-up once, and each submission's own time
    per_submission = {a: (seconds - startup) / sample[a] for a, (seconds, startup) in timed.items()}
    t_stock_here = sum(timed[a][1] + students * per_submission[a] for a in assignments)
    rate_stock, rate_ours = n_ours / t_stock_here * 60, n_ours / t_ours * 60
    mine, theirs = scores(ours_root), scores(stock_root)
    same = [k for k in theirs if k in mine]
    differ = [k for k in same if mine[k] != theirs[k]]
    print(f"{'grader':46} {'submissions':>11} {'seconds':>9} {'per minute':>11}")
    print(f"{'stock nbgrader autograde (sequential), measured':46} {n_stock:11d} {sum(t_stock.values()):9.1f} "
          f"{n_stock / sum(t_stock.values()) * 60:11.1f}")
    print(f"{'  ... on the same workload as grade.sh':46} {n_ours:11d} {t_stock_here:9.1f} {rate_stock:11.1f}")
    print(f"{f'scripts/grade.sh --all --jobs {jobs}':46} {n_ours:11d} {t_ours:9.1f} {rate_ours:11.1f}")
    print("stock seconds per submission: " + ", ".join(f"{a} {per_submission[a]:.2f}" for a in assignments)
          + "; start-up per command: " + ", ".join(f"{timed[a][1]:.1f}" for a in assignments))
    print(f"speed-up {rate_ours / rate_stock:.2f}x; 500 students x 3 assignments would take "
          f"{1500 / rate_ours:.1f} min with grade.sh, {1500 / rate_stock:.1f} min with stock"
          + ("" if students >= 500 else " (extrapolated from the rates above)"))
    print(f"not graded (a notebook that kills its kernel): {n_ours - len(mine)} of {n_ours} by grade.sh, "
          f"{n_stock - len(theirs)} of {n_stock} by stock")
    honest = [k for k in differ if not kinds[k].startswith("hostile")]
    print(f"same scores as stock on all {len(same)} submissions graded by both" if not differ else
          f"scores differ from stock on {len(differ)} of {len(same)} graded by both: "
          + ", ".join(sorted({kinds[k] for k in differ}))
          + ("" if not honest else f"; SCORES OF HONEST WORK DIFFER: {honest[:5]}"))
    by_kind = {}
    for key, kind in kinds.items():
        by_kind.setdefault(kind.split(":")[0], []).append(mine.get(key))
    print("graded by ours: " + ", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items())))
    return {"stock": rate_stock, "ours": rate_ours, "differ": differ, "honest_differ": honest}
