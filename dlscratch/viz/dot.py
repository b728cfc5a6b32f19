"""Which Graphviz `dot` executable draws the graphs.

The python `graphviz` package only writes DOT source; a `dot` program turns
it into SVG. We prefer a system Graphviz on PATH. Without one (a plain
`pip install`), we use the `graphviz-pure` wheel, whose command is named
`graphviz-pure`, by pointing `graphviz.backend.dot_command.DOT_BINARY` at it
(setting `graphviz.DOT_BINARY` would not work: that is only a copy).
"""
import os
import shutil
import sys
import sysconfig
from pathlib import Path

import graphviz.backend.dot_command as _dot_command

PURE_COMMAND = "graphviz-pure"


class GraphvizNotFound(RuntimeError):
    """Neither a system `dot` nor the graphviz-pure command could be found."""


def _pure_candidates():
    # The script sits next to the interpreter of the environment it was installed into;
    # a Jupyter kernel often runs without that folder on PATH, so look there first.
    names = [PURE_COMMAND + ".exe", PURE_COMMAND] if os.name == "nt" else [PURE_COMMAND]
    folders = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))]
    for folder in folders:
        for name in names:
            yield folder / name
    found = shutil.which(PURE_COMMAND)
    if found:
        yield Path(found)


def find_dot(prefer_system=True):
    """The path of the dot program to use: a system `dot` on PATH, else `graphviz-pure`.

    Raises GraphvizNotFound with what to install when there is neither.

    >>> find_dot()            # doctest: +SKIP
    '/usr/bin/dot'
    """
    if prefer_system:
        system = shutil.which("dot")
        if system:
            return system
    for candidate in _pure_candidates():
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise GraphvizNotFound(
        "cannot draw graphs: no Graphviz 'dot' program on PATH and no 'graphviz-pure' command in this "
        f"Python environment ({Path(sys.executable).parent}). Install one of them: "
        "`pip install graphviz-pure` (or `pip install 'dlscratch[course]'`), or the system package "
        "(`apt-get install graphviz`, `brew install graphviz`, `conda install graphviz`)."
    )


def configure_dot(prefer_system=True):
    """Point the python graphviz package at the dot program find_dot() picks, and return its path.

    dlscratch.viz calls this for you; call it again if you install Graphviz while the kernel runs.

    >>> import dlscratch.viz as viz
    >>> viz.configure_dot()   # doctest: +SKIP
    '/usr/bin/dot'
    """
    path = find_dot(prefer_system)
    _dot_command.DOT_BINARY = Path(path)
    return path


def current_dot():
    """The dot program the python graphviz package will run now (a path or the bare name 'dot')."""
    return str(_dot_command.DOT_BINARY)


def ensure_dot():
    """Make sure a dot program is configured; configure one on first use. Returns its path."""
    current = _dot_command.DOT_BINARY
    if current.is_absolute() and current.is_file():
        return str(current)
    return configure_dot()
