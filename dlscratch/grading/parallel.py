"""Autograde many submissions at once on one machine, with one writer to the gradebook.

nbgrader's sqlite gradebook is not safe with several writers, and its command line costs
seconds of start-up per call. So:

  1. the gradebook is copied once per worker (after generate_assignment has recorded the
     assignments), and each worker is a long-lived process that loads the course's
     nbgrader_config.py once and runs nbgrader's own Autograde (and GenerateFeedback)
     converters through its Python API, one submission after another, into its own copy;
  2. workers take the next (assignment, student) from a shared queue, so a slow submission
     (a hostile one that hits the cell timeout) does not hold up a fixed shard;
  3. as each submission is done, this process alone copies its grades and comments from the
     copy that graded it into the real gradebook (`Merge`), while the workers go on.

Scores are nbgrader's: the same preprocessors (the course's, including isolated grading for
assignment 1) run on the same notebooks; only where the rows are written differs.
"""
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

BIN = Path(sys.executable).parent
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # so that workers import this dlscratch


class GradingError(RuntimeError):
    pass


def default_jobs():
    """One worker more than the CPUs this process may use: a worker often waits (for its sandboxed child,
    for the gradebook), and one that holds a submission spinning until its cell timeout uses only its
    share of a core; the extra worker keeps the CPUs busy meanwhile."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    return len(usable) + 1


def load_api(course, db_url=None):
    """nbgrader's Python API configured by the course's nbgrader_config.py (db_url replaced if given)."""
    from nbgrader.apps.api import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    if db_url:
        config.CourseDirectory.db_url = db_url
    return NbGraderAPI(config=config)


def _environment(course):
    os.chdir(course)
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"  # nbgrader runs tools by name
    os.environ.pop("NBGRADER_EXECUTION", None)


def _unsynced_sqlite():
    """A worker writes only its scratch copy of the gradebook: no need to wait for the disk at each of
    nbgrader's commits (dozens per submission). A crash of the worker still loses nothing committed."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _no_sync(connection, _):
        connection.execute("PRAGMA synchronous=OFF")


def _one_engine_per_database():
    """nbgrader opens a new Gradebook, and with it a new SQLAlchemy engine, about ten times per submission.
    Each new engine starts with an empty cache of compiled SQL, so every query was compiled again. A worker
    lives for many submissions: one engine per database URL keeps the cache and its pooled connections
    (nbgrader's close() would dispose of them, and each opening would connect again: about 1 ms), and its
    tables are checked once."""
    import nbgrader.api
    from sqlalchemy import create_engine

    engines, made = {}, set()

    def shared_engine(url, **options):
        key = (str(url), tuple(sorted(options.items())))
        if key not in engines:
            engine = engines[key] = create_engine(url, **options)
            engine.dispose = lambda close=True: None  # Gradebook.close() calls it; the process's exit closes all
        return engines[key]
    nbgrader.api.create_engine = shared_engine

    # Each opening also checks that every table exists (a query per table): once per engine is enough, as
    # nothing drops a worker's tables. That saves about 1.2 ms of each opening.
    real_inspect, real_create_all = nbgrader.api.inspect, nbgrader.api.Base.metadata.create_all

    class TablesMade:
        def get_table_names(self):
            return [table.name for table in nbgrader.api.Base.metadata.sorted_tables]

    def create_all_once(bind, **options):
        if bind not in made:
            real_create_all(bind=bind, **options)
            made.add(bind)
    nbgrader.api.inspect = lambda engine: TablesMade() if engine in made else real_inspect(engine)
    nbgrader.api.Base.metadata.create_all = create_all_once


def _worker(course, db_path, feedback, again):
    """Read "assignment<TAB>student" lines on stdin; grade each; answer one JSON line on stdout."""
    results = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else printed goes to stderr, not into the answers
    _environment(course)
    _unsynced_sqlite()
    _one_engine_per_database()
    api = load_api(course, f"sqlite:///{db_path}")
    results.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        assignment, student = line.rstrip("\n").split("\t")
        try:
            result = api.autograde(assignment, student, force=again, create=True)
            if result["success"] and feedback:
                fed = api.generate_feedback(assignment, student, force=True)
                if not fed["success"]:
                    result = {"success": False, "error": "generate_feedback failed:\n" + (fed.get("error") or "")}
            error = None if result["success"] else (result.get("error") or result.get("log") or "failed")
            warned = [line for line in (result.get("log") or "").splitlines() if "NOT SANDBOXED" in line]
        except Exception:
            error, warned = traceback.format_exc(), []
        results.write(json.dumps({"assignment": assignment, "student": student, "error": error,
                                  "warnings": warned}) + "\n")


class _Worker:
    def __init__(self, course, db_path, feedback, again, log):
        self.db_path, self.log_path = db_path, log.name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dlscratch.grading.parallel", str(course), str(db_path),
             "feedback" if feedback else "no-feedback", "again" if again else "only-new"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT),
                                                                            os.environ.get("PYTHONPATH")]))})
        self.job = None

    def send(self, job):
        self.job = job
        self.process.stdin.write("\t".join(job) + "\n")

    def stop(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def grade_many(course, pairs, jobs=2, again=True, feedback=True, progress=None):
    """Autograde every (assignment, student) in `pairs` with `jobs` worker processes, then merge
    into the course's gradebook. `progress(assignment, student, error)` is called as each one
    finishes. Returns {(assignment, student): error message or None}."""
    course = Path(course).resolve()
    gradebook = course / "gradebook.db"
    if not gradebook.is_file():
        raise GradingError(f"{gradebook} does not exist: record the assignments first (generate_assignment)")
    todo = [tuple(p) for p in pairs]
    if not todo:
        return {}
    jobs = max(1, min(jobs, len(todo)))
    outcomes, warned = {}, []
    with tempfile.TemporaryDirectory(prefix="dlscratch-grade-") as scratch, Merge(gradebook) as merged:
        workers = []
        try:
            for i in range(jobs):
                copy = Path(scratch) / f"gradebook-{i}.db"
                shutil.copyfile(gradebook, copy)
                with open(Path(scratch) / f"worker-{i}.log", "w") as log:  # the child keeps its own handle
                    workers.append(_Worker(course, copy, feedback, again, log))
            waiting = list(reversed(todo))
            with selectors.DefaultSelector() as selector:
                for w in workers:
                    selector.register(w.process.stdout, selectors.EVENT_READ, w)
                while len(outcomes) < len(todo):
                    if not selector.get_map():
                        tail = Path(workers[0].log_path).read_text(errors="replace")[-3000:]
                        raise GradingError(f"every grading worker stopped before the work was done:\n{tail}")
                    for key, _ in selector.select():
                        w = key.data
                        line = w.process.stdout.readline()
                        if not line:  # the worker died
                            selector.unregister(w.process.stdout)
                            if w.job is not None:
                                outcomes[w.job] = f"the grading process stopped (exit code {w.process.wait()})"
                                if progress:
                                    progress(*w.job, outcomes[w.job])
                            continue
                        answer = json.loads(line)
                        for warning in answer.get("warnings", []):
                            if warning not in warned:
                                warned.append(warning)
                                print(warning, file=sys.stderr, flush=True)
                        w.job = None
                        if waiting:  # the next job first: the worker goes on while this one is merged
                            w.send(waiting.pop())
                        else:
                            w.process.stdin.close()
                        if "ready" not in answer:
                            job = (answer["assignment"], answer["student"])
                            outcomes[job] = answer["error"]
                            if answer["error"] is None:
                                merged.add(job, w.db_path)
                            if progress:
                                progress(*job, answer["error"])
        finally:
            for w in workers:
                w.stop()
    return outcomes


class Merge:
    """Copies graded submissions, one at a time, from the gradebook copies that graded them into `gradebook`
    (this process is its only writer). Each submission is committed as it comes, so grading that stops
    half-way keeps what it finished."""

    def __init__(self, gradebook):
        self.url = f"sqlite:///{gradebook}"

    def __enter__(self):
        from nbgrader.api import Gradebook
        from sqlalchemy.exc import SAWarning
        # The same SQLAlchemy-2 notice that nbgrader_config.py silences for autograde (add_submission).
        warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader\.api",
                                message=r"Object of type <\w+> not in session, add operation along")
        self.target, self.sources = Gradebook(self.url), {}
        return self

    def add(self, pair, db):
        """Copy the submission `pair` (assignment, student) from the gradebook copy at path `db`."""
        from nbgrader.api import Gradebook
        if db not in self.sources:
            self.sources[db] = Gradebook(f"sqlite:///{db}")
        source = self.sources[db]
        try:
            _copy_submission(source, self.target, *pair)
        finally:
            source.db.rollback()  # ends the read (and forgets the rows): the copy's worker may be writing to it

    def __exit__(self, *_):
        for source in self.sources.values():
            source.close()
        self.target.close()


def _copy_submission(source, target, assignment, student):
    from nbgrader.api import Comment, Grade, MissingEntry

    from .gradebook_steps import by_cell_name  # a notebook's rows in one query each, not one per cell
    theirs = source.find_submission(assignment, student)
    who = theirs.student
    target.update_or_create_student(student, first_name=who.first_name, last_name=who.last_name,
                                    email=who.email, lms_user_id=who.lms_user_id)
    try:
        ours = target.find_submission(assignment, student)
    except MissingEntry:
        ours = target.add_submission(assignment, student)
    ours.timestamp = theirs.timestamp
    ours.extension = theirs.extension
    our_notebooks = {nb.name: nb for nb in ours.notebooks}
    for their_nb in theirs.notebooks:
        our_nb = our_notebooks[their_nb.name]
        our_nb.flagged = their_nb.flagged
        our_nb.late_submission_penalty = their_nb.late_submission_penalty
        our_grades = by_cell_name(target, Grade, our_nb.id)
        for name, g in by_cell_name(source, Grade, their_nb.id).items():
            mine = our_grades[name]
            mine.auto_score, mine.manual_score = g.auto_score, g.manual_score
            mine.extra_credit, mine.needs_manual_grade = g.extra_credit, g.needs_manual_grade
        our_comments = by_cell_name(target, Comment, our_nb.id)
        for name, c in by_cell_name(source, Comment, their_nb.id).items():
            our_comments[name].auto_comment = c.auto_comment
            our_comments[name].manual_comment = c.manual_comment
    target.db.commit()

if __name__ == "__main__":
    _worker(sys.argv[1], sys.argv[2], feedback=sys.argv[3] == "feedback", again=sys.argv[4] == "again")
