"""Feedback pages that show their formulas offline and wrap long lines (nbgrader_config.py uses this).

nbgrader's feedback template loads MathJax from a CDN, so a student who opens the feedback
without internet sees raw LaTeX. `FeedbackExporter` makes the same page load MathJax 2.7 from
a `mathjax/` folder written beside it: the files the jupyter-server-mathjax package ships,
trimmed to what typesetting TeX needs. Only where that folder is missing (nbgrader's exchange
hands out the page alone) does the page fall back to the CDN it used before. It also makes long
lines of code and output wrap instead of hiding behind a scroll bar.
"""
import re
from functools import lru_cache
from pathlib import Path

from nbconvert.exporters import HTMLExporter

FOLDER = "mathjax"  # beside each feedback page
CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # the combined configuration the package ships
# What typesetting TeX loads, under the package's static/ folder. The output uses the STIX web
# fonts (the only ones shipped); fonts and a few extensions load as the math needs them.
NEEDED = ["MathJax.js", "LICENSE", "config", "extensions/Safe.js", "extensions/MathMenu.js",
          "extensions/MathZoom.js", "extensions/MathEvents.js", "extensions/TeX", "extensions/HTML-CSS",
          "jax/input/TeX", "jax/element", "jax/output/HTML-CSS", "fonts/HTML-CSS/STIX-Web/woff"]
CDN_SCRIPT = re.compile(r'<script src="(https?://[^"]*mathjax[^"]*)">', re.IGNORECASE)
LOCAL_SCRIPT = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({{"HTML-CSS": {{availableFonts: [], webFont: "STIX-Web", imageFont: null}}}});
</script>
<script src="{folder}/MathJax.js?config={config}" onerror="{fallback}">"""
# Run only if mathjax/ is not beside the page: load MathJax from where nbgrader's template pointed.
FALLBACK = "var s = document.createElement('script'); s.src = '{url}'; document.head.appendChild(s);"
WRAP_LINES = """<style>
/* dlscratch: wrap long lines of code and output (failure messages, tracebacks) instead of
   hiding their ends behind a scroll bar */
div.input_area pre, div.output_area pre, div.output_subarea pre {
  white-space: pre-wrap; overflow-wrap: anywhere;
}
</style>
</head>"""


@lru_cache(maxsize=1)
def mathjax_files():
    """{path under mathjax/: bytes} of the local MathJax copy."""
    import jupyter_server_mathjax
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    files = {}
    for name in NEEDED:
        path = static / name
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.is_file():
                files[f"{FOLDER}/{f.relative_to(static).as_posix()}"] = f.read_bytes()
    return files


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback HTML, with MathJax loaded from mathjax/ beside the page."""

    def from_notebook_node(self, nb, resources=None, **kw):
        html, resources = super().from_notebook_node(nb, resources, **kw)
        html, found = CDN_SCRIPT.subn(lambda cdn: LOCAL_SCRIPT.format(
            folder=FOLDER, config=CONFIG, fallback=FALLBACK.format(url=cdn.group(1))), html)
        if found:
            resources.setdefault("outputs", {}).update(mathjax_files())
        html = html.replace("</head>", WRAP_LINES, 1)
        return html, resources
