"""TensorFlow 1's softmax-regression tutorial ("MNIST for ML beginners"), on the 8x8 digits.

Everything below the import of `tf` is TensorFlow 1 code as the tutorial wrote it. It runs
unchanged on dlscratch, and on TensorFlow 2 when the import line becomes

    import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()

The differences from the tutorial are in the data only: scikit-learn's 8x8 digits (64 pixels)
instead of MNIST's 28x28 images (784 pixels), and batches drawn by a seeded numpy generator,
so that both runs see the same batches.
"""
import numpy as np

import dlscratch as tf
from dlscratch.data import digits, one_hot, train_test_split

images, classes = digits()
train_images, test_images, train_classes, test_classes = train_test_split(
    images.astype(np.float32), classes, test_size=0.25, seed=0)
train_labels, test_labels = one_hot(train_classes, 10, np.float32), one_hot(test_classes, 10, np.float32)
batch_order = np.random.default_rng(0)


def next_batch(size):
    picked = batch_order.choice(len(train_images), size, replace=False)
    return train_images[picked], train_labels[picked]


# The model: softmax regression, y = x W + b
x = tf.placeholder(tf.float32, [None, 64])
W = tf.Variable(tf.zeros([64, 10]))
b = tf.Variable(tf.zeros([10]))
y = tf.matmul(x, W) + b

# The loss and the training step
y_ = tf.placeholder(tf.float32, [None, 10])
cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y))
train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)

# How often the most probable class is the right one
correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))

sess = tf.InteractiveSession()
tf.global_variables_initializer().run()
for step in range(1, 1001):
    batch_xs, batch_ys = next_batch(100)
    sess.run(train_step, feed_dict={x: batch_xs, y_: batch_ys})
    if step % 200 == 0:
        loss, acc = sess.run([cross_entropy, accuracy], feed_dict={x: test_images, y_: test_labels})
        print(f"step {step:4}: test loss {loss:.6f}, test accuracy {acc:.4f}")
