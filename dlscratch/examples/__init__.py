"""Scripts that ship with the library, so the course can run them wherever dlscratch is installed.

    mnist_softmax.py   TensorFlow 1's softmax-regression tutorial ("MNIST for ML beginners") on the
                       digits: it runs unchanged on `import dlscratch as tf` and on
                       `import tensorflow.compat.v1 as tf` (chapter 7; tests/core/test_tf1_script.py)

Run one with `python -m dlscratch.examples.mnist_softmax`.
"""
