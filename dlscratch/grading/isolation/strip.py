"""The library as the sandbox sees it: every reference answer to the assignment replaced by a refusal.

A copy of the dlscratch package is made with the bodies of the functions of the assignment's
profile (PROFILES below) replaced by `raise ReferenceUnavailable(...)`. In the bubblewrap
sandbox this copy is the only dlscratch there is (the real package, its source files
included, is not in the sandbox's view of the filesystem), so no alias, call, captured
reference, reload or reading of the source can reach the library's own answers (assignment 1:
the gradient rules; assignment 2: the traversal and backprop; assignment 3: the optimizers and
training loops; assignment 4: the Session's evaluation and the traversal) while the student's code runs.
"""
import ast
import compileall
import os
import shutil

import dlscratch

from .sandbox import grader_folder

# What each isolated assignment must not find in the library: file (relative to the package) ->
# names of functions whose bodies are removed ("*": every function in the file). With `backward`
# in the set of "*classes*", every op class's `backward` in every file is removed too.
RULES = {  # assignment 1: the students write the gradient rules, so no rule of the library's is left. The
    # traversal stays (it is given in this assignment): the training check runs it in the sandbox with
    # the student's rules, one call per step (student_code.backprop_with_rules).
    "*classes*": {"backward"},
    "core/registry.py": {"unbroadcast"},
    "core/ops.py": {"_expand_reduced"},
    "core/autodiff.py": {"gradients", "compute_gradients"},
    "gradcheck.py": {"numerical_gradient", "check_gradients", "check_op_gradient"},
    "train.py": {"minimize", "apply_gradients", "updated"},
}
TRAVERSAL = {  # assignment 2: the rules are given; the traversal and backprop are the exercise. Without
    # topological_order the Session cannot run either: a forward pass runs its ops in a topological
    # order, which a student could record. (The graphs the tests send are rebuilt with nodes, ids and
    # dict entries in a random order, so creation order gives nothing away: graphs.py.)
    "core/traversal.py": {"topological_order"},
    "core/autodiff.py": {"backprop", "_backward_order", "_call_rule", "gradients", "compute_gradients"},
    "gradcheck.py": {"numerical_gradient", "check_gradients", "check_op_gradient"},
    "train.py": {"minimize", "apply_gradients", "updated"},
}
TRAINING = {  # assignment 3: the engine and its gradients are given; the loss is checked on the grader's side
    # (built from ops, not the library's ready-made losses), and the updates, the loops and the checks'
    # own reference formulas are removed.
    "train.py": {"minimize", "apply_gradients", "updated", "compute", "fit"},
    "data.py": {"batches"},
    "grading/training.py": {"*"},
}
FORWARD_ENGINE = {  # assignment 4: the ops' forwards are given; the Session's evaluation and the traversal are
    # the exercise (everything that evaluates a graph, viz and training included, goes through them).
    "core/session.py": {"run", "evaluate_all", "_order"},
    "core/traversal.py": {"topological_order"},
    "grading/forward.py": {"*"},
}
PROFILES = {"01-backward-passes": RULES, "02-backprop": TRAVERSAL, "03-training": TRAINING,
            "04-forward-engine": FORWARD_ENGINE}


def profile_for(assignment):
    """What the sandbox's library lacks for `assignment`: its own profile, or everything any profile strips."""
    if assignment in PROFILES:
        return PROFILES[assignment]
    union = {}
    for profile in PROFILES.values():
        for key, names in profile.items():
            union[key] = union.get(key, set()) | names
    return union


STRIPPED = RULES  # the profile of assignment 1 (kept under its old name)

_EXCEPTION = '''
class ReferenceUnavailable(RuntimeError):
    """The library's own answer was asked for while the student's work is graded."""
'''


class _Strip(ast.NodeTransformer):
    def __init__(self, names, class_names=frozenset({"backward"})):
        self.names, self.class_names, self.classes, self.stripped = names, class_names, [], []

    def visit_ClassDef(self, node):
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()
        return node

    def visit_FunctionDef(self, node):
        if (node.name in self.class_names and self.classes) or node.name in self.names or "*" in self.names:
            what = ".".join([*self.classes, node.name])
            message = (f"dlscratch's own {what} is not available\n"
                       "while your work is graded. Write your own:\nthat is the exercise.")
            node.body = [ast.Raise(exc=ast.Call(func=ast.Name("ReferenceUnavailable", ast.Load()),
                                                args=[ast.Constant(message)], keywords=[]), cause=None)]
            self.stripped.append(what)
            return node
        self.generic_visit(node)
        return node


def stripped_source(source, relative, profile=None):
    """`source` (a module of the package at `relative`) with the reference answers of `profile` removed."""
    profile = RULES if profile is None else profile
    tree = ast.parse(source)
    stripper = _Strip(profile.get(relative, set()), profile.get("*classes*", set()))
    tree = stripper.visit(tree)
    if not stripper.stripped:
        return source
    body = tree.body
    at = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else 0
    while at < len(body) and isinstance(body[at], ast.ImportFrom) and body[at].module == "__future__":
        at += 1
    body[at:at] = ast.parse(_EXCEPTION).body
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


# dlscratch.viz as the sandbox has it. Nothing drawn there is ever seen, and the real package's imports
# (matplotlib, graphviz, ipywidgets) cost about 0.4 s of every submission whose notebook draws a graph.
VIZ_STUB = '''"""dlscratch.viz in the grading sandbox: drawings, plots and widgets do nothing and return None."""
from ..train import accuracy, fit


def _nothing(*args, **kwargs):
    return None


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _nothing
'''


def make_stripped_library(folder=None, profile=None):
    """Write the copy of the package stripped of `profile` (default: RULES, assignment 1's) into `folder`
    (a new temporary folder by default),
    readable by everyone (the sandbox runs as a user of its own). Returns the folder to put on sys.path."""
    folder = folder or grader_folder("sandbox-lib")
    source_root = os.path.dirname(os.path.abspath(dlscratch.__file__))
    target_root = os.path.join(folder, "dlscratch")
    for here, dirs, files in os.walk(source_root):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not (here == source_root and d == "viz")]
        relative_dir = os.path.relpath(here, source_root)
        os.makedirs(os.path.join(target_root, relative_dir), exist_ok=True)
        for name in files:
            relative = os.path.normpath(os.path.join(relative_dir, name)).replace(os.sep, "/")
            target = os.path.join(target_root, relative)
            if name.endswith(".py"):
                with open(os.path.join(here, name), encoding="utf-8") as f:
                    text = stripped_source(f.read(), relative, profile)
                with open(target, "w", encoding="utf-8") as f:
                    f.write(text)
            elif not name.endswith((".pyc", ".pyo")):
                shutil.copy(os.path.join(here, name), target)
    os.makedirs(os.path.join(target_root, "viz"))
    with open(os.path.join(target_root, "viz", "__init__.py"), "w", encoding="utf-8") as f:
        f.write(VIZ_STUB)
    compileall.compile_dir(target_root, quiet=1)  # once here, not in every child (which may not write them)
    for here, _, files in os.walk(folder):
        os.chmod(here, 0o755)
        for name in files:
            os.chmod(os.path.join(here, name), 0o644)
    return folder
