"""Grade assignments end to end: `bash scripts/grade.sh ASSIGNMENT...` runs this module.

    python -m dlscratch.grading.cli ASSIGNMENT [ASSIGNMENT...] [--course DIR] [--jobs N] [--only-new]
    python -m dlscratch.grading.cli --all [--jobs N]        # every assignment: a whole class

From the course folder (where nbgrader_config.py is):
  1. record the assignments in the gradebook (generate_assignment, through nbgrader's API);
  2. give each hand-placed submission a timestamp.txt (its notebooks' newest modification
     time) where it has none, so that grades.csv has submission times;
  3. autograde every submission (only the new ones with --only-new) and write its feedback,
     N at a time in long-lived worker processes, each into its own copy of the gradebook, with
     a progress bar; then merge the copies into the gradebook from this one process, since
     nbgrader's sqlite gradebook is not safe with several writers (dlscratch/grading/parallel.py);
  4. export every grade to grades.csv;
  5. print a summary per assignment: each student's score, the average, the test cells most
     often failed. `--report FILE` also writes the class report (dlscratch/grading/class_report.py).
"""
import argparse
import os
import subprocess
import sys
from datetime import datetime, timezone
from itertools import zip_longest
from pathlib import Path

from .parallel import GradingError, default_jobs, grade_many, load_api

BIN = Path(sys.executable).parent
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # what nbgrader's exchange writes; "UTC" at the end


def nbgrader(course, *args):
    """Run one nbgrader command in the course folder; raise GradingError with its output if it fails."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # it runs alembic by name
    env.pop("NBGRADER_EXECUTION", None)
    done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, text=True, capture_output=True)
    if done.returncode != 0:
        raise GradingError(f"`nbgrader {' '.join(args)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


def submitted(course, assignment):
    """{student: their submission folder} for everyone who submitted `assignment`."""
    root = Path(course) / "submitted"
    folders = sorted(root.glob(f"*/{assignment}")) if root.is_dir() else []
    return {folder.parent.name: folder for folder in folders if folder.is_dir()}


def add_missing_timestamps(folders):
    """Write timestamp.txt (the newest notebook's modification time, UTC) where nbgrader's collect
    did not; returns the students who got one."""
    added = []
    for student, folder in folders.items():
        stamp = folder / "timestamp.txt"
        if stamp.is_file() and stamp.read_text().strip():
            continue
        files = list(folder.glob("*.ipynb")) or [folder]
        newest = max(p.stat().st_mtime for p in files)
        stamp.write_text(datetime.fromtimestamp(newest, timezone.utc).strftime(TIMESTAMP_FORMAT) + "\n")
        added.append(student)
    return added


def results(course, assignment):
    """[(student, score, max score, timestamp, {failed test cell})] from the gradebook, by student."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}") as gb:
        rows = []
        for submission in sorted(gb.assignment_submissions(assignment), key=lambda s: s.student.id):
            failed = {g.name for nb in submission.notebooks for g in nb.grades
                      if g.cell_type == "code" and not g.needs_manual_grade and g.score < g.max_score}
            rows.append((submission.student.id, submission.score, submission.max_score,
                         submission.timestamp, failed))
        max_score = gb.find_assignment(assignment).max_score
    return rows, max_score


def in_turns(folders):
    """[(assignment, student)] with the assignments in turn: the first submission of each, then the second of
    each, and so on. A submission that spins until its cell timeout holds a worker for that long; taken
    assignment by assignment, one assignment's spinning submissions would hold several workers at once."""
    rows = zip_longest(*([(name, student) for student in students] for name, students in folders.items()))
    return [pair for row in rows for pair in row if pair is not None]


def listed(names, shown=10):
    """The first `shown` of `names`, and how many more: a class of 500 is not 500 names in the log."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def points(x):
    return f"{x:g}"


def summary(assignment, rows, max_score):
    """The report printed at the end, as text."""
    lines = [f"{assignment}: {len(rows)} submission{'s' if len(rows) != 1 else ''} graded, "
             f"{points(max_score)} points possible", ""]
    if not rows:
        return "\n".join(lines + ["Nothing submitted yet: put notebooks in submitted/<student>/" + assignment + "/."])
    width = max(len("student"), *(len(r[0]) for r in rows))
    lines.append(f"  {'student':<{width}}  {'score':^13}  submitted (UTC)")
    for student, score, top, stamp, _ in rows:
        when = stamp.strftime("%Y-%m-%d %H:%M") if stamp else "-"
        lines.append(f"  {student:<{width}}  {points(score):>5} / {points(top):<5}  {when}")
    scores = [r[1] for r in rows]
    mean = sum(scores) / len(scores)
    full = sum(1 for r in rows if r[1] >= r[2])
    lines += ["", f"average {mean:.1f} / {points(max_score)} ({mean / max_score:.0%}); "
                  f"full marks: {full} of {len(rows)}"]
    counts = {}
    for *_, failed in rows:
        for cell in failed:
            counts[cell] = counts.get(cell, 0) + 1
    if counts:
        lines += ["", "test cells failed (students):"]
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        name_width = max(len(cell) for cell, _ in ranked)
        lines += [f"  {cell:<{name_width}}  {n} of {len(rows)}" for cell, n in ranked]
    return "\n".join(lines)


class PartlyGraded(GradingError):
    def __init__(self, text, message):
        super().__init__(message)
        self.text = text


def assignments_in(course):
    return sorted(p.name for p in (Path(course) / "solutions").glob("[0-9]*") if p.is_dir())


def record_assignments(course, assignments):
    """generate_assignment --force for each, in this process (loads nbgrader_config.py once)."""
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"  # it runs alembic by name
    api = load_api(course)
    for assignment in assignments:
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise GradingError(f"generate_assignment {assignment} failed:\n{result.get('error') or result.get('log')}")


class ProgressBar:
    """tqdm on stderr while grading; each failed submission is reported above it."""

    def __init__(self, total, log):
        from tqdm import tqdm
        self.bar = tqdm(total=total, unit="submission", file=sys.stderr, dynamic_ncols=True, mininterval=0.5,
                        disable=None)  # None: no bar when stderr is not a terminal
        self.log, self.failed, self.done = log, [], 0

    def __call__(self, assignment, student, error):
        self.done += 1
        self.bar.update(1)
        self.bar.set_postfix_str(f"{assignment} {student}", refresh=False)
        if error:
            self.failed.append((assignment, student))
            self.bar.write(f"grade: could not grade {student}/{assignment}:\n{error.strip()[-2000:]}", file=sys.stderr)

    def close(self):
        self.bar.close()
        self.log(f"grade: {self.done - len(self.failed)} submission(s) graded, "
                 f"{len(self.failed)} could not be graded")


def grade(course, assignment, jobs=1, again=True, log=print, feedback=True):
    """Grade one assignment (or a list of them); returns the summary text."""
    assignments = [assignment] if isinstance(assignment, str) else list(assignment)
    course = Path(course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        raise GradingError(f"{course} has no nbgrader_config.py: run this from the course folder (or --course DIR)")
    for name in assignments:
        if not (course / "solutions" / name).is_dir():
            raise GradingError(f"no assignment {name!r} in solutions/; there are: {', '.join(assignments_in(course))}")
    folders = {name: submitted(course, name) for name in assignments}
    for name in assignments:
        log(f"grade: {name}: {len(folders[name])} submission(s) in submitted/*/{name}/")
    log("grade: recording the assignments in the gradebook (generate_assignment --force)")
    record_assignments(course, assignments)
    for name in assignments:
        stamped = add_missing_timestamps(folders[name])
        if stamped:
            log(f"grade: {name}: wrote timestamp.txt (the notebook's modification time) for {len(stamped)} "
                f"submission(s): {listed(stamped)}")
    pairs = in_turns(folders)
    if pairs:
        log(f"grade: autograding{' and writing feedback' if feedback else ''}, "
            f"{min(jobs, len(pairs))} at a time")
        bar = ProgressBar(len(pairs), log)
        try:
            outcomes = grade_many(course, pairs, jobs=jobs, again=again, feedback=feedback, progress=bar)
        finally:
            bar.close()
        failed = [pair for pair, error in outcomes.items() if error]
        retry = [pair for pair in failed if "DeadKernelError" not in outcomes[pair]]  # a killed kernel: final
        if retry:  # e.g. a kernel that did not start in time on a loaded machine: once more, alone
            log(f"grade: grading {len(retry)} submission(s) again, one at a time")
            outcomes.update(grade_many(course, retry, jobs=1, again=True, feedback=feedback))
            failed = [pair for pair in failed if outcomes[pair]]
    else:
        failed = []
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    log("grade: every grade of every assignment exported to grades.csv")
    texts = []
    for name in assignments:
        rows, max_score = results(course, name)
        texts.append(summary(name, rows, max_score))
    if failed:  # e.g. a notebook that kills its kernel: stock nbgrader cannot grade it either
        raise PartlyGraded("\n\n".join(texts), "could not grade " + ", ".join(f"{s}/{a}" for a, s in failed)
                           + " (see the messages above); every other submission is graded")
    return "\n\n".join(texts)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bash scripts/grade.sh",
                                     description="Grade assignments end to end and print a summary.")
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="e.g. 01-backward-passes (a folder of solutions/)")
    parser.add_argument("--all", action="store_true", help="every assignment in solutions/ (a whole class)")
    parser.add_argument("--course", default=".", help="the course folder, where nbgrader_config.py is")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="submissions graded side by side (default: one more than the CPUs)")
    parser.add_argument("--only-new", action="store_true",
                        help="autograde only submissions not graded before (by default all are graded again)")
    parser.add_argument("--no-feedback", action="store_true", help="do not write feedback/ (faster)")
    parser.add_argument("--report", metavar="FILE", help="then write the class report (HTML) to FILE")
    args = parser.parse_args(argv)
    if args.all == bool(args.assignments):
        parser.error("name the assignments to grade, or give --all")
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    try:
        assignments = assignments_in(args.course) if args.all else args.assignments
        text = grade(args.course, assignments, jobs=max(1, args.jobs), again=not args.only_new, log=log,
                     feedback=not args.no_feedback)
        if args.report:
            from .class_report import write_report
            path = write_report(args.course, args.report, assignments)
            log(f"grade: class report written to {path}")
    except GradingError as e:
        if isinstance(e, PartlyGraded):
            print(e.text)
        print(f"grade: {e}", file=sys.stderr)
        return 1
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
