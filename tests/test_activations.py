"""Activations and their derivatives (part 1a) against torch built-ins and autograd."""

import math

import pytest
import torch
import torch.nn.functional as Fn
from hypothesis import given, strategies as st

import backprop as bp
from backprop import ACTIVATIONS
from conftest import REFERENCE

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-13)}
PARAMS = {None: [None], "beta": [0.1, 0.5, 1.0, 1.7, 5.0], "alpha": [0.1, 0.5, 1.0, 2.0, 5.0]}
EDGES = [0.0, 1e-6, -1e-6, 30.0, -30.0, 1e4, -1e4, 0.5, -0.5, 3.0, -3.0]


def inputs(dtype):
    """Random values and the edge cases (0, ±1e-6, ±30, ±1e4) in one tensor."""
    return torch.cat([torch.randn(200, dtype=dtype) * 4, torch.tensor(EDGES, dtype=dtype)])


def cases():
    for name, act in ACTIVATIONS.items():
        for p in PARAMS[act.param]:
            for dtype in DTYPES:
                yield pytest.param(name, p, dtype, id=f"{name}-{act.param}={p}-{str(dtype)[6:]}")


@pytest.mark.parametrize("name,p,dtype", list(cases()))
def test_function_matches_torch(name, p, dtype):
    act = ACTIVATIONS[name]
    T = inputs(dtype)
    pt = None if p is None else torch.tensor(p, dtype=dtype)
    torch.testing.assert_close(act(T, p), REFERENCE[name](T, pt), **TOL[dtype])


@pytest.mark.parametrize("name,p,dtype", list(cases()))
def test_derivative_matches_autograd(name, p, dtype):
    act = ACTIVATIONS[name]
    T = inputs(dtype).requires_grad_(True)
    pt = None if p is None else torch.tensor(p, dtype=dtype, requires_grad=True)
    (dx,) = torch.autograd.grad(REFERENCE[name](T, pt).sum(), T)
    ours = act.derivative(T.detach(), p)
    assert torch.isfinite(ours).all()
    torch.testing.assert_close(ours, dx, **TOL[dtype])


@pytest.mark.parametrize("name,p,dtype", [c for c in cases() if c.values[1] is not None])
def test_parameter_derivative_matches_autograd(name, p, dtype):
    act = ACTIVATIONS[name]
    T = inputs(dtype)
    # one parameter per entry, so autograd gives every entry's own derivative d f(x_i, p_i)/d p_i
    P = torch.full_like(T, p).requires_grad_(True)
    (dp,) = torch.autograd.grad(REFERENCE[name](T, P).sum(), P)
    ours = act.dparam(T, p)
    assert torch.isfinite(ours).all()
    torch.testing.assert_close(ours, dp, **TOL[dtype])


@pytest.mark.parametrize("name,p,dtype", list(cases()))
def test_autograd_through_our_functions_agrees(name, p, dtype):
    """The book also differentiates our own forward functions with autograd: that must give
    the true derivative too, kinks and the C¹ point of celu at 0 included."""
    act = ACTIVATIONS[name]
    T = inputs(dtype).requires_grad_(True)
    (dx,) = torch.autograd.grad(act(T, p).sum(), T)
    torch.testing.assert_close(dx, act.derivative(T.detach(), p), **TOL[dtype])


def test_functions_match_torch_nn_functional():
    T = inputs(torch.float64)
    torch.testing.assert_close(bp.relu(T), Fn.relu(T))
    torch.testing.assert_close(bp.swish(T, 1.0), Fn.silu(T))
    for a in (0.3, 1.0, 2.5):
        torch.testing.assert_close(bp.celu(T, a), Fn.celu(T, a))
    torch.testing.assert_close(bp.sig(T), 1 / (1 + torch.exp(-T)))


def test_parameters_as_tensors_and_nn_parameters():
    T = torch.randn(4, 5)
    for p in (0.7, torch.tensor(0.7), torch.nn.Parameter(torch.tensor(0.7))):
        torch.testing.assert_close(bp.swish(T, p), T * torch.sigmoid(0.7 * T))
        torch.testing.assert_close(bp.celu(T, p), Fn.celu(T, 0.7))
        torch.testing.assert_close(bp.swish_dbeta(T, p), T * T * torch.sigmoid(0.7 * T) * torch.sigmoid(-0.7 * T))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_shape_is_kept_for_any_rank(name):
    act = ACTIVATIONS[name]
    for shape in [(), (3,), (2, 3), (2, 3, 4), (1, 2, 1, 3)]:
        T = torch.randn(shape)
        p = None if act.param is None else 1.3
        for f in (act.fn, act.dx, act.dparam):
            if f is not None:
                out = f(T) if act.param is None else f(T, p)
                assert out.shape == T.shape


def test_public_functions_are_named_after_themselves():
    for name in ["sig", "tanh", "relu", "swish", "celu", "softmax", "sig_dx", "tanh_dx", "relu_dx",
                 "swish_dx", "swish_dbeta", "celu_dx", "celu_dalpha"]:
        assert getattr(bp, name).__name__ == name
    for name, act in ACTIVATIONS.items():
        assert act.fn.__name__ == name and act.dx.__name__ == f"{name}_dx"


def test_relu_derivative_at_zero_is_zero():
    """The convention the book states: relu'(0) = 0, as in PyTorch."""
    x = torch.zeros(3, requires_grad=True)
    Fn.relu(x).sum().backward()
    assert bp.relu_dx(torch.zeros(3)).tolist() == [0.0, 0.0, 0.0] == x.grad.tolist()


def test_get_activation():
    assert bp.get_activation("swish") is ACTIVATIONS["swish"]
    assert bp.get_activation(bp.celu) is ACTIVATIONS["celu"]
    with pytest.raises(ValueError, match="unknown activation 'softplus'.*sig, tanh, relu, swish, celu"):
        bp.get_activation("softplus")
    with pytest.raises(ValueError, match="unknown activation"):
        bp.get_activation(torch.relu)


@pytest.mark.parametrize("f", [bp.celu, bp.celu_dx, bp.celu_dalpha])
def test_celu_rejects_a_non_positive_alpha(f):
    with pytest.raises(ValueError, match="alpha must be a positive finite number, got 0"):
        f(torch.randn(3), 0.0)
    with pytest.raises(ValueError, match="alpha must be a positive finite number, got -1"):
        f(torch.randn(3), -1.0)
    with pytest.raises(ValueError, match="alpha must be a 0-dim tensor"):
        f(torch.randn(3), torch.ones(3))
    for bad in (torch.tensor(0.0), torch.nn.Parameter(torch.tensor(-0.5)), torch.tensor(float("nan"))):
        with pytest.raises(ValueError, match=r"alpha must be a positive finite number, got (0|-0.5|nan) \(a learnable α"):
            f(torch.randn(3), bad)


# --- properties the book claims ---------------------------------------------------------------------

finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32)
finite64 = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)
params = st.floats(0.05, 20.0)


@given(st.lists(finite32, min_size=1, max_size=20), params)
def test_no_nan_or_inf_for_any_finite_float32(values, p):
    T = torch.tensor(values, dtype=torch.float32)
    for act in ACTIVATIONS.values():
        q = None if act.param is None else p
        outs = [act.derivative(T, q)] + ([act.dparam(T, q)] if act.dparam else [])
        if act.name not in ("relu", "swish", "celu"):  # unbounded functions may overflow for huge x
            outs.append(act(T, q))
        for out in outs:
            assert torch.isfinite(out).all(), (act.name, values, p)


@given(st.lists(finite64, min_size=1, max_size=20), params)
def test_no_nan_or_inf_for_any_finite_float64(values, p):
    T = torch.tensor(values, dtype=torch.float64)
    for act in ACTIVATIONS.values():
        q = None if act.param is None else p
        for out in [act.derivative(T, q)] + ([act.dparam(T, q)] if act.dparam else []):
            assert torch.isfinite(out).all(), (act.name, values, p)


@given(st.floats(-50, 50))
def test_sigmoid_symmetry_and_derivative(x):
    T = torch.tensor([x], dtype=torch.float64)
    torch.testing.assert_close(bp.sig(-T), 1 - bp.sig(T), rtol=0, atol=1e-15)
    torch.testing.assert_close(bp.sig_dx(T), bp.sig(T) * bp.sig(-T), rtol=1e-12, atol=1e-15)


@given(st.floats(-20, 20))
def test_tanh_derivative_is_one_minus_square(x):
    T = torch.tensor([x], dtype=torch.float64)
    torch.testing.assert_close(bp.tanh_dx(T), 1 - torch.tanh(T) ** 2, rtol=1e-12, atol=1e-15)
    # and tanh is a rescaled sigmoid: tanh(x) = 2 sig(2x) - 1
    torch.testing.assert_close(bp.tanh(T), 2 * bp.sig(2 * T) - 1, rtol=0, atol=1e-14)


@given(params)
def test_celu_is_continuously_differentiable_at_zero(alpha):
    h = 1e-7
    T = torch.tensor([-h, 0.0, h], dtype=torch.float64)
    v, d = bp.celu(T, alpha), bp.celu_dx(T, alpha)
    assert abs(v[0]) < 2 * h and abs(v[2]) < 2 * h and v[1] == 0  # continuous
    assert abs(d[0] - 1) < 1e-6 / alpha and d[1] == 1 and d[2] == 1  # derivative continuous, = 1


@given(st.floats(-30, 30), params)
def test_celu_dalpha_through_the_function(x, alpha):
    """The identity the book derives: ∂celu/∂α = (celu − x·∂celu/∂x)/α."""
    T = torch.tensor([x], dtype=torch.float64)
    expected = (bp.celu(T, alpha) - T * bp.celu_dx(T, alpha)) / alpha
    torch.testing.assert_close(bp.celu_dalpha(T, alpha), expected, rtol=1e-7, atol=1e-12)


@given(st.floats(-30, 30), params)
def test_swish_derivatives_through_the_function(x, beta):
    """The forms of Ramachandran et al.: swish' = β·swish + σ(βx)(1 − β·swish); ∂β = x·swish·(1 − σ(βx))."""
    T = torch.tensor([x], dtype=torch.float64)
    s, f = bp.sig(beta * T), bp.swish(T, beta)
    torch.testing.assert_close(bp.swish_dx(T, beta), beta * f + s * (1 - beta * f), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(bp.swish_dbeta(T, beta), T * f * (1 - s), rtol=1e-9, atol=1e-12)


# --- softmax ----------------------------------------------------------------------------------------

@given(st.integers(1, 6), st.integers(1, 8), st.floats(0.1, 50))
def test_softmax_rows_sum_to_one_and_match_torch(B, C, scale):
    T = torch.randn(B, C, dtype=torch.float64) * scale
    for dim in (0, 1, -1):
        S = bp.softmax(T, dim)
        torch.testing.assert_close(S, torch.softmax(T, dim))
        torch.testing.assert_close(S.sum(dim), torch.ones(S.shape[1 - (dim % 2)], dtype=T.dtype))
        assert (S >= 0).all()


def test_softmax_any_rank_and_dim():
    T = torch.randn(2, 3, 4, 5)
    for dim in range(-4, 4):
        torch.testing.assert_close(bp.softmax(T, dim), torch.softmax(T, dim))


def test_softmax_is_shift_invariant_and_the_stable_version_never_overflows():
    T = torch.tensor([[1.0, 2.0, 3.0]])
    assert torch.isnan(bp.softmax(T - 1000, 1, estable=False)).all()  # every exp(x) underflows: 0 / 0
    torch.testing.assert_close(bp.softmax(T + 1000, 1), bp.softmax(T, 1))
    assert torch.isnan(bp.softmax(T + 1000, 1, estable=False)).all()  # exp(1001) overflows
    torch.testing.assert_close(bp.softmax(T, 1, estable=False), bp.softmax(T, 1))


def test_softmax_bad_dim():
    with pytest.raises(IndexError, match=r"dim must be in \[-2, 1\]"):
        bp.softmax(torch.randn(2, 3), 2)
    with pytest.raises(TypeError, match="T must be a tensor"):
        bp.softmax([1.0, 2.0], 0)


def test_extreme_inputs_give_the_limits():
    T = torch.tensor([-1e4, 1e4])
    assert bp.sig(T).tolist() == [0.0, 1.0]
    assert bp.sig_dx(T).tolist() == [0.0, 0.0]
    assert bp.tanh_dx(T).tolist() == [0.0, 0.0]
    assert bp.swish_dx(T, 1.0).tolist() == [0.0, 1.0]
    assert bp.swish_dbeta(T, 1.0).tolist() == [0.0, 0.0]
    assert bp.celu(T, 1.0).tolist() == [-1.0, 1e4]
    assert bp.celu_dx(T, 1.0).tolist() == [0.0, 1.0]
    assert bp.celu_dalpha(T, 1.0).tolist() == [-1.0, 0.0]
    assert math.isclose(bp.celu_dalpha(torch.tensor([-1e-6], dtype=torch.float64), 1.0).item(), -0.5e-12, rel_tol=1e-5)
