"""FFNN: construction, forward, load_weights and the hand-written backward against autograd."""

import itertools

import pytest
import torch
import torch.nn.functional as Fn
from hypothesis import given, strategies as st

import backprop as bp
from backprop import ACTIVATIONS
from conftest import reference_gradients, shared_weights

TOL = {torch.float32: dict(rtol=1e-4, atol=1e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}
SIZES = [6, 5, 4, 3]


def make(acts, F=7, C=3, dtype=torch.float64, **kw):
    red = bp.FFNN(F, SIZES[: len(acts)], acts, C, dtype=dtype, beta=0.8, alpha=1.4, **kw)
    with torch.no_grad():  # biases and β/α away from their initial values, so every term counts
        for b in [*red.bs, red.c]:
            b.normal_(0, 0.3)
        for p in (red.act_params.values() if red.act_params is not None else []):
            p.add_(torch.rand(()) * 0.5)
    return red


def targets(kind, B, C, dtype):
    t = torch.randint(0, C, (B,))
    if kind == "index":
        return t
    if kind == "one-hot":
        return Fn.one_hot(t, C).to(dtype)
    return torch.softmax(torch.randn(B, C, dtype=dtype), 1)  # probability rows


def assert_grads(red, expected):
    """Every parameter's .grad equals the oracle's gradient (float64 tolerances)."""
    for name, p in red.named_parameters():
        torch.testing.assert_close(p.grad, expected[name], **TOL[torch.float64], msg=lambda m: f"{name}: {m}")


def assert_backward_matches_autograd(red, x, y):
    expected = reference_gradients(red, x, y)
    with torch.no_grad():
        y_pred = red(x)
        red.backward(x, y, y_pred)
    for name, p in red.named_parameters():
        assert p.grad is not None, name
        assert p.grad.shape == p.shape and p.grad.dtype == p.dtype, name
        torch.testing.assert_close(p.grad, expected[name], **TOL[p.dtype], msg=lambda m: f"{name}: {m}")
    return expected


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("target", ["index", "one-hot", "probabilities"])
@pytest.mark.parametrize("B", [1, 9])
@pytest.mark.parametrize("depth", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_backward_matches_autograd(act, depth, B, target, dtype):
    red = make([act] * depth, dtype=dtype)
    x = torch.randn(B, 7, dtype=dtype)
    assert_backward_matches_autograd(red, x, targets(target, B, 3, dtype))


MIXES = [["relu", "sig"], ["swish", "celu"], ["celu", "tanh", "swish"], ["sig", "swish", "relu", "celu"],
         ["tanh", "celu", "celu", "swish"], [bp.swish, "relu", bp.celu]]


@pytest.mark.parametrize("acts", MIXES, ids=lambda a: "-".join(getattr(f, "__name__", f) for f in a))
def test_backward_matches_autograd_for_mixed_activations(acts):
    red = make(acts)
    assert_backward_matches_autograd(red, torch.randn(11, 7, dtype=torch.float64), targets("index", 11, 3, None))


def test_beta_and_alpha_gradients_are_computed_and_nonzero():
    red = make(["swish", "celu", "swish"])
    expected = assert_backward_matches_autograd(red, torch.randn(16, 7, dtype=torch.float64), targets("index", 16, 3, None))
    names = [n for n, _ in red.named_parameters() if n.startswith("act_params")]  # in layer order
    assert names == ["act_params.beta1", "act_params.alpha2", "act_params.beta3"]
    assert all(expected[n].abs() > 1e-6 for n in names)


def test_fixed_beta_alpha_are_buffers_without_gradient():
    red = make(["swish", "celu"], learn_activation_params=False)
    assert sorted(n for n, _ in red.named_parameters()) == ["U", "Ws.0", "Ws.1", "bs.0", "bs.1", "c"]
    assert red.activation_param(1).item() == 0.8 and red.activation_param(2).item() == 1.4
    assert_backward_matches_autograd(red, torch.randn(5, 7, dtype=torch.float64), targets("one-hot", 5, 3, torch.float64))


def test_backward_works_under_no_grad_and_without_any_autograd_graph():
    red = make(["relu", "swish"])
    x, y = torch.randn(8, 7, dtype=torch.float64), targets("index", 8, 3, None)
    expected = reference_gradients(red, x, y)
    with torch.no_grad():
        y_pred = red(x)
        assert y_pred.grad_fn is None
        red.backward(x, y, y_pred)
    assert_grads(red, expected)
    assert all(p.grad.grad_fn is None for p in red.parameters())


def test_backward_after_a_forward_with_autograd_enabled():
    red = make(["celu", "sig"])
    x, y = torch.randn(8, 7, dtype=torch.float64), targets("index", 8, 3, None)
    expected = reference_gradients(red, x, y)
    y_pred = red(x)  # records a graph; backward must not extend it
    red.backward(x, y, y_pred)
    assert_grads(red, expected)
    assert not any(p.grad.requires_grad for p in red.parameters())


def test_backward_called_twice_overwrites_instead_of_accumulating():
    red = make(["relu", "celu"])
    x, y = torch.randn(8, 7, dtype=torch.float64), targets("one-hot", 8, 3, torch.float64)
    y_pred = red(x)
    red.backward(x, y, y_pred)
    first = {n: p.grad.clone() for n, p in red.named_parameters()}
    red.backward(x, y, y_pred)
    for n, p in red.named_parameters():
        torch.testing.assert_close(p.grad, first[n], rtol=0, atol=0)


def test_backward_after_an_unrelated_forward_in_between():
    red = make(["swish", "tanh"])
    x, y = torch.randn(8, 7, dtype=torch.float64), targets("index", 8, 3, None)
    expected = reference_gradients(red, x, y)
    with torch.no_grad():
        y_pred = red(x)
        red(torch.randn(3, 7, dtype=torch.float64))  # another batch, another size
        red.backward(x, y, y_pred)
    assert_grads(red, expected)


def test_backward_after_the_parameters_changed_uses_the_current_ones():
    """If the weights move between forward and backward, what forward kept is stale: backward
    must recompute it and give the gradient at the current weights."""
    red = make(["relu", "celu"])
    x, y = torch.randn(8, 7, dtype=torch.float64), targets("index", 8, 3, None)
    with torch.no_grad():
        y_pred = red(x)
        red.Ws[0].add_(0.1)  # in place, as SGD does
        red.backward(x, y, y_pred)
    expected = reference_gradients(red, x, y)
    assert_grads(red, expected)


def test_backward_after_x_changed_in_place():
    """The record of forward holds a view of x: if x changes in place, backward must recompute."""
    red = make(["tanh", "celu"])
    x, y = torch.randn(8, 7, dtype=torch.float64), targets("index", 8, 3, None)
    with torch.no_grad():
        y_pred = red(x)
        x.mul_(2)
        red.backward(x, y, y_pred)
    expected = reference_gradients(red, x, y)
    assert_grads(red, expected)


def test_copies_and_pickles_leave_the_forward_record_behind():
    import copy
    import pickle

    red = make(["relu", "swish"])
    x = torch.randn(4, 7, dtype=torch.float64)
    red(x)  # with autograd on: the record holds tensors of a graph, which deepcopy refuses
    for clone in (copy.deepcopy(red), pickle.loads(pickle.dumps(red))):
        assert clone._saved is None and red._saved is not None
        torch.testing.assert_close(clone(x), red(x))
        clone.Ws[0].data.add_(1.0)  # the copy's parameters are its own, and so is its fingerprint
        assert not torch.equal(clone.Ws[0], red.Ws[0])
        y = torch.randint(0, 3, (4,))
        clone.backward(x, y, clone(x))
        expected = reference_gradients(clone, x, y)
        torch.testing.assert_close(clone.Ws[0].grad, expected["Ws.0"], **TOL[torch.float64])


def test_backward_with_an_image_shaped_input():
    red = bp.FFNN(16, [5], ["relu"], 4, dtype=torch.float64)
    x = torch.rand(6, 1, 4, 4, dtype=torch.float64)
    assert red(x).shape == (6, 4)
    assert_backward_matches_autograd(red, x, targets("index", 6, 4, None))


def test_a_tiny_network_whose_gradients_are_written_out_by_hand():
    """One hidden relu unit, two classes, one example: every derivative by hand, no autograd.

    x = 2, W = 0.5, b = 0 → u = 1, h = relu(1) = 1; U = [1, -1], c = 0 → logits [1, -1],
    ŷ = [σ(2), σ(-2)]; y = class 0. Then ∂L/∂logits = ŷ - y = [σ(2) - 1, σ(-2)] = [-σ(-2), σ(-2)],
    ∂L/∂U = h · that, ∂L/∂c = that, ∂L/∂h = (ŷ - y)·U = -2σ(-2), and since u > 0:
    ∂L/∂W = x · ∂L/∂h = -4σ(-2), ∂L/∂b = -2σ(-2).
    """
    red = bp.FFNN(1, [1], ["relu"], 2, dtype=torch.float64)
    red.load_weights([[[0.5]]], [[1.0, -1.0]], [[0.0]], [0.0, 0.0])
    x, y = torch.tensor([[2.0]], dtype=torch.float64), torch.tensor([0])
    red.backward(x, y, red(x))
    s = 1 / (1 + torch.exp(torch.tensor(2.0, dtype=torch.float64)))  # σ(-2)
    torch.testing.assert_close(red.U.grad, torch.tensor([[-s, s]]))
    torch.testing.assert_close(red.c.grad, torch.tensor([-s, s]))
    torch.testing.assert_close(red.Ws[0].grad, torch.tensor([[-4 * s]]))
    torch.testing.assert_close(red.bs[0].grad, torch.tensor([-2 * s]))


@given(st.integers(1, 12), st.integers(1, 9), st.lists(st.integers(1, 7), max_size=3), st.integers(2, 6),
       st.lists(st.sampled_from(list(ACTIVATIONS)), min_size=3, max_size=3))
def test_backward_matches_autograd_for_any_shape(B, F, l_h, C, acts):
    red = bp.FFNN(F, l_h, acts[: len(l_h)], C, dtype=torch.float64, beta=1.2, alpha=0.9)
    x = torch.randn(B, F, dtype=torch.float64)
    assert_backward_matches_autograd(red, x, torch.randint(0, C, (B,)))


# --- forward, construction, weights -------------------------------------------------------------------

def test_forward_matches_torch_and_gives_probabilities():
    red = make(["relu", "swish", "celu"], F=10, C=4)
    x = torch.randn(5, 10, dtype=torch.float64)
    h = x
    for k, (W, b) in enumerate(zip(red.Ws, red.bs), start=1):
        u = Fn.linear(h, W.t(), b)
        name = red.activations[k - 1].name
        p = red.activation_param(k)
        h = {"relu": lambda: Fn.relu(u), "swish": lambda: u * torch.sigmoid(p * u), "celu": lambda: Fn.celu(u, p.item())}[name]()
    expected = torch.softmax(Fn.linear(h, red.U.t(), red.c), 1)
    y_pred = red(x)
    torch.testing.assert_close(y_pred, expected)
    torch.testing.assert_close(y_pred.sum(1), torch.ones(5, dtype=torch.float64))


def test_parameters_registration_and_initialization():
    torch.manual_seed(1)
    red = bp.FFNN(300, [50, 30], [bp.relu, bp.sig], 10)
    shapes = {n: tuple(p.shape) for n, p in red.named_parameters()}
    assert shapes == {"Ws.0": (300, 50), "Ws.1": (50, 30), "bs.0": (50,), "bs.1": (30,), "U": (30, 10), "c": (10,)}
    assert isinstance(red.Ws, torch.nn.ParameterList) and isinstance(red.bs, torch.nn.ParameterList)
    assert all((b == 0).all() for b in [*red.bs, red.c])
    bound = (6 / (300 + 50)) ** 0.5
    assert red.Ws[0].abs().max() <= bound and red.Ws[0].std() > bound / 3  # Glorot uniform: small, not zero
    he = bp.FFNN(300, [50], ["relu"], 10, init="kaiming")
    assert abs(he.Ws[0].std().item() - (2 / 300) ** 0.5) < 0.01
    tiny = bp.FFNN(300, [50], ["relu"], 10, init=0.01)
    assert abs(tiny.Ws[0].std().item() - 0.01) < 0.002
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    torch.testing.assert_close(bp.FFNN(4, [3], ["relu"], 2, generator=g1).Ws[0], bp.FFNN(4, [3], ["relu"], 2, generator=g2).Ws[0])


def test_activation_names_and_initial_parameters():
    red = bp.FFNN(4, [3, 3, 3], ["swish", "celu", "relu"], 2, beta=2.0, alpha=0.5)
    assert [a.name for a in red.activations] == ["swish", "celu", "relu"]
    assert red.activation_param(1).item() == 2.0 and red.activation_param(2).item() == 0.5
    assert red.activation_param(3) is None
    assert isinstance(red.act_params["beta1"], torch.nn.Parameter)


def test_resumen_lists_every_parameter_and_the_total():
    red = bp.FFNN(784, [32, 16], ["relu", "swish"], 10)
    r = red.resumen()
    assert r.total == 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10 + 1 == sum(p.numel() for p in red.parameters())
    text = repr(r)
    assert [row[0] for row in r.rows] == ["Ws.0", "bs.0", "Ws.1", "bs.1", "act_params.beta2", "U", "c"]  # layer order
    for name, shape in [("Ws.0", "(784, 32)"), ("U", "(16, 10)"), ("act_params.beta2", "()")]:
        line = next(l for l in text.splitlines() if l.startswith(name))
        assert shape in line
    assert text.splitlines()[-1].split()[-1] == f"{r.total:,}"


def test_load_weights_and_device_moves():
    red = bp.FFNN(3, [2], ["relu"], 2)
    red.load_weights([torch.arange(6.0).reshape(3, 2)], torch.ones(2, 2), [torch.zeros(2)], [1.0, 2.0])
    assert red.Ws[0].tolist() == [[0, 1], [2, 3], [4, 5]] and red.c.tolist() == [1, 2]
    red.to("cpu")
    assert red(torch.ones(1, 3)).shape == (1, 2)


def test_pretrained_tarea1_network():
    """The course's 784-32-16-10 relu network: loads, predicts, and its backward matches autograd."""
    Ws, U, bs, c = shared_weights()
    red = bp.FFNN(784, [32, 16], ["relu", "relu"], 10)
    red.load_weights(Ws, U, bs, c)
    torch.testing.assert_close(red.Ws[0], Ws[0])
    x = torch.rand(20, 1, 28, 28)
    expected = torch.softmax(Fn.relu(Fn.relu(x.view(20, -1) @ Ws[0] + bs[0]) @ Ws[1] + bs[1]) @ U + c, 1)
    torch.testing.assert_close(red(x), expected)
    assert_backward_matches_autograd(red.double(), x.double(), torch.randint(0, 10, (20,)))


# --- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    ((4, [3, 2], ["relu"], 2), r"l_h and l_a must have the same length .* got 2 and 1"),
    ((4, [3], ["relu"], 1), r"C must be an integer >= 2, got 1"),
    ((0, [3], ["relu"], 2), r"F must be an integer >= 1, got 0"),
    ((4, [0], ["relu"], 2), r"l_h\[0\] must be an integer >= 1, got 0"),
    ((4, [3], ["softplus"], 2), r"unknown activation 'softplus'"),
    ((4, [3], [torch.relu], 2), r"unknown activation"),
])
def test_constructor_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        bp.FFNN(*args)


def test_constructor_rejects_bad_activation_parameters_and_init():
    with pytest.raises(ValueError, match="alpha must be a finite number > 0, got 0"):
        bp.FFNN(4, [3], ["celu"], 2, alpha=0)
    with pytest.raises(ValueError, match="beta must be a finite number, got nan"):
        bp.FFNN(4, [3], ["swish"], 2, beta=float("nan"))
    with pytest.raises(ValueError, match="init must be 'xavier', 'kaiming' or a positive float"):
        bp.FFNN(4, [3], ["relu"], 2, init="he")


def test_forward_rejects_the_wrong_number_of_features():
    red = bp.FFNN(4, [3], ["relu"], 2)
    with pytest.raises(ValueError, match=r"x must have 4 features per example .* got shape \(5, 3\)"):
        red(torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"x must have a batch dimension, shape \(B, 4\), got \(4,\)"):
        red(torch.randn(4))
    with pytest.raises(TypeError, match="x must be a tensor"):
        red([[1.0, 2.0, 3.0, 4.0]])


def test_load_weights_names_the_layer_with_the_wrong_shape():
    red = bp.FFNN(4, [3, 2], ["relu", "relu"], 2)
    good = dict(Ws=[torch.zeros(4, 3), torch.zeros(3, 2)], U=torch.zeros(2, 2), bs=[torch.zeros(3), torch.zeros(2)], c=torch.zeros(2))
    before = red.Ws[0].clone()
    with pytest.raises(ValueError, match=r"Ws\[1\] \(W\^\(2\)\) must have shape \(3, 2\), got \(2, 3\)"):
        red.load_weights(**{**good, "Ws": [torch.ones(4, 3), torch.zeros(2, 3)]})
    torch.testing.assert_close(red.Ws[0], before)  # nothing half-written
    with pytest.raises(ValueError, match=r"bs\[0\] \(b\^\(1\)\) must have shape \(3,\), got \(4,\)"):
        red.load_weights(**{**good, "bs": [torch.zeros(4), torch.zeros(2)]})
    with pytest.raises(ValueError, match=r"U must have shape \(2, 2\), got \(2, 3\)"):
        red.load_weights(**{**good, "U": torch.zeros(2, 3)})
    with pytest.raises(ValueError, match=r"has 2 hidden layers, got 1 matrices in Ws"):
        red.load_weights(**{**good, "Ws": [torch.zeros(4, 3)]})


def test_backward_rejects_targets_of_the_wrong_shape():
    red = bp.FFNN(4, [3], ["relu"], 3)
    x = torch.randn(5, 4)
    y_pred = red(x)
    with pytest.raises(ValueError, match=r"y must hold class indices of shape \(5,\) or float rows of shape \(5, 3\).* got \(5, 2\)"):
        red.backward(x, torch.zeros(5, 2), y_pred)
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        red.backward(x, torch.zeros(4, dtype=torch.long), y_pred)
    with pytest.raises(IndexError, match="class index 3, out of range for 3 classes"):
        red.backward(x, torch.tensor([0, 1, 2, 3, 0]), y_pred)
    with pytest.raises(ValueError, match=r"y_pred must have shape \(B, 3\), got \(5, 2\)"):
        red.backward(x, torch.zeros(5, dtype=torch.long), y_pred[:, :2])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")
def test_backward_on_cuda_matches_cpu():
    red = make(["relu", "swish", "celu"])
    x, y = torch.randn(8, 7, dtype=torch.float64), targets("index", 8, 3, None)
    expected = reference_gradients(red, x, y)
    red.to("cuda")
    with torch.no_grad():
        xc, yc = x.cuda(), y.cuda()
        red.backward(xc, yc, red(xc))
    for name, p in red.named_parameters():
        assert p.grad.is_cuda
        torch.testing.assert_close(p.grad.cpu(), expected[name], **TOL[torch.float64])
