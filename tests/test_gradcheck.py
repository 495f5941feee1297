"""The gradient check (part 3c): it passes on a correct backward and catches a broken one."""

import dataclasses

import pytest
import torch

import backprop as bp
from backprop import ACTIVATIONS


def network(acts=("swish", "celu", "tanh", "sig", "relu")):
    torch.manual_seed(3)
    return bp.FFNN(6, [5, 4, 4, 3, 3][: len(acts)], list(acts), 3, dtype=torch.float64, beta=1.3, alpha=0.7)


def test_correct_backward_passes_far_below_1e_7():
    red = network()
    x, y = torch.randn(10, 6, dtype=torch.float64), torch.randint(0, 3, (10,))
    check = bp.gradient_check(red, x, y)
    assert check.error < 1e-7
    assert float(check) == check.error
    names = {p.name for p in check.parameters}
    assert names == {n for n, _ in red.named_parameters()}
    assert all(p.error < 1e-7 for p in check.parameters)


def test_checks_one_hot_targets_and_float32_networks_in_float64():
    torch.manual_seed(0)
    red = bp.FFNN(6, [5], ["celu"], 4)  # float32: the check copies it to float64
    x, y = torch.randn(7, 6), torch.nn.functional.one_hot(torch.randint(0, 4, (7,)), 4).float()
    before = {n: p.detach().clone() for n, p in red.named_parameters()}
    assert bp.gradient_check(red, x, y).error < 1e-7
    for n, p in red.named_parameters():  # the user's network is untouched
        assert p.dtype == torch.float32 and torch.equal(p.detach(), before[n]) and p.grad is None


def test_works_right_after_a_forward_with_autograd_on():
    red = network(("celu", "swish"))
    x, y = torch.randn(5, 6, dtype=torch.float64), torch.randint(0, 3, (5,))
    red(x)  # its record holds graph tensors: the float64 copy must leave it behind
    assert bp.gradient_check(red, x, y).error < 1e-7


def test_large_parameters_are_sampled():
    red = bp.FFNN(30, [20], ["relu"], 3, dtype=torch.float64)
    check = bp.gradient_check(red, torch.randn(4, 30, dtype=torch.float64), torch.randint(0, 3, (4,)), max_entries=7)
    sizes = {p.name: len(p.indices) for p in check.parameters}
    assert sizes == {"Ws.0": 7, "bs.0": 7, "U": 7, "c": 3}
    assert len(set(check.parameters[0].indices)) == 7


class BrokenBackward(bp.FFNN):
    """A backward that gets ∂L/∂W^(2) 10% too large."""

    def backward(self, x, y, y_pred):
        super().backward(x, y, y_pred)
        self.Ws[1].grad.mul_(1.1)


def test_broken_backward_is_caught_and_named():
    torch.manual_seed(3)
    red = BrokenBackward(6, [5, 4], ["tanh", "swish"], 3, dtype=torch.float64)
    x, y = torch.randn(10, 6, dtype=torch.float64), torch.randint(0, 3, (10,))
    check = bp.gradient_check(red, x, y)
    assert check.error > 1e-5  # far above the ~1e-18 of a correct backward
    assert check.worst.name == "Ws.1"
    assert check.worst.error == pytest.approx(0.1**2 / (1 + 1.1**2), rel=1e-3)  # ‖0.1 G‖² / (‖G‖² + ‖1.1 G‖²)
    assert {p.name for p in check.parameters if p.error > 1e-7} == {"Ws.1"}
    with pytest.raises(bp.GradientCheckError, match=r"(?s)worst parameter: Ws\.1 .*at index \(\d, \d\): backward gives .*, central differences give"):
        bp.gradient_check(red, x, y, tol=1e-7)


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS])
def test_a_wrong_derivative_in_the_registry_is_caught(name):
    """Replace f' by something plausible but wrong (f itself, or f' scaled): the check must fail."""
    act = ACTIVATIONS[name]
    wrong = act.fn if name != "relu" else (lambda T: 0.5 * act.dx(T))
    red = network((name, "tanh"))
    red.activations[0] = dataclasses.replace(act, dx=wrong)
    x, y = torch.randn(12, 6, dtype=torch.float64), torch.randint(0, 3, (12,))
    check = bp.gradient_check(red, x, y)
    assert check.error > 1e-3
    assert check.worst.name in {"Ws.0", "bs.0"}


def test_report_table():
    red = network(("relu",))
    text = repr(bp.gradient_check(red, torch.randn(3, 6, dtype=torch.float64), torch.randint(0, 3, (3,))))
    assert text.splitlines()[0].startswith("parámetro")
    assert {l.split()[0] for l in text.splitlines()[1:]} == {"Ws.0", "bs.0", "U", "c", "total"}


def test_bad_arguments():
    red = network(("relu",))
    x, y = torch.randn(3, 6), torch.randint(0, 3, (3,))
    with pytest.raises(ValueError, match="epsilon must be a float in"):
        bp.gradient_check(red, x, y, epsilon=0.0)
    with pytest.raises(ValueError, match="max_entries must be a positive integer"):
        bp.gradient_check(red, x, y, max_entries=0)
