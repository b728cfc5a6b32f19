"""IsolatedExecute: nbgrader's Execute step, with the student's code kept away from the verdict.

Configured in nbgrader_config.py, in place of `Execute` in `Autograde.autograde_preprocessors`.
For the assignments it isolates (`IsolatedExecute.assignments`):

- every code cell that is not a test cell (the student's answers, their own cells, and the
  instructor's locked set-up cells) runs in a sandboxed child process (sandbox.py), in order;
- every test cell runs here, in the grader's process, from the instructor's copy in the
  gradebook (never the submission's), in a namespace holding the set-up cells' names
  (run here from the gradebook too) and, for each function the student's cells defined,
  a proxy that calls it in the child with data and returns data;
- each test cell's outcome becomes its outputs: nothing on a pass, an error output on a
  failure, which nbgrader's SaveAutoGrades then scores as it always does.

A child that dies or hangs fails only the test cell that was using it; the next test cell
gets a fresh child, which reruns the student's cells except the ones that killed it.
Other assignments run in the kernel as before (this class is nbgrader's Execute then).
"""
import atexit
import builtins
import contextlib
import gc
import io
import linecache
import os
import resource
import secrets
import shutil
import signal
import time
import traceback
import types
import warnings

import jsonschema
from nbformat import NotebookNode
from nbgrader import preprocessors as nbgrader_preprocessors
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Enum, Integer, List, Unicode

from ...core.graph import get_default_graph
from ...core.registry import OpContext
from .. import rule_case
from ..student_code import FORWARD_COUNTERS
from . import cgroups
from .graphs import GraphWriter
from .protocol import ProtocolError, Timeout, decode, encode
from .sandbox import FALLBACK_WARNING, Child, ChildDied, Limits, bwrap_available, shared_fork_server
from .strip import make_stripped_library, profile_for

CELL_CALLS_FACTOR = 10  # a test cell may spend this many cell timeouts in the student's code, in all its calls
DELETED = "This test cell was deleted from the submission; nbgrader put it back, so it scores 0."


class GraderTimeout(Exception):
    """The student's code did not answer in time (an infinite loop?)."""


class GraderProcessDied(Exception):
    """The student's code ended the process it ran in (os._exit, a crash, a resource limit)."""


class UnreadableAnswer(Exception):
    """The student's code sent back something that is not data."""


class NotRun(Exception):
    """A cell of the student's could not run at all."""


def _student_exception(info, sources):
    """The student's exception, rebuilt from data, raised from their own line (so messages can quote it)."""
    name = str(info.get("type", "Exception"))
    name = name if name.isidentifier() else "Exception"
    message = str(info.get("message", ""))
    base = getattr(builtins, name, None)
    if not (isinstance(base, type) and issubclass(base, Exception)) or not info.get("builtin"):
        base = Exception  # SystemExit, KeyboardInterrupt and the student's own classes become plain errors
    error = type(name, (base,), {"__str__": lambda self: message, "__module__": "builtins"})()
    notes = info.get("notes")
    for note in notes[:5] if isinstance(notes, list) else ():
        error.add_note(str(note)[:1000])  # e.g. which op's rule raised it
    cell, lineno = info.get("cell"), info.get("lineno")
    if isinstance(cell, int) and cell in sources and isinstance(lineno, int) and lineno > 0:
        filename = f"<your cell {cell}>"
        text = sources[cell]
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        function = str(info.get("function"))
        function = function if function.isidentifier() else "<module>"
        # a one-line function, moved to the student's line and named as theirs was
        code = compile("def _(): raise error\n", filename, "exec").co_consts[0]
        code = code.replace(co_name=function, co_qualname=function, co_firstlineno=lineno)
        try:
            types.FunctionType(code, {"error": error})()
        except Exception as e:
            return e.with_traceback(e.__traceback__.tb_next)
    return error


def _mapped_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


@contextlib.contextmanager
def address_space_cap(extra_bytes):
    """Inside, this process may map at most `extra_bytes` more than it does now (RLIMIT_AS). The checks run the
    graphs the student's code built; a node of no static size (grown from a placeholder of unknown shape) is not
    refused when it is rebuilt (graphs.MAX_NEW_ELEMENTS), and could make the grader take the machine's memory.
    With the cap numpy raises MemoryError instead (the engine reports it as ResourceExhaustedError). 0: no cap."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _mapped_bytes() + extra_bytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if not extra_bytes or (soft != resource.RLIM_INFINITY and soft <= cap):
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class StudentFunction:
    """Stands for a function the student defined: calling it calls it in the sandbox, with data."""

    def __init__(self, run, name, module):
        self.sandbox, self.__name__, self.__qualname__, self.__module__ = run, name, name, module

    def __call__(self, *args, **kwargs):
        return self.sandbox.call(self.__name__, args, kwargs)

    def __repr__(self):
        return f"<your function {self.__name__}>"


class IsolatedRun:
    """Grading one notebook the isolated way."""

    def __init__(self, execute, nb, resources):
        self.execute, self.nb, self.log = execute, nb, execute.log
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            source = gb.find_notebook(info["notebook"], info["assignment"])
            self.cells = {c.name: (c.cell_type, bool(c.locked), c.source) for c in source.source_cells}
            self.graded = {c.name for c in source.grade_cells}
            self.tests = {c.name for c in source.grade_cells if c.cell_type == "code"}
            self.answers = {c.name for c in source.solution_cells}
        self.tests -= self.answers  # grade + solution: a manually graded answer
        self.timeout = execute.timeout or 30
        self.child, self.sent, self.fatal, self.names, self.sources = None, [], set(), {}, {}
        self.writer = None  # the graphs, dicts and callbacks both sides know, for one test cell
        self.namespace = {"__name__": "__main__", "__builtins__": builtins}
        self.trusted_names = set()
        self.budget_end = self.cell_end = None
        self.overran = False  # a test cell's alarm rang (_alarm)
        self.holding, self.deferred = False, None  # a child is starting; the alarm that rang meanwhile

    # --- the child ---------------------------------------------------------------------------

    def _start_child(self):
        if self.child is not None:  # one that died on its own: its uid and cgroup go too
            self.child.kill()
        self._new_child()
        for index, source in self.sent:
            if index in self.fatal:
                continue
            try:
                self._run_cell(index, source, deadline=time.monotonic() + self.timeout)
            except (Timeout, ChildDied, ProtocolError):
                self.fatal.add(index)
                self._new_child()

    def _new_child(self):
        """Start a child with the test cell's alarm (_alarm) held off: rung while the child starts, it would
        leave a sandbox that nothing holds. It rings as soon as the child is ours, and run_test kills it."""
        self.holding = True
        try:
            self.child, self.writer = self.execute.new_child(), None
        finally:
            self.holding = False
        if self.deferred is not None:
            rang, self.deferred = self.deferred, None
            raise rang

    def _run_cell(self, index, source, deadline):
        reply, _ = self.child.request({"op": "run", "index": index, "source": source}, (), deadline)
        self._update_names(reply)
        return reply

    def _update_names(self, reply):
        names = reply.get("names")
        if isinstance(names, dict):
            self.names = {str(k): str(v) for k, v in names.items() if str(k).isidentifier()}

    def run_student_cell(self, index, cell, source, shown=False):
        """Run one of the student's cells in the child. If it kills or hangs the child, say so on the cell;
        if it raises, say so only when `shown` (answer cells): the instructor's example cells that draw
        or check gradients cannot work without the library's rules, and that is no news to the student."""
        source = as_python(source)
        if self.child is None or not self.child.alive:
            self._start_child()  # reruns the cells before this one
        self.sent.append((index, source))
        self.sources[index] = source
        try:
            reply = self._run_cell(index, source, time.monotonic() + self.timeout)
        except (Timeout, ChildDied, ProtocolError) as e:
            self.fatal.add(index)
            self.child = None
            what = "did not finish in time" if isinstance(e, Timeout) else f"ended its process ({e})"
            cell.outputs.append(_error("NotRun", f"This cell {what},\nso it counts as not run: the tests that\n"
                                                 "need what it defines fail."))
            return
        if not reply.get("ok") and shown:
            error = reply.get("error") or {}
            cell.outputs.append(_error(str(error.get("type", "Error")), str(error.get("message", ""))))

    # A training check's backward passes with the student's `rules` ({op type: StudentFunction}), batched
    # (student_code.backprop_with_rules; child.backprop_with and descend_with run them).

    def backprop(self, rules, loss, values, wanted):
        """The gradients of the `wanted` nodes from one backward pass in the child."""
        __tracebackhide__ = True
        return self.call("backprop with your rules", (loss, values, list(wanted)), {}, rules=rules, op="backprop")

    def descend(self, rules, loss, feed, variables, rate, steps):
        """Each step's gradients of `variables` in the child's run of the check's gradient descent. It may use
        the whole test cell's time: it stands for `steps` calls."""
        __tracebackhide__ = True
        return self.call("training with your rules", (loss, feed, list(variables), rate, steps), {}, rules=rules,
                         op="descend")

    def call(self, name, args, kwargs, rules=None, op="call"):
        """Call the student's `name` in the child with data; return its answer as data. (With `rules` and an
        `op` of child.BATCHED, the child runs that with those functions of the student's instead.)"""
        __tracebackhide__ = True
        if self.budget_end is not None and time.monotonic() >= self.budget_end:
            raise GraderTimeout(f"{name} did not return within {self.timeout} s.\nAn infinite loop?")
        if self.cell_end is not None and time.monotonic() >= self.cell_end:
            raise GraderTimeout(f"your functions took more than {CELL_CALLS_FACTOR * self.timeout} s\n"
                                "in all in this test cell.")
        if self.child is None or not self.child.alive:
            self._start_child()
        arrays, header = [], {"op": op, "name": name}
        if rules is not None:
            header["rules"] = {str(op_type): rule.__name__ for op_type, rule in rules.items()}
        if self.writer is None:  # a new test cell, or a new child: both sides start new tables
            self.writer, header["reset"] = GraphWriter(), True
        nodes = self.writer.begin(arrays)  # graph nodes cross as ids, their graphs as data (graphs.py)
        header["args"] = encode(tuple(args), arrays, OpContext, nodes=nodes)
        header["kwargs"] = encode(dict(kwargs), arrays, OpContext, nodes=nodes)
        header["kwargs"].pop("h", None)  # a new dict every call: nothing for the sandbox to keep
        header["variables"] = nodes.variable_updates()
        header["graph"] = nodes.descriptions
        header["default_graph"] = nodes.graph_index(get_default_graph())  # new ops go where they would in a kernel
        if FORWARD_COUNTERS:
            header["count_forwards"] = True
        start = time.monotonic()
        deadline = start + self.timeout  # each call of the student's code gets the cell timeout
        if op == "descend" and self.cell_end is not None:
            deadline = max(deadline, self.cell_end)
        try:
            reply, answer = self._exchange(header, arrays, deadline, nodes)
        except Timeout:
            self.child = self.writer = None
            self.budget_end = time.monotonic()  # the rest of this test cell fails at once
            raise GraderTimeout(f"{name} did not return within {deadline - start:.0f} s.\nAn infinite loop?") from None
        except ChildDied as e:
            self.child = self.writer = None
            raise GraderProcessDied(f"calling {name} ended the process it ran in:\n"
                                    f"{e} (os._exit? a crash? too much memory?)") from None
        except ProtocolError as e:
            self.child = self.writer = None
            raise UnreadableAnswer(f"{name} sent back something that is not data:\n{e}") from None
        self._update_names(reply)
        try:
            nodes.receive(reply.get("graph"), answer)  # the nodes the student's code made
            nodes.apply_variable_changes(reply.get("variables") or [], answer)
            if reply.get("ok"):
                self._replay(reply.get("mirrored") or [], answer, nodes)
            _count_forwards(reply.get("forward_calls") or [], nodes)
            value = decode(reply.get("value"), answer, nodes=nodes) if reply.get("ok") else None
            for i, changed in reply.get("changed", []):  # in-place changes, as the kernel would have seen them
                original, new = arrays[int(i)], decode(changed, answer)
                if hasattr(original, "flags") and original.flags.writeable and original.shape == new.shape:
                    original[...] = new
        except (ProtocolError, TypeError, ValueError, IndexError, KeyError) as e:
            raise UnreadableAnswer(f"{name} sent back something that is not data: {e}") from None
        if not reply.get("ok"):
            raise _student_exception(reply.get("error") or {}, self.sources)
        return value

    @staticmethod
    def _replay(mirrored, arrays, nodes):
        """Make the calls that the sandbox's copies of mirrored functions (graphs.py) recorded,
        [[handle, [[args, failed], ...]], ...], to the grader's own functions, in order. A call that failed
        there (and that the student's code went on from) may fail here too; one that worked there must work
        here, or the copy was not the grader's function."""
        for handle, calls in mirrored:
            function = nodes.callbacks.get(handle) if type(handle) is int else None
            if getattr(function, "mirror", None) is None or not isinstance(calls, list):
                raise ProtocolError("calls of a function that was not mirrored")
            for args, failed in calls:
                args = decode(args, arrays, nodes=nodes)
                if not isinstance(args, list):
                    raise ProtocolError("a mirrored call's arguments are not a list")
                try:
                    function(*args)
                except GraderTimeout:
                    raise
                except Exception as e:  # noqa: BLE001
                    if not failed:
                        raise ProtocolError(f"a call that worked in the sandbox fails here: {type(e).__name__}: "
                                            f"{e}") from None

    def _exchange(self, header, arrays, deadline, nodes):
        """Send a call and wait for its answer, running the grader's functions the student's code calls
        back in the meantime (a check's `step`): only with data, and only until `deadline`, counted in the
        child's CPU time (sandbox.Child.receive)."""
        self.child.start_clock()
        self.child.send(header, arrays, deadline)
        while True:
            message, got = self.child.receive(deadline)
            if "callback" not in message:
                return message, got
            out = []
            try:
                nodes.receive(message.get("graph"), got)
                function = nodes.callbacks[message["callback"]]
                args = decode(message.get("args"), got, nodes=nodes)
                kwargs = decode(message.get("kwargs"), got, nodes=nodes)
                value = function(*args, **(kwargs if isinstance(kwargs, dict) else {}))
                nodes.begin(out)
                answer = {"ok": True, "value": encode(value, out, nodes=nodes)}
                answer.update(graph=nodes.descriptions, variables=nodes.variable_updates())
            except Exception as e:  # noqa: BLE001 (the student's code gets the error, as in a kernel)
                out, answer = [], {"ok": False, "message": f"{type(e).__name__}: {e}"}
            self.child.send(answer, out, deadline)

    # --- the grader's side -------------------------------------------------------------------------

    def run_trusted(self, source, cell):
        """An instructor's set-up cell, from the gradebook: here (for the tests) and in the child (for the student)."""
        before = set(self.namespace)
        self._exec_here(source, cell, "set-up cell")
        self.trusted_names |= set(self.namespace) - before

    def run_test(self, gid, source, cell):
        if cell.source != source:  # nbgrader re-inserted a deleted cell, with its notice in front
            cell.outputs.append(_error("AssertionError", DELETED))
            return
        for name in [n for n, v in self.namespace.items() if isinstance(v, StudentFunction) and n not in self.names]:
            del self.namespace[name]
        for name, module in self.names.items():
            if name not in self.trusted_names:
                self.namespace[name] = StudentFunction(self, name, module)
        self.budget_end, self.cell_end = None, time.monotonic() + CELL_CALLS_FACTOR * self.timeout
        self.writer = None
        start = time.perf_counter()
        try:
            alarm = self._alarm((CELL_CALLS_FACTOR + 1) * self.timeout)
            with address_space_cap(self.execute.grader_memory_limit), alarm:
                self._exec_here(source, cell, f"test cell {gid}")
        except GraderTimeout as e:  # the alarm rang outside _exec_here's own handling: the cell fails all the same
            if not any(o.get("output_type") == "error" for o in cell.outputs):
                cell.outputs.append(_error("GraderTimeout", str(e)))
        finally:
            self.budget_end = self.cell_end = None
            self.log.debug("test cell %s took %.2f s", gid, time.perf_counter() - start)
        if self.overran and self.child is not None:  # it may have rung during a call: the child's state is unknown
            self.child.kill()
            self.child = self.writer = None

    @contextlib.contextmanager
    def _alarm(self, seconds):
        """Stop a test cell that runs past `seconds` in all, in the grader's process too: a check may run graphs
        the student's code built, and one can be made slow to compute. Only the main thread gets signals."""
        self.overran = False

        def ring(signum, frame):
            if armed:
                self.overran = True
                rang = GraderTimeout(f"this test cell took more than {seconds:.0f} s in all.\n"
                                     "Did your code build a graph that is very slow to compute?")
                if self.holding:  # a child is starting: _new_child raises it once the child is ours
                    self.deferred = rang
                    return
                raise rang
        armed = True
        try:
            previous = signal.signal(signal.SIGALRM, ring)
        except ValueError:  # not the main thread: no alarm
            yield
            return
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def _exec_here(self, source, cell, filename):
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(source, f"<{filename}>", "exec"), self.namespace)
        except KeyboardInterrupt:
            raise
        except Exception as e:
            if out.getvalue():
                cell.outputs.append(NotebookNode(output_type="stream", name="stdout", text=out.getvalue()))
            render = getattr(e, "_render_traceback_", None)
            cell.outputs.append(_error(type(e).__name__, str(e), render() if render else None))
            return
        if out.getvalue():
            cell.outputs.append(NotebookNode(output_type="stream", name="stdout", text=out.getvalue()))

    def _trusted_metadata(self, cell):
        """The cell's grade_id, with its nbgrader metadata as the gradebook has it: a cell the gradebook
        does not know is an ordinary cell of the student's, whatever its metadata claims."""
        meta = cell.metadata.get("nbgrader")
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(gid, str) or gid not in self.cells:
            if meta is not None:
                self.log.warning("Ignoring the nbgrader metadata of a cell the gradebook does not know: %.200r", meta)
                del cell.metadata["nbgrader"]
            return None
        meta.update(grade=gid in self.graded, solution=gid in self.answers, locked=self.cells[gid][1])
        return gid

    def run(self):
        saved_seed, rule_case.GRAD_SEED = rule_case.GRAD_SEED, 1 + secrets.randbelow(2 ** 32 - 1)  # 0: not grading
        try:
            count = 0
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                cell.outputs = []
                count += 1
                cell.execution_count = count
                gid = self._trusted_metadata(cell)
                kind, locked, source = self.cells.get(gid, (None, False, None))
                if gid in self.tests and kind == "code":
                    self.run_test(gid, source, cell)
                elif kind == "code" and locked and gid not in self.answers:
                    self.run_trusted(source, cell)
                    self.run_student_cell(index, cell, source)
                else:
                    self.run_student_cell(index, cell, cell.source, shown=gid in self.answers)
        finally:
            rule_case.GRAD_SEED = saved_seed
            if self.child is not None:
                self.child.kill()
        return self.nb


def _count_forwards(counts, nodes):
    """Add the forward calls the child counted, per node, to the checks' counters now open."""
    for key, calls in counts:
        node = None if key == "unknown" else nodes.nodes.get(key) if type(key) is int else False
        if node is not False and type(calls) is int:
            for counter in FORWARD_COUNTERS:
                counter[node] = counter.get(node, 0) + calls


def as_python(source):
    """A cell's source as plain Python: IPython's own translation of magics (`%matplotlib inline`,
    `!ls`) into get_ipython() calls, which do nothing in the sandbox. Text in, text out."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def _error(name, message, traceback=None):
    return NotebookNode(output_type="error", ename=name, evalue=message,
                        traceback=traceback or [f"\x1b[0;31m{name}\x1b[0m: {message}"])


class IsolatedExecute(Execute):
    """nbgrader's Execute, except that for `assignments` the student's code runs sandboxed
    and the test cells run in the grader's process (see this module's docstring)."""

    assignments = List(Unicode(), default_value=["01-backward-passes", "02-backprop", "03-training",
                                                 "04-forward-engine"],
                       help="Assignments graded the isolated way; the others run in the kernel.").tag(config=True)
    sandbox = Enum(["auto", "bwrap", "subprocess"], default_value="auto",
                   help="bwrap: bubblewrap, or fail. subprocess: no sandbox, resource limits only (announced "
                        "loudly). auto: bwrap where it works, else subprocess.").tag(config=True)
    memory_limit = Integer(1536 * 2 ** 20, help="Bytes of address space for the student's process.").tag(config=True)
    total_memory_limit = Integer(2 * 2 ** 30, help="Bytes of memory for all the student's processes together (a "
                                 "cgroup per sandbox, where cgroups can be used; 0: no such cap).").tag(config=True)
    grader_memory_limit = Integer(2 ** 30, help="Bytes of address space the grader's own process may add while it "
                                  "runs one test cell (the checks run graphs the student's code built; 0: no "
                                  "cap).").tag(config=True)
    cpu_limit = Integer(600, help="Seconds of CPU time for the student's process.").tag(config=True)
    process_limit = Integer(16, help="Processes the sandbox's user may have.").tag(config=True)
    file_size_limit = Integer(16 * 2 ** 20, help="Largest file the student's code may write.").tag(config=True)
    fork_server = Bool(True, help="With bubblewrap, as root: fork each notebook's child from a sandbox that has "
                       "imported numpy and the library once (forkserver.py), instead of starting a sandbox per "
                       "notebook. A new sandbox is started whenever a child leaves anything behind.").tag(config=True)

    _frozen = False  # gc.freeze() done
    _libraries = {}  # assignment -> the stripped copy of the library its sandbox sees (strip.PROFILES)
    _library = None  # the one in use
    _mode = None

    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        if assignment not in self.assignments:
            return super().preprocess(nb, resources)
        if not IsolatedExecute._frozen:  # once per process: what is alive now (nbgrader, Jupyter, numpy, the
            gc.collect()  # library) stays alive; without this the collector rescans it all whenever the checks
            gc.freeze()  # build a big graph: 0.4 s of each notebook of assignment 2
            IsolatedExecute._frozen = True
        if assignment not in IsolatedExecute._libraries:
            library = IsolatedExecute._libraries[assignment] = make_stripped_library(profile=profile_for(assignment))
            atexit.register(shutil.rmtree, library, ignore_errors=True)
        IsolatedExecute._library = IsolatedExecute._libraries[assignment]
        self.mode()
        nb = IsolatedRun(self, nb, resources).run()
        return nb, resources

    def limits(self):
        return Limits(cpu_seconds=self.cpu_limit, memory_bytes=self.memory_limit, processes=self.process_limit,
                      file_bytes=self.file_size_limit, total_memory_bytes=self.total_memory_limit)

    def mode(self):
        """bwrap or subprocess: decided once per process; the fallback is announced on every notebook,
        the want of a cgroup for the total memory (cgroups.py) once."""
        if IsolatedExecute._mode is None:
            mode = "subprocess" if self.sandbox == "subprocess" else "bwrap"
            if mode == "bwrap":
                try:
                    self._probe_bwrap()
                except ChildDied as e:
                    if self.sandbox == "bwrap":
                        raise
                    self.log.warning("bubblewrap does not work here: %s", e)
                    mode = "subprocess"
            IsolatedExecute._mode = mode
            why = cgroups.unavailable() if self.total_memory_limit else None
            if why:
                self.log.info("No cap on the total memory of the student's processes: %s. Each process still has "
                              "its own limit (memory_limit); see docs/grading-isolation.md.", why)
        if IsolatedExecute._mode == "subprocess":
            self.log.warning(FALLBACK_WARNING)
        return IsolatedExecute._mode

    def _probe_bwrap(self, attempts=3, pause=1.0):
        """Start and stop one sandboxed child; ChildDied if that fails `attempts` times. A moment's want of
        processes or memory must not send a whole grading run to the unsandboxed fallback."""
        if not bwrap_available():
            raise ChildDied("bwrap is not installed")
        for attempt in range(attempts):
            try:
                self.new_child("bwrap").kill()
                return
            except ChildDied as e:
                if attempt + 1 == attempts:
                    raise
                self.log.info("A first sandbox did not start (%s); trying again.", e)
                time.sleep(pause)

    def new_child(self, mode=None):
        mode, library, limits = mode or self.mode_quiet(), IsolatedExecute._library, self.limits()
        if not (mode == "bwrap" and os.geteuid() == 0 and self.fork_server):
            return Child(mode, library, limits)
        server = shared_fork_server(library, limits)
        try:
            return Child(mode, library, limits, server=server)
        except ChildDied:  # a server that forked before has died since (e.g. the kernel's OOM killer): once more
            if not server.forks:
                raise
            return Child(mode, library, limits, server=shared_fork_server(library, limits))

    def mode_quiet(self):
        return IsolatedExecute._mode or self.mode()


class RestoreCellMetadata(NbGraderPreprocessor):
    """Before OverwriteCells: put back the gradebook's nbgrader metadata on every cell it knows, and
    drop nbgrader metadata the gradebook does not know (an extra "graded" cell, a malformed entry).

    Without it, a test cell marked `solution: true` by the student stops nbgrader with "Inconsistent
    checksums" and the whole notebook goes ungraded; with it, the cell is graded as the instructor
    made it, and a cell of the student's own is just that, whatever its metadata claims.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            source = gb.find_notebook(info["notebook"], info["assignment"])
            known = {c.name: {"locked": bool(c.locked)} for c in source.source_cells}
            for c in source.grade_cells:
                known[c.name].update(grade=True, points=float(c.max_score))
            for c in source.solution_cells:
                known[c.name]["solution"] = True
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta is None:
                continue
            gid = meta.get("grade_id") if isinstance(meta, dict) else None
            if not isinstance(gid, str) or gid not in known:
                self.log.warning("Ignoring nbgrader metadata the gradebook does not know: %.200r", meta)
                del cell.metadata["nbgrader"]
                continue
            truth = {"grade": False, "solution": False, **known[gid]}
            for key, value in truth.items():
                if meta.get(key) != value:
                    self.log.warning("Cell %s: restoring %s=%r (the submission had %r)", gid, key, value, meta.get(key))
                    meta[key] = value
            if not truth.get("grade"):
                meta.pop("points", None)
        return nb, resources


class _SchemaCheckedOnce(BaseMetadataValidator):
    """nbgrader's per-cell check of the metadata against its schema, with jsonschema's validator built once.
    nbgrader calls `jsonschema.validate`, which first validates the schema itself, for every cell: 14 ms a
    notebook, twice per submission (about 5% of grading one)."""

    _validators = {}

    def validate_cell(self, cell):
        if "nbgrader" not in cell.metadata:
            return
        version = cell.metadata["nbgrader"].get("schema_version", 0)
        if version != self.schema_version:  # nbgrader's own wording and exception
            return super().validate_cell(cell)
        key = self.schema_version
        if key not in self._validators:
            kind = jsonschema.validators.validator_for(self.schema)
            kind.check_schema(self.schema)
            self._validators[key] = kind(self.schema)
        error = jsonschema.exceptions.best_match(self._validators[key].iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error


class _MetadataValidator(MetadataValidator, _SchemaCheckedOnce):
    """nbgrader's MetadataValidator (its checks of grade ids, points, cell types), on _SchemaCheckedOnce."""


class CheckCellMetadata(nbgrader_preprocessors.CheckCellMetadata):
    """nbgrader's CheckCellMetadata, with the same checks and messages, faster (see _SchemaCheckedOnce)."""

    def preprocess(self, nb, resources):
        try:
            _MetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources
