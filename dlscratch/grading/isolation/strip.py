"""The library as the sandbox sees it: every reference answer replaced by a refusal.

A copy of the dlscratch package is made with the bodies of the functions below replaced
by `raise ReferenceUnavailable(...)`. In the bubblewrap sandbox this copy is the only
dlscratch there is (the real package, its source files included, is not in the sandbox's
view of the filesystem), so no alias, call, captured reference, reload or reading of the
source can reach the library's own gradient rules while the student's code runs.
"""
import ast
import os
import shutil
import tempfile

import dlscratch

# file (relative to the package) -> names of functions whose bodies are removed;
# "*" strips every function in the file. `backward` is stripped in every class of every file.
STRIPPED = {
    "core/registry.py": {"unbroadcast"},
    "core/ops.py": {"_expand_reduced"},
    "core/autodiff.py": {"backprop", "_backward_order", "_call_rule", "gradients", "compute_gradients"},
    "gradcheck.py": {"numerical_gradient", "check_gradients", "check_op_gradient"},
    "train.py": {"minimize", "apply_gradients", "updated"},
}

_EXCEPTION = '''
class ReferenceUnavailable(RuntimeError):
    """The library's own answer was asked for while the student's work is graded."""
'''


class _Strip(ast.NodeTransformer):
    def __init__(self, names):
        self.names, self.classes, self.stripped = names, [], []

    def visit_ClassDef(self, node):
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()
        return node

    def visit_FunctionDef(self, node):
        if (node.name == "backward" and self.classes) or node.name in self.names or "*" in self.names:
            what = ".".join([*self.classes, node.name])
            message = (f"dlscratch's own {what} is not available\n"
                       "while your work is graded. Write your own:\nthat is the exercise.")
            node.body = [ast.Raise(exc=ast.Call(func=ast.Name("ReferenceUnavailable", ast.Load()),
                                                args=[ast.Constant(message)], keywords=[]), cause=None)]
            self.stripped.append(what)
            return node
        self.generic_visit(node)
        return node


def stripped_source(source, relative):
    """`source` (a module of the package at `relative`) with its reference answers removed."""
    tree = ast.parse(source)
    stripper = _Strip(STRIPPED.get(relative, set()))
    tree = stripper.visit(tree)
    if not stripper.stripped:
        return source
    body = tree.body
    at = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else 0
    while at < len(body) and isinstance(body[at], ast.ImportFrom) and body[at].module == "__future__":
        at += 1
    body[at:at] = ast.parse(_EXCEPTION).body
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def make_stripped_library(folder=None):
    """Write the stripped copy of the package into `folder` (a new temporary folder by default),
    readable by everyone (the sandbox runs as nobody). Returns the folder to put on sys.path."""
    folder = folder or tempfile.mkdtemp(prefix="dlscratch-sandbox-lib-")
    source_root = os.path.dirname(os.path.abspath(dlscratch.__file__))
    target_root = os.path.join(folder, "dlscratch")
    for here, dirs, files in os.walk(source_root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        relative_dir = os.path.relpath(here, source_root)
        os.makedirs(os.path.join(target_root, relative_dir), exist_ok=True)
        for name in files:
            relative = os.path.normpath(os.path.join(relative_dir, name)).replace(os.sep, "/")
            target = os.path.join(target_root, relative)
            if name.endswith(".py"):
                with open(os.path.join(here, name), encoding="utf-8") as f:
                    text = stripped_source(f.read(), relative)
                with open(target, "w", encoding="utf-8") as f:
                    f.write(text)
            elif not name.endswith((".pyc", ".pyo")):
                shutil.copy(os.path.join(here, name), target)
    for here, _, files in os.walk(folder):
        os.chmod(here, 0o755)
        for name in files:
            os.chmod(os.path.join(here, name), 0o644)
    return folder
