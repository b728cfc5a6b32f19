"""The benchmark stays runnable and honest: its implementations agree before they are timed.

No timing is asserted here (speed is what `python -m benchmarks` reports).
"""
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from benchmarks.__main__ import check_same_losses, median_times
from benchmarks.workloads import WORKLOADS, dlscratch_step, init_weights, numpy_step, torch_step

ROOT = Path(__file__).resolve().parent.parent
IMPLEMENTATIONS = {"numpy": numpy_step, "dlscratch": dlscratch_step}
if importlib.util.find_spec("torch"):
    IMPLEMENTATIONS["pytorch"] = torch_step


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", [n for n in WORKLOADS if not n.startswith("W3")])  # W3 takes seconds a step
def test_the_implementations_compute_the_same_losses(name, dtype):
    data, sizes, activation, lr, reduction, _ = WORKLOADS[name]
    X, C = data(dtype)
    params = init_weights(sizes, dtype)
    steps = {k: make(X, C, params, activation, lr, reduction) for k, make in IMPLEMENTATIONS.items()}
    check_same_losses(steps, dtype)  # raises SystemExit when one disagrees
    assert np.asarray(steps["dlscratch"]()).dtype == dtype  # float32 stays float32


def test_check_same_losses_catches_an_implementation_that_differs():
    losses = iter([3.0, 2.0, 1.0])
    with pytest.raises(SystemExit, match="wrong disagrees"):
        check_same_losses({"numpy": lambda: 1.0, "wrong": lambda: next(losses)}, np.float64)


def test_median_times_times_every_implementation_in_turns():
    calls = []
    steps = {k: (lambda k=k: calls.append(k)) for k in ("a", "b")}
    times = median_times(steps, repeats=40, warmup=2, rounds=4)
    assert set(times) == {"a", "b"} and all(t >= 0 for t in times.values())
    timed = calls[4:]  # after the warm-up
    assert timed[:11] == ["a"] * 11 and timed[11:22] == ["b"] * 11  # one untimed step, then a block of 10
    assert calls.count("a") == calls.count("b") == 2 + 4 * 11


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="optional: mallopt is glibc's (Linux)")
def test_steady_allocator_reuses_freed_memory_instead_of_faulting_in_fresh_pages():
    # In a fresh process, as `python -m benchmarks` runs it. Two 8 MB arrays are 4096 pages: taken
    # fresh from the kernel each time (the default), nearly every page faults; reused, almost none.
    code = textwrap.dedent("""
        import resource
        import numpy as np
        from benchmarks.__main__ import steady_allocator
        assert steady_allocator()
        for _ in range(3):
            np.ones(1 << 20)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            a, b = np.ones(1 << 20), np.ones(1 << 20)
            del a, b
        print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert float(result.stdout) < 200  # by default about 1500 here


# --- the grading workload (benchmarks/grading.py) ------------------------------------------------

def test_the_grading_workload_mixes_correct_work_mistakes_and_hostile_code(tmp_path):
    import json

    from benchmarks.grading import TIMEOUT, make_course, mix
    from tests.grading.nbgrader_course import NOTEBOOKS
    from tests.grading.submissions import grade_id
    cycle = len(mix("01-backward-passes"))
    kinds = make_course(tmp_path, cycle)
    assert len(kinds) == len(NOTEBOOKS) * cycle
    counts = {}
    for (assignment, _), kind in kinds.items():
        counts.setdefault(assignment, {}).setdefault(kind.split(":")[0], 0)
        counts[assignment][kind.split(":")[0]] += 1
    for assignment, by_kind in counts.items():
        assert set(by_kind) == {"correct", "mistake", "hostile"}, (assignment, by_kind)
        assert by_kind["correct"] * 2 >= cycle - 1, by_kind  # about half correct
    assert f"c.Execute.timeout = {TIMEOUT}" in (tmp_path / "nbgrader_config.py").read_text()
    # every change names cells that exist, so each submission really differs from the correct one
    for assignment, notebook in NOTEBOOKS.items():
        release = json.loads((ROOT / "exercises" / assignment / f"{notebook}.ipynb").read_text())
        ids = {grade_id(c) for c in release["cells"]}
        for _, name, change in mix(assignment):
            named = {*change.get("answers", {}), *change.get("drop", ()), *(change.get("replace") or {}),
                     *(change.get("insert_after") or {})}
            assert named <= ids, (assignment, name, named - ids)
        texts = {json.dumps(json.loads((tmp_path / "submitted" / f"student{i:03d}" / assignment /
                                        f"{notebook}.ipynb").read_text())["cells"]) for i in range(cycle)}
        assert len(texts) == len({n for _, n, _ in mix(assignment)}), assignment  # one text per kind


def test_python_m_benchmarks_offers_the_grading_workload():
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--help"], cwd=ROOT, text=True, capture_output=True)
    assert done.returncode == 0 and "--grading" in done.stdout and "--students" in done.stdout


def test_stocks_start_up_is_timed_apart_so_that_it_is_paid_once_per_command(tmp_path):
    """Extrapolated to the full class, stock pays its command's start-up (about 2 s) once per assignment,
    not once per sample of 10-28 submissions: that overstated stock's time for 500 by about 8%."""
    from benchmarks.grading import make_course, stock
    make_course(tmp_path, 2, ["03-training"], isolated=False)
    (seconds, startup), = stock(tmp_path, ["03-training"]).values()
    assert 0.5 < startup < seconds
    assert (tmp_path / "autograded" / "student001" / "03-training").is_dir()  # both submissions were graded
