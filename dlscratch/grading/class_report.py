"""The class report: after grading, one self-contained HTML page about the whole class.

    python -m dlscratch.grading.class_report [ASSIGNMENT...] [--course DIR] [-o class-report.html]
    bash scripts/grade.sh --all --report class-report.html     # grade, then write it

Per assignment: the score distribution, the test cells most students fail, and, per op (or
per function the student wrote), how many students made each known mistake. The mistakes
come from the failure messages in the autograded notebooks: the checks in dlscratch.grading
name the op and, where they recognise what a wrong answer computes, say so in the hint
("Yours computes grad·σ(x)·σ(1−x), the typo in the source text"). Plots are PNG images
inside the page; it loads nothing from the network.
"""
import argparse
import base64
import html
import io
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

WIDTH = 9.4  # inches: the same column as the course's figures (viz.plots.COLUMN_WIDTH)
_NUMBER = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:e[-+]?\d+)?"


def _squash(text):
    return " ".join(str(text).split())


@dataclass(frozen=True)
class Failure:
    """One failed test cell: the op (or function) it names and the mistake, both short."""
    op: str
    mistake: str


def _op_of(text, cell):
    for pattern in (r"\bfor (\w+)\(", r"in the graph (\w+)\(", r"^(?:your )?(\w+)\b"):
        found = re.search(pattern, text)
        if found:
            return found.group(1)
    return cell


def _generalise(text):
    """Case details out: quoted node names, numbers and shapes, so that students' messages group."""
    text = re.sub(r"'[^']*' \((\w+)\)", r"a \1 node", text)
    text = re.sub(r"\((?:#|\d+)(?:, *(?:#|\d+))*,?\)", "(…)", re.sub(_NUMBER, "#", text))
    return text.strip().rstrip(".,;: ")


def _sentence(text):
    """Up to the end of the first sentence or clause (". ", ": ", "; ")."""
    return re.split(r"(?<=[^.\s])(?<!e\.g)(?<!i\.e)\.(?: |$)|: |; | \(relative error|\bHint:", text,
                    maxsplit=1)[0]


def _first_claim(text):
    """The statement after the check's "where:" part (the first ": " outside brackets)."""
    depth, start = 0, None
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and text.startswith(": ", i):
            start = i + 2
            break
    claim = _generalise(_sentence(text[start:] if start is not None else text))
    return claim[:120] or "failed"


def parse_failure(ename, evalue, cell=""):
    """Failure(op, mistake) from an error output of a test cell (its exception name and message).

    The mistake is, in this order: what the check recognised ("Yours computes ...", "Yours is only
    part of that sum"), for the training cell whether it stopped or did not learn, else the first
    statement after the check's "where:" part, with numbers, shapes and node names left out."""
    text = _squash(evalue)
    op = _op_of(text, cell)
    if ename not in ("CheckFailed", "AssertionError"):
        return Failure(op, f"{ename}: {_first_claim(text)}" if text else ename)
    recognised = re.search(r"\bYours\b.*", text)
    if recognised:
        mistake = re.sub(rf"Yours is {_NUMBER} times", "Yours is k times", _sentence(recognised.group(0)))
        return Failure(op, mistake.strip().rstrip(".,;: "))
    if op == "training":
        stopped = re.search(r"stopped with (\w+)", text)
        mistake = f"training stopped with {stopped.group(1)}" if stopped else (
            "training did not reach the accuracy needed" if "accuracy" in text else _first_claim(text))
        return Failure(op, mistake)
    return Failure(op, _first_claim(text))


@dataclass
class AssignmentData:
    name: str
    max_score: float
    scores: dict = field(default_factory=dict)              # student -> score
    failed_cells: dict = field(default_factory=dict)        # test cell -> {students}
    cells: list = field(default_factory=list)               # test cells in notebook order
    mistakes: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))  # op -> mistake -> {students}


def failures_in_notebook(nb):
    """{test cell: [Failure]} for the graded cells of an autograded notebook that failed."""
    found = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        name = meta.get("grade_id", "")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        failures = [parse_failure(o.get("ename", ""), o.get("evalue", ""), name) for o in errors]
        if not failures and any(o.get("output_type") == "stream" and o.get("name") == "stderr"
                                for o in cell.get("outputs", [])):
            failures = [Failure(name, "wrote to stderr (nbgrader scores that 0)")]
        if failures:
            found[name] = failures
    return found


def collect(course, assignments=None):
    """[AssignmentData] from the gradebook and the autograded notebooks of `course`."""
    from nbgrader.api import Gradebook
    course = Path(course)
    data = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        names = assignments or [a.name for a in gb.assignments]
        for name in names:
            assignment = gb.find_assignment(name)
            item = AssignmentData(name, assignment.max_score)
            item.cells = [c.name for nb in assignment.notebooks for c in nb.grade_cells if c.cell_type == "code"]
            for submission in gb.assignment_submissions(name):
                student = submission.student.id
                item.scores[student] = submission.score
                for nb in submission.notebooks:
                    for g in nb.grades:
                        if g.cell_type == "code" and not g.needs_manual_grade and g.score < g.max_score:
                            item.failed_cells.setdefault(g.name, set()).add(student)
                    path = course / "autograded" / student / name / f"{nb.name}.ipynb"
                    if not path.is_file():
                        continue
                    graded = json.loads(path.read_text(encoding="utf-8"))
                    for cell, failures in failures_in_notebook(graded).items():
                        if cell not in item.failed_cells or student not in item.failed_cells[cell]:
                            continue  # an error in a cell that scored anyway (none expected)
                        for f in failures:
                            item.mistakes[f.op][f.mistake].add(student)
            data.append(item)
    return data


# --- the page ------------------------------------------------------------------------------------

def _png(fig):
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _score_plot(item):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(WIDTH * 0.6, 2.6))
    top = item.max_score or 1
    bins = [x - 0.5 for x in range(int(top) + 2)] if top <= 40 else 20
    ax.hist(list(item.scores.values()), bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_xlabel(f"score (out of {top:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{item.name}: score distribution")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _bar_plot(labels, counts, total, title):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(WIDTH, 0.35 * len(labels) + 1.0))
    ax.barh(range(len(labels)), counts, color="#dd8452")
    ax.set_yticks(range(len(labels)), [lbl if len(lbl) <= 70 else lbl[:67] + "..." for lbl in labels], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, max(total, 1))
    ax.set_xlabel(f"students (of {total})")
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _table(header, rows):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(item, top=12):
    n = len(item.scores)
    parts = [f'<section id="{html.escape(item.name)}"><h2>{html.escape(item.name)}</h2>']
    if not n:
        return parts[0] + "<p>No submissions graded yet.</p></section>"
    values = sorted(item.scores.values())
    mean = sum(values) / n
    median = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    full = sum(1 for v in values if v >= item.max_score)
    parts.append(f'<p class="summary">{n} submissions; average {mean:.1f} of {item.max_score:g} '
                 f'({mean / item.max_score:.0%}), median {median:g}; full marks: {full} of {n}.</p>')
    parts.append("<h3>Score distribution</h3>" + _score_plot(item))
    counts = Counter({cell: len(s) for cell, s in item.failed_cells.items()})
    parts.append("<h3>Test cells most students fail</h3>")
    if counts:
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], item.cells.index(kv[0]) if kv[0] in item.cells else 0))
        parts.append(_bar_plot([c for c, _ in ranked[:top]], [k for _, k in ranked[:top]], n,
                               f"{item.name}: test cells failed"))
        parts.append(_table(["test cell", "students who failed it", "share"],
                            [(c, k, f"{k / n:.0%}") for c, k in ranked]))
    else:
        parts.append("<p>Every test cell passed for every student.</p>")
    parts.append("<h3>Known mistakes, by op</h3>")
    rows = [(op, mistake, len(students)) for op, by_mistake in item.mistakes.items()
            for mistake, students in by_mistake.items()]
    if rows:
        rows.sort(key=lambda r: (-sum(len(s) for s in item.mistakes[r[0]].values()), r[0], -r[2], r[1]))
        ranked = sorted(rows, key=lambda r: -r[2])[:top]
        parts.append(_bar_plot([f"{op}: {m}" for op, m, _ in ranked], [k for *_, k in ranked], n,
                               f"{item.name}: most common mistakes"))
        parts.append('<p class="note">A student is counted once per op and mistake, however many test '
                     'cells it failed.</p>')
        parts.append(_table(["op", "mistake", "students"], rows))
    else:
        parts.append("<p>No failure messages found.</p>")
    return "\n".join(parts) + "</section>"


STYLE = """body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f3f3f3}img{max-width:100%}section{margin-bottom:3em}.note{color:#555}"""


def render(data, title="dlscratch: class report"):
    """The HTML page for [AssignmentData]."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    toc = "".join(f'<li><a href="#{html.escape(d.name)}">{html.escape(d.name)}</a>: {len(d.scores)} submissions</li>'
                  for d in data)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1><p>Written {when} from the "
            f"gradebook and the autograded notebooks.</p><ul>{toc}</ul>\n"
            + "\n".join(_section(d) for d in data) + "</body></html>\n")


def write_report(course, output="class-report.html", assignments=None):
    """Write the class report for `course` to `output` (relative to the course folder); returns its path."""
    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    course = Path(course).resolve()
    path = Path(output) if Path(output).is_absolute() else course / output
    path.write_text(render(collect(course, assignments)), encoding="utf-8")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dlscratch.grading.class_report",
                                     description="Write the class report (HTML) after grading.")
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment graded")
    parser.add_argument("--course", default=".", help="the course folder, where gradebook.db is")
    parser.add_argument("-o", "--output", default="class-report.html", help="default: class-report.html")
    args = parser.parse_args(argv)
    if not (Path(args.course) / "gradebook.db").is_file():
        print(f"class_report: no gradebook.db in {Path(args.course).resolve()}: grade first "
              "(bash scripts/grade.sh --all)", file=sys.stderr)
        return 1
    print(write_report(args.course, args.output, args.assignments or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
