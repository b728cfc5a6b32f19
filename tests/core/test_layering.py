"""The core and the training layer import no presentation or optional packages."""
import json
import subprocess
import sys

import pytest

FORBIDDEN = ["matplotlib", "graphviz", "ipywidgets", "IPython", "tqdm", "sklearn", "torch", "jupyter_client"]


@pytest.mark.parametrize("module", ["dlscratch", "dlscratch.core", "dlscratch.train", "dlscratch.nn",
                                    "dlscratch.data", "dlscratch.gradcheck"])
def test_importing_loads_no_presentation_packages(module):
    code = (f"import sys, json; import {module}; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(result.stdout))
    assert "numpy" in loaded  # the check itself works
    assert loaded.isdisjoint(FORBIDDEN), f"{module} loads {sorted(loaded & set(FORBIDDEN))}"
