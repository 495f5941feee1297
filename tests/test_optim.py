"""SGD (part 4a) against torch.optim.SGD."""

import math

import pytest
import torch

import backprop as bp


def pair(seed=0):
    torch.manual_seed(seed)
    a = bp.FFNN(5, [4, 3], ["relu", "celu"], 3, dtype=torch.float64)
    b = bp.FFNN(5, [4, 3], ["relu", "celu"], 3, dtype=torch.float64)
    b.load_state_dict(a.state_dict())
    return a, b


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch_optim_sgd_over_several_steps(momentum):
    ours, ref = pair()
    opt = bp.SGD(ours.parameters(), lr=0.05, momentum=momentum)  # a generator, read once
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=momentum)
    for step in range(6):
        x, y = torch.randn(8, 5, dtype=torch.float64), torch.randint(0, 3, (8,))
        ours.backward(x, y, ours(x))
        opt.step()
        ref_opt.zero_grad()
        bp.CategoricalCELoss(ref(x), y, estable=False).backward()
        ref_opt.step()
        for (n, p), q in zip(ours.named_parameters(), ref.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12, msg=lambda m: f"step {step}, {n}: {m}")


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_weight_decay_matches_torch_on_matrices_only(momentum):
    ours, ref = pair()
    opt = bp.SGD(ours.parameters(), lr=0.05, momentum=momentum, weight_decay=0.01)
    matrices = [p for p in ref.parameters() if p.dim() == 2]
    others = [p for p in ref.parameters() if p.dim() < 2]
    ref_opt = torch.optim.SGD([{"params": matrices, "weight_decay": 0.01}, {"params": others}], lr=0.05, momentum=momentum)
    for step in range(4):
        x, y = torch.randn(8, 5, dtype=torch.float64), torch.randint(0, 3, (8,))
        ours.backward(x, y, ours(x))
        grads = [p.grad.clone() for p in ours.parameters()]
        opt.step()
        assert all(torch.equal(p.grad, g) for p, g in zip(ours.parameters(), grads))  # .grad untouched
        ref_opt.zero_grad()
        bp.CategoricalCELoss(ref(x), y, estable=False).backward()
        ref_opt.step()
        for (n, p), q in zip(ours.named_parameters(), ref.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12, msg=lambda m: f"step {step}, {n}: {m}")


def test_generator_input_is_kept():
    red, _ = pair()
    opt = bp.SGD((p for p in red.parameters()), lr=0.1)
    assert len(opt.params) == len(list(red.parameters()))
    x, y = torch.randn(4, 5, dtype=torch.float64), torch.randint(0, 3, (4,))
    before = [p.detach().clone() for p in red.parameters()]
    red.backward(x, y, red(x))
    opt.step()
    opt.step()  # a second step with the same gradients moves again
    for p, b in zip(red.parameters(), before):
        torch.testing.assert_close(p.detach(), b - 0.2 * p.grad, rtol=1e-12, atol=1e-14)


def test_parameters_without_gradient_are_skipped_and_zero_grad():
    a, b = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
    a.grad = torch.full((3,), 2.0)
    opt = bp.SGD([a, b], lr=0.5)
    opt.step()
    assert a.tolist() == [0.0, 0.0, 0.0] and b.tolist() == [1.0, 1.0]
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0, 0.0]
    opt.zero_grad()
    assert a.grad is None


def test_step_works_under_no_grad_and_outside_it():
    p = torch.nn.Parameter(torch.zeros(2))
    p.grad = torch.ones(2)
    opt = bp.SGD([p], lr=1.0)
    opt.step()
    with torch.no_grad():
        opt.step()
    assert p.tolist() == [-2.0, -2.0] and p.requires_grad


@pytest.mark.parametrize("lr", [0, -0.1, math.inf, math.nan, "0.1", None, True])
def test_lr_must_be_a_positive_finite_number(lr):
    with pytest.raises(ValueError, match=r"lr must be a positive finite number, got"):
        bp.SGD([torch.nn.Parameter(torch.zeros(1))], lr)


def test_lr_can_change_between_steps_but_stays_valid():
    opt = bp.SGD([torch.nn.Parameter(torch.zeros(1))], 0.1)
    opt.lr = 0.01
    assert opt.lr == 0.01
    with pytest.raises(ValueError, match="lr must be a positive finite number, got -1"):
        opt.lr = -1


def test_bad_parameters_and_momentum():
    with pytest.raises(TypeError, match="parameters must be an iterable of tensors"):
        bp.SGD(torch.zeros(3), 0.1)
    with pytest.raises(TypeError, match="parameters must hold tensors, item 1 is float"):
        bp.SGD([torch.zeros(1), 1.0], 0.1)
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\)"):
        bp.SGD([torch.zeros(1)], 0.1, momentum=1.0)
    with pytest.raises(ValueError, match=r"weight_decay must be a finite number >= 0, got -0.1"):
        bp.SGD([torch.zeros(1)], 0.1, weight_decay=-0.1)
