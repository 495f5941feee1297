"""A short training on real data (part 4e): the package alone learns Fashion-MNIST.

Everything comes from ``backprop``: the network and its hand-written ``backward`` (``FFNN``), the
optimizer (``SGD``), the loop (``entrenar_FFNN``) and the metric (``calcula_acierto``); autograd
is never involved. The data are the Debian files (``apt-get install dataset-fashion-mnist``); the
test is skipped, with that hint, where they are absent, and never downloads anything.

Sizes and floor. The first 5000 training images, 2 epochs of mini-batches of 50 (200 steps of
SGD with momentum 0.9, the learning rate going from 0.02 to 0.002 for the second epoch), one
hidden layer of 64 relu units with He initialization, scored on the first 2000 test images: about
a second on 2 cores, loading included. With these settings the test accuracy was 0.81-0.83 over
seeds 0-11 (mean 0.822, 0.8285 for seed 0); without the learning-rate decay it scattered over
0.74-0.81, which is why the schedule is there. The floor, 0.75, sits well below that range, so
that another BLAS, CPU or torch version (which change the last bits of every sum) cannot make the
test flaky.

What it catches. It is an end-to-end check that training on real data works, not a gradient check
(tests/test_network.py and tests/test_gradcheck.py compare every gradient with autograd). Some
wrong backwards still learn something, and some would pass: measured with seed 0, a sign error in
every ∂L/∂W^(l) stays at chance (0.10), a sign error in ∂L/∂U reaches 0.27, frozen hidden layers
(only U and c learn: softmax regression on 64 random features) 0.72, an inverted relu' mask 0.71,
all below the floor; but relu' ≡ 1 still reaches 0.82 and passes.
"""

import pytest
import torch

import backprop as bp

N_TRAIN, N_TEST, EPOCHS, BATCH, SEED = 5000, 2000, 2, 50, 0
FLOOR = 0.75


def fashion_subsets():
    """The first ``N_TRAIN`` training and ``N_TEST`` test examples, standardized; or skip."""
    try:
        train = bp.load_fashion_mnist(train=True, download=False, normalize=True)
        test = bp.load_fashion_mnist(train=False, download=False, normalize=True)
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST not installed: apt-get install dataset-fashion-mnist")
    subset = lambda ds, n: torch.utils.data.TensorDataset(*(t[:n] for t in ds.tensors))
    return subset(train, N_TRAIN), subset(test, N_TEST)


def train_small(train, seed=SEED):
    torch.manual_seed(seed)
    red = bp.FFNN(784, [64], ["relu"], 10, init="kaiming")
    optimizador = bp.SGD(red.parameters(), lr=0.02, momentum=0.9)
    loss, acc = bp.entrenar_FFNN(red, train, optimizador, epochs=EPOCHS, batch_size=BATCH, device="cpu",
                                 lr_schedule=lambda epoch: 0.02 * 0.1**epoch,
                                 generator=torch.Generator().manual_seed(seed), verbose=False)
    return red, loss, acc


def test_short_fashion_mnist_training_generalizes():
    train, test = fashion_subsets()
    red, loss, acc = train_small(train)
    per_epoch = N_TRAIN // BATCH
    assert len(loss) == EPOCHS * per_epoch
    first, last = sum(loss[:10]) / 10, sum(loss[-per_epoch:]) / per_epoch
    assert last < 0.35 * first, f"the loss barely went down: {first:.3f} -> {last:.3f}"
    acierto = bp.calcula_acierto(red, test, device="cpu")
    assert acierto >= FLOOR, f"test accuracy {acierto:.4f} < {FLOOR} after {EPOCHS} epochs on {N_TRAIN} examples"
