"""The README's first command, `bash course.sh`, on a machine without a system Graphviz: JupyterLab
opens on the course, and chapter 1 runs and draws its graphs with the pip-installed graphviz-pure."""
import pytest

pytestmark = pytest.mark.e2e

FIRST_CHAPTER = "course/01_computational_graphs.ipynb"
# The nodes chapter 1 builds for z = A x + b, and the ops between them.
FIRST_GRAPH_LABELS = {"A", "x", "b", "y", "z", "MatMul", "Add", "Variable", "Placeholder"}


def test_course_sh_opens_the_course_and_chapter_1_draws_its_graphs(newcomer_lab):
    lab = newcomer_lab
    lab.run_chapter(FIRST_CHAPTER)

    # The file browser beside the notebook shows course/, with every chapter.
    listed = set(lab.page.locator(".jp-DirListing-itemName").all_inner_texts())
    chapters = {p.name for p in (lab.server.root / "course").glob("*.ipynb")}
    assert chapters <= listed, f"chapters missing from the file browser: {sorted(chapters - listed)}"

    # No `dot` on PATH, so the kernel draws with graphviz-pure from the environment course.sh made.
    dot = lab.kernel_stdout("from dlscratch import viz; print(viz.current_dot())").strip()
    assert dot.endswith("graphviz-pure"), f"graphs were drawn by {dot!r}, not by the pip-installed graphviz-pure"

    svgs = lab.svg_texts()
    assert svgs, "chapter 1 shows no graph"
    labels = set(lab.svg_labels(svgs[0]))
    assert FIRST_GRAPH_LABELS <= labels, f"the first graph lacks the labels {sorted(FIRST_GRAPH_LABELS - labels)}"

    first_graph = lab.notebook.locator(".jp-RenderedSVG img").first
    first_graph.scroll_into_view_if_needed()
    assert first_graph.bounding_box()["width"] > 100, "the graph is drawn too small to read"
    lab.screenshot("newcomer-chapter1-graph")
    lab.check_layout()
