import subprocess
import sys


def test_the_core_imports_no_presentation_library():
    code = ("import sys, dlscratch; "
            "print(sorted(m for m in ('graphviz', 'matplotlib', 'ipywidgets', 'tqdm', 'dlscratch.viz') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
