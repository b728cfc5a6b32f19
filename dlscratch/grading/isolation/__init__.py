"""Grading where no student code runs: the student's cells run in a sandboxed child process,
and the test cells run in the grader's own process against proxies that ask the child for data.

    protocol      the data-only messages between the two sides (JSON and raw array bytes, no pickle)
    strip         the library as the sandbox sees it: reference answers replaced by refusals
    graphs        graph nodes as data: a graph described by the grader, rebuilt in the sandbox
    sandbox       starting the child: bubblewrap, or a plain subprocess with limits (loudly)
    child         the sandboxed side: runs the student's cells, answers calls with data
    preprocessor  IsolatedExecute, nbgrader's Execute step replaced (configured in nbgrader_config.py)

See docs/grading-isolation.md. This package must not import nbgrader or Jupyter at import
time: the sandbox imports it (child, protocol and graphs) from the stripped copy of the library.
"""
