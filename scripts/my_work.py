"""Keep a student's working copy of the course, my-work/, in step with the course, never overwriting their edits.

    python scripts/my_work.py [--work DIR]      (course.sh runs this before it opens JupyterLab)

The chapters (course/) and exercises (exercises/) are tracked by git; a student works in my-work/,
which git ignores, so a `git pull` of a course update never conflicts with their edits. Each run:
- a file the course has and my-work/ lacks is copied in (the first run copies everything; a copy the
  student deleted comes back fresh, which is how to start a chapter over);
- a file the course has changed since it was copied is replaced, if the student has not edited it;
- if the student has edited it, their copy is kept and the new version is put beside it, named
  "NAME (course update DATE).ipynb" (unless the course changed only the stored outputs).
For a notebook, "edited" means a cell's source or type differs: running cells (outputs, execution counts)
or a save that only reformats the file is not an edit. my-work/.course-copies.json remembers which
version of each file was copied last. Standard library only: it runs before any package is installed.
"""
import argparse
import datetime
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

WORK = "my-work"
MANIFEST = ".course-copies.json"
CHECKPOINTS = ".ipynb_checkpoints"


def course_files(repo):
    """Paths (relative to the repository, in POSIX form) of what a student works with: the chapter
    notebooks and the course README, and every file of the exercises."""
    repo = Path(repo)
    files = [p for p in (repo / "course").glob("*.ipynb")] + [repo / "course" / "README.md"]
    files += [p for p in (repo / "exercises").rglob("*") if p.is_file() and CHECKPOINTS not in p.parts]
    return sorted(p.relative_to(repo).as_posix() for p in files if p.is_file())


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def edits_fingerprint(path):
    """What a student's edit changes: for a notebook, the type and source of each cell; for any other
    file, its bytes. None for a notebook that cannot be read (so it never counts as unedited)."""
    path = Path(path)
    if path.suffix != ".ipynb":
        return sha256(path)
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        parts = [[c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"]]
                 for c in cells]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def copy(source, target):
    """Copy atomically (a half-written notebook is never left behind), with a fresh modification time."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def beside(target, today):
    """A free name next to `target` for a course update: "NAME (course update DATE).ext", then " 2", " 3"..."""
    for n in range(1, 1000):
        suffix = f" (course update {today})" if n == 1 else f" (course update {today} {n})"
        candidate = target.with_name(target.stem + suffix + target.suffix)
        if not candidate.exists():
            return candidate
    raise RuntimeError(f"too many course updates beside {target}")


def sync(repo, work=None, today=None):
    """Bring `work` (default REPO/my-work) up to date with the course; returns what happened, one line each."""
    repo = Path(repo)
    work = Path(work) if work is not None else repo / WORK
    today = today or datetime.date.today().isoformat()
    manifest_path = work / MANIFEST
    try:
        copied = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError):
        copied = {}
    copied_before = dict(copied)
    new, updated, kept, restored = [], [], [], []

    for name in course_files(repo):
        source, target = repo / name, work / name
        version = {"sha256": sha256(source), "edits": edits_fingerprint(source)}
        last = copied.get(name)
        if not target.exists():
            copy(source, target)
            (restored if last else new).append(name)
        elif last and last["sha256"] == version["sha256"]:
            continue  # the course has not changed this file since it was copied: nothing to bring
        elif last and edits_fingerprint(target) == last["edits"]:
            copy(source, target)  # the student has not edited it: the new version replaces it
            updated.append(name)
        elif edits_fingerprint(target) == version["edits"]:
            pass  # their copy already has the new version's cells
        elif last and last["edits"] == version["edits"]:
            pass  # the course changed only stored outputs, which their own run of the notebook makes anew
        else:
            other = beside(target, today)
            copy(source, other)
            kept.append((name, other.relative_to(work).as_posix()))
        copied[name] = version

    work.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=work, prefix=".incoming-")
    with os.fdopen(handle, "w", encoding="utf-8") as f:
        json.dump({"files": copied}, f, indent=1, sort_keys=True)
    os.replace(temporary, manifest_path)

    where = work.relative_to(repo).as_posix() if work.is_relative_to(repo) else str(work)
    lines = []
    if new and not copied_before and len(new) == len(copied):  # the first run
        lines.append(f"{where}/: your own copy of the chapters and exercises ({len(new)} files). Work there: "
                     "your edits are yours, and a course update never overwrites them.")
    else:
        lines += [f"{where}/{n}: new in the course, copied in" for n in new]
    lines += [f"{where}/{n}: a fresh copy (yours was gone)" for n in restored]
    lines += [f"{where}/{n}: updated to the course's new version (you had not edited it)" for n in updated]
    lines += [f"{where}/{n}: the course has a new version, and you have edited yours, so yours is kept as it is "
              f"and the new version is {where}/{other}" for n, other in kept]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the course repository (default: the one this script is in)")
    parser.add_argument("--work", type=Path, help="the student's copy (default: REPO/my-work)")
    args = parser.parse_args(argv)
    for line in sync(args.repo.resolve(), args.work.resolve() if args.work else None):
        print(line)


if __name__ == "__main__":
    main()
