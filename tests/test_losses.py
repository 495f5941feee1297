"""Cross-entropy (parts 1b, 1c) and the softmax + cross-entropy gradient (part 2a)."""

import pytest
import torch
import torch.nn.functional as Fn
from hypothesis import given, strategies as st

import backprop as bp


def probabilities(B, C, dtype=torch.float64):
    return torch.softmax(torch.randn(B, C, dtype=dtype) * 3, dim=1)


def test_celoss_is_the_mean_cross_entropy():
    Q, P = probabilities(5, 4), probabilities(5, 4)
    direct = sum(-(P[i] * Q[i].log()).sum() for i in range(5)) / 5
    torch.testing.assert_close(bp.CELoss(Q, P), direct)
    torch.testing.assert_close(bp.CELoss(Q, P, estable=False), direct)


def test_celoss_on_one_hot_rows_is_nll_of_log_q():
    Q = probabilities(8, 6)
    t = torch.randint(0, 6, (8,))
    P = Fn.one_hot(t, 6).double()
    torch.testing.assert_close(bp.CELoss(Q, P), Fn.nll_loss(Q.log(), t))
    torch.testing.assert_close(bp.CategoricalCELoss(Q, t), Fn.nll_loss(Q.log(), t))


def test_celoss_of_softmax_is_torch_cross_entropy_with_soft_targets():
    logits, P = torch.randn(7, 5, dtype=torch.float64), probabilities(7, 5)
    torch.testing.assert_close(bp.CELoss(bp.softmax(logits, 1), P), Fn.cross_entropy(logits, P))


@given(st.integers(1, 20), st.integers(2, 12), st.integers(0, 2**31 - 1))
def test_categorical_equals_celoss_on_one_hot(B, C, seed):
    g = torch.Generator().manual_seed(seed)
    Q = torch.softmax(torch.randn(B, C, generator=g, dtype=torch.float64), 1)
    t = torch.randint(0, C, (B,), generator=g)
    for estable in (True, False):
        torch.testing.assert_close(bp.CategoricalCELoss(Q, t, estable), bp.CELoss(Q, Fn.one_hot(t, C).double(), estable))


@given(st.integers(1, 10), st.integers(2, 10))
def test_cross_entropy_is_non_negative(B, C):
    Q, P = probabilities(B, C), probabilities(B, C)
    assert bp.CELoss(Q, P) >= 0
    # and, for a fixed P, it is smallest at Q = P (Gibbs' inequality)
    assert bp.CELoss(Q, P) >= bp.CELoss(P, P) - 1e-12


def test_stable_version_avoids_the_nan_of_log_zero():
    Q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    P = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    assert torch.isnan(bp.CELoss(Q, P, estable=False))  # 0 * log 0 = 0 * -inf
    stable = bp.CELoss(Q, P)
    assert torch.isfinite(stable)
    # row 0 contributes 0, row 1 contributes -0.5 log(1e-8) - 0.5 log 1
    torch.testing.assert_close(stable, torch.tensor(0.5 * -0.5 * torch.log(torch.tensor(1e-8)).item()))
    torch.testing.assert_close(bp.CELoss(Q, P, epsilon=1e-3), torch.tensor(0.25 * 6.907755279), rtol=1e-6, atol=0)
    t = torch.tensor([1, 1])
    assert torch.isinf(bp.CategoricalCELoss(Q, t, estable=False))
    assert torch.isfinite(bp.CategoricalCELoss(Q, t))


def test_celoss_is_a_scalar_and_averages_over_dim_0_for_any_rank():
    Q = torch.softmax(torch.randn(3, 4, 5), dim=-1)
    P = torch.softmax(torch.randn(3, 4, 5), dim=-1)
    L = bp.CELoss(Q, P)
    assert L.dim() == 0
    torch.testing.assert_close(L, -(P * Q.log()).sum() / 3)


def test_softmax_cross_entropy_grad_is_autograd_of_the_loss():
    for y in (torch.randint(0, 6, (9,)), Fn.one_hot(torch.randint(0, 6, (9,)), 6).double(), probabilities(9, 6)):
        u = torch.randn(9, 6, dtype=torch.float64, requires_grad=True)
        target = y if y.dim() == 1 else y
        (du,) = torch.autograd.grad(Fn.cross_entropy(u, target), u)
        torch.testing.assert_close(bp.softmax_cross_entropy_grad(torch.softmax(u, 1).detach(), y), du)


def test_softmax_cross_entropy_grad_for_rows_not_summing_to_one():
    u = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    P = torch.rand(4, 3, dtype=torch.float64) * 2
    (du,) = torch.autograd.grad(-(P * torch.log_softmax(u, 1)).sum() / 4, u)
    torch.testing.assert_close(bp.softmax_cross_entropy_grad(torch.softmax(u, 1).detach(), P), du)


@given(st.integers(1, 16), st.integers(2, 10))
def test_fused_gradient_is_y_hat_minus_y_over_B(B, C):
    """The book's formula, as a property: ∂L/∂u^(L+1) = (ŷ − y)/B for one-hot y."""
    u = torch.randn(B, C, dtype=torch.float64, requires_grad=True)
    y = Fn.one_hot(torch.randint(0, C, (B,)), C).double()
    y_hat = bp.softmax(u, 1)
    (du,) = torch.autograd.grad(bp.CELoss(y_hat, y, estable=False), u)
    torch.testing.assert_close(du, (y_hat.detach() - y) / B)


# --- bad input ---------------------------------------------------------------------------------------

def test_celoss_shape_mismatch():
    with pytest.raises(ValueError, match=r"Q and P must have the same shape, got Q \(3, 4\) and P \(3, 5\)"):
        bp.CELoss(torch.rand(3, 4), torch.rand(3, 5))


def test_celoss_not_tensors_and_bad_epsilon():
    with pytest.raises(TypeError, match="CELoss: P must be a tensor, got list"):
        bp.CELoss(torch.rand(2, 2), [[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="epsilon must be a number in"):
        bp.CELoss(torch.rand(2, 2), torch.rand(2, 2), epsilon=0)


def test_categorical_bad_targets():
    Q = probabilities(4, 3)
    with pytest.raises(IndexError, match="class index 3, out of range for 3 classes"):
        bp.CategoricalCELoss(Q, torch.tensor([0, 1, 2, 3]))
    with pytest.raises(IndexError, match="class index -1"):
        bp.CategoricalCELoss(Q, torch.tensor([0, -1, 2, 1]))
    with pytest.raises(TypeError, match="Target must hold integer class indices.*float32"):
        bp.CategoricalCELoss(Q, torch.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"Target must have shape \(4,\)"):
        bp.CategoricalCELoss(Q, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"Q must have shape \(N, C\)"):
        bp.CategoricalCELoss(torch.rand(4), torch.tensor([0, 1, 2, 1]))
