"""A TensorFlow 1 script runs on dlscratch and on TensorFlow, changing only the import line, with the same numbers."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "dlscratch" / "examples" / "mnist_softmax.py"
DLSCRATCH_IMPORT = "import dlscratch as tf\n"
TENSORFLOW_IMPORT = "import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()\n"
# The script trains on the digits, which come with scikit-learn (installed with the course; not needed
# by the rest of tests/core).
needs_digits = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                                  reason="the digits come with scikit-learn: pip install -e '.[course]'")
REPORT = re.compile(r"step +(\d+): test loss ([0-9.]+), test accuracy ([0-9.]+)")


def run(source):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, env=env,
                            cwd=SCRIPT.parents[2], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = REPORT.findall(result.stdout)
    assert len(rows) == 5, result.stdout
    return np.array(rows, dtype=float)  # step, loss, accuracy


def test_the_script_imports_dlscratch_exactly_once():
    assert SCRIPT.read_text().count(DLSCRATCH_IMPORT) == 1


@needs_digits
def test_softmax_regression_learns_the_digits_on_dlscratch():
    rows = run(SCRIPT.read_text())
    np.testing.assert_array_equal(rows[:, 0], [200, 400, 600, 800, 1000])
    assert rows[-1, 1] < rows[0, 1] < np.log(10)  # below the loss of a uniform guess, and falling
    assert rows[-1, 2] > 0.9


@needs_digits
@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                    reason="TensorFlow is not installed: pip install -e '.[frameworks]'")
def test_the_same_script_gives_the_same_numbers_on_tensorflow():
    source = SCRIPT.read_text()
    ours = run(source)
    theirs = run(source.replace(DLSCRATCH_IMPORT, TENSORFLOW_IMPORT))
    # Both compute in float32, where one rounding is ~6e-8 relative; numpy and TensorFlow add up the
    # matrix products in different orders, and 1000 steps of gradient descent carry those differences
    # along, so the losses agree to about 1e-5, not to the last bit.
    np.testing.assert_allclose(theirs[:, 1], ours[:, 1], rtol=1e-4)
    # The accuracy counts test images (450 of them): a near-tie between two classes could flip one.
    np.testing.assert_allclose(theirs[:, 2], ours[:, 2], atol=1.5 / 450)
