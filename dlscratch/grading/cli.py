"""Grade an assignment end to end: `bash scripts/grade.sh ASSIGNMENT` runs this module.

    python -m dlscratch.grading.cli ASSIGNMENT [--course DIR] [--jobs N] [--only-new]

From the course folder (where nbgrader_config.py is), with nbgrader's commands on PATH:
  1. record the assignment in the gradebook (generate_assignment --force);
  2. give each hand-placed submission a timestamp.txt (its notebooks' newest modification
     time) where it has none, so that grades.csv has submission times;
  3. autograde every submission, again if it was graded before (only the new ones with
     --only-new), N students side by side with --jobs N;
  4. write the feedback HTML and export every grade to grades.csv;
  5. print a summary: each student's score, the average, and the test cells most often failed.
"""
import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

BIN = Path(sys.executable).parent
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # what nbgrader's exchange writes; "UTC" at the end


class GradingError(RuntimeError):
    pass


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


def autograde(course, assignment, students, jobs, again):
    options = ["--force"] if again else []
    if jobs <= 1 or len(students) <= 1:
        nbgrader(course, "autograde", assignment, *options)
        return
    # One nbgrader per student, `jobs` at a time. They share the sqlite gradebook, which
    # serialises their short writes; the notebooks run side by side.
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = [pool.submit(nbgrader, course, "autograde", assignment, "--student", s, *options) for s in students]
        for run in runs:
            run.result()


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


def grade(course, assignment, jobs=1, again=True, log=print):
    course = Path(course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        raise GradingError(f"{course} has no nbgrader_config.py: run this from the course folder (or --course DIR)")
    if not (course / "solutions" / assignment).is_dir():
        known = sorted(p.name for p in (course / "solutions").glob("[0-9]*") if p.is_dir())
        raise GradingError(f"no assignment {assignment!r} in solutions/; there are: {', '.join(known)}")
    folders = submitted(course, assignment)
    log(f"grade: {assignment}: {len(folders)} submission(s) in submitted/*/{assignment}/")
    log("grade: recording the assignment in the gradebook (nbgrader generate_assignment --force)")
    nbgrader(course, "generate_assignment", assignment, "--force")
    stamped = add_missing_timestamps(folders)
    if stamped:
        log(f"grade: wrote timestamp.txt (the notebook's modification time) for: {', '.join(stamped)}")
    if folders:
        log(f"grade: autograding ({jobs} at a time)")
        autograde(course, assignment, list(folders), jobs, again)
        log("grade: writing feedback/<student>/" + assignment + "/ (nbgrader generate_feedback)")
        nbgrader(course, "generate_feedback", assignment, "--force")
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    log("grade: every grade of every assignment exported to grades.csv")
    rows, max_score = results(course, assignment)
    return summary(assignment, rows, max_score)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bash scripts/grade.sh",
                                     description="Grade an assignment end to end and print a summary.")
    parser.add_argument("assignment", help="e.g. 01-backward-passes (a folder of solutions/)")
    parser.add_argument("--course", default=".", help="the course folder, where nbgrader_config.py is")
    parser.add_argument("--jobs", type=int, default=1, help="students autograded side by side (default 1)")
    parser.add_argument("--only-new", action="store_true",
                        help="autograde only submissions not graded before (by default all are graded again)")
    args = parser.parse_args(argv)
    try:
        text = grade(args.course, args.assignment, jobs=max(1, args.jobs), again=not args.only_new,
                     log=lambda m: print(m, file=sys.stderr, flush=True))
    except GradingError as e:
        print(f"grade: {e}", file=sys.stderr)
        return 1
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
