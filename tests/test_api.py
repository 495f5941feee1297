"""Every public name of the package imports from ``backprop``."""

import importlib

import backprop

PUBLIC = """sig tanh relu swish celu softmax sig_dx tanh_dx relu_dx swish_dx swish_dbeta celu_dx celu_dalpha
CELoss CategoricalCELoss FFNN gradient_check SGD RandomDataset entrenar_FFNN calcula_acierto plot_results
ACTIVATIONS load_mnist load_fashion_mnist""".split()


def test_public_names_import_from_backprop():
    for name in PUBLIC:
        assert hasattr(backprop, name), name
        assert name in backprop.__all__, name


def test_all_names_exist():
    for name in backprop.__all__:
        assert getattr(backprop, name) is not None


def test_every_module_declares_its_public_names():
    for module in ["activations", "losses", "network", "gradcheck", "optim", "data", "train", "plotting", "idx", "mnist"]:
        m = importlib.import_module(f"backprop.{module}")
        for name in m.__all__:
            assert hasattr(m, name), (module, name)
