"""What all widgets share: callbacks that never overlap and never leave a traceback."""
import threading
import time

from dlscratch.viz.widgets._common import guarded


class _Widget:
    def __init__(self):
        self.running, self.overlaps, self.error = 0, 0, None
        self.status = type("Status", (), {"value": ""})()

    @guarded
    def redraw(self):
        self.running += 1
        self.overlaps += self.running > 1
        time.sleep(0.02)
        self.running -= 1

    @guarded
    def broken(self):
        raise ValueError("learning rate too large")


def test_callbacks_on_two_threads_run_one_at_a_time():
    # ipykernel can deliver a click and a slider change on two threads; both redraw one figure
    widget = _Widget()
    threads = [threading.Thread(target=widget.redraw) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert widget.overlaps == 0


def test_a_failing_callback_shows_its_reason_instead_of_raising():
    widget = _Widget()
    widget.broken()
    assert widget.error == "ValueError: learning rate too large"
    assert "learning rate too large" in widget.status.value
