"""backprop: backpropagation by hand, the package behind the book *Back to training*.

Grouped by module, in the order of the assignment (CC6204 Tarea 2):
activations and their derivatives (1a), cross-entropy (1b, 1c), the network and its backward
pass (2, 3a, 3b), the gradient check (3c), gradient descent (4a), random data (4b), the
training loop (4c) and its plots (4d), and real data: MNIST and Fashion-MNIST (4e).
"""

from .activations import (
    ACTIVATIONS, Activation, celu, celu_dalpha, celu_dx, get_activation, relu, relu_dx, sig, sig_dx,
    softmax, swish, swish_dbeta, swish_dx, tanh, tanh_dx,
)
from .losses import CategoricalCELoss, CELoss, softmax_cross_entropy_grad
from .network import FFNN
from .gradcheck import GradientCheck, GradientCheckError, gradient_check
from .optim import SGD
from .data import RandomDataset
from .mnist import FASHION_MNIST_CLASSES, MNIST_CLASSES, ImageDataset, load_fashion_mnist, load_mnist
from .train import TrainingDivergedError, calcula_acierto, entrenar_FFNN
from .plotting import plot_results

__version__ = "0.1.0"

__all__ = [
    "sig", "sig_dx", "tanh", "tanh_dx", "relu", "relu_dx", "swish", "swish_dx", "swish_dbeta",
    "celu", "celu_dx", "celu_dalpha", "softmax", "Activation", "ACTIVATIONS", "get_activation",
    "CELoss", "CategoricalCELoss", "softmax_cross_entropy_grad",
    "FFNN",
    "gradient_check", "GradientCheck", "GradientCheckError",
    "SGD",
    "RandomDataset", "load_mnist", "load_fashion_mnist", "ImageDataset", "MNIST_CLASSES", "FASHION_MNIST_CLASSES",
    "entrenar_FFNN", "calcula_acierto", "TrainingDivergedError",
    "plot_results",
]
