"""The core and the training layer import no presentation or optional packages."""
import ast
import json
import subprocess
import sys
from pathlib import Path

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


# --- imports point one way, through the public API ---------------------------------------------

PACKAGE = Path(__file__).resolve().parents[2] / "dlscratch"


def _imports(path):
    """(level, module, names) of every import in a file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            yield node.level, node.module or "", [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield 0, alias.name, []


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_imports_nothing_above_it(path):
    for level, module, _ in _imports(path):
        if level == 0:
            assert module.split(".")[0] in {"numpy", "math", "functools", "itertools", "numbers", "contextlib",
                                            "operator", "threading"}, f"{path.name} imports {module}"
        else:
            assert level == 1, f"{path.name} imports from outside core: {'.' * level}{module}"


@pytest.mark.parametrize("name", ["nn", "train", "gradcheck", "data"])
def test_the_training_layer_uses_only_the_public_core_api(name):
    import dlscratch.core as core
    for level, module, names in _imports(PACKAGE / f"{name}.py"):
        if level == 1 and module.startswith("core"):
            assert module == "core", f"{name}.py reaches into dlscratch.{module}; import from dlscratch.core"
            private = set(names) - set(core.__all__)
            assert not private, f"{name}.py imports {sorted(private)}, which dlscratch.core does not export"


def test_core_lists_its_exports_explicitly_and_no_module_is_shadowed():
    import types

    import dlscratch.core as core
    tree = ast.parse((PACKAGE / "core" / "__init__.py").read_text())
    assigned = [n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "__all__"]
    assert assigned and isinstance(assigned[0].value, ast.List), "__all__ must be a written-out list"
    for module in (PACKAGE / "core").glob("*.py"):
        if module.stem != "__init__":
            assert isinstance(getattr(core, module.stem), types.ModuleType), \
                f"dlscratch.core.{module.stem} is not the module: a name exported from core shadows it"
    assert set(core.__all__) <= set(dir(core))
