# The shell of a terminal in the JupyterLab that course.sh opens: your own bash settings, then the
# course's environment activated, so that `python`, `jupyter` and `nbgrader` are the course's even
# where ~/.bashrc puts another Python first on PATH (pyenv, conda).
[ -r ~/.bashrc ] && . ~/.bashrc
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv/bin/activate"
