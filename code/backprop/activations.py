r"""Activation functions, their derivatives, and the registry that ties them together.

Each function sits next to its derivatives (part 1a of the assignment), and every derivative
takes the *pre-activation* ``T`` (the tensor :math:`u` that the function is applied to). Where
possible a derivative is written through the function itself, as :math:`\sigma' = \sigma(1-\sigma)`.

The registry :data:`ACTIVATIONS` maps each name to an :class:`Activation`: the function, its
derivative, and the derivative with respect to its parameter (β for swish, α for celu). The
network looks activations up there, the tests parametrize over it and the book loops over it, so a
new activation cannot be added without being tested and shown.

Every function is element-wise, works on tensors of any shape and never returns NaN or inf for a
finite input: the exponentials are arranged so that they cannot overflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

import torch

Scalar = Union[float, torch.Tensor]
"""A parameter value: a Python number or a 0-dim tensor (an ``nn.Parameter`` included)."""

__all__ = [
    "sig", "sig_dx", "tanh", "tanh_dx", "relu", "relu_dx",
    "swish", "swish_dx", "swish_dbeta", "celu", "celu_dx", "celu_dalpha",
    "softmax", "Activation", "ACTIVATIONS", "get_activation",
]


def _check_positive(name: str, value: Scalar, function: str) -> None:
    """Reject a parameter that is not a positive finite number (or a 0-dim tensor holding one).

    A learnable α lives in a tensor that training updates, and a too-large step can push it to 0
    or below, where celu is not defined: better a clear error than NaN further down."""
    if isinstance(value, bool) or not isinstance(value, (int, float, torch.Tensor)):
        raise TypeError(f"{function}: {name} must be a number or a 0-dim tensor, got {type(value).__name__}")
    if isinstance(value, torch.Tensor) and value.dim() != 0:
        raise ValueError(f"{function}: {name} must be a 0-dim tensor, got shape {tuple(value.shape)}")
    v = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
    if not (0 < v < float("inf")):
        hint = " (a learnable α gets there when a step is too large: try a smaller lr)" if isinstance(value, torch.Tensor) else ""
        raise ValueError(f"{function}: {name} must be a positive finite number, got {v:g}{hint}")


# --- sig -------------------------------------------------------------------------------------------

def sig(T: torch.Tensor) -> torch.Tensor:
    r"""Logistic sigmoid, :math:`\sigma(x) = 1 / (1 + e^{-x})`.

    ``torch.sigmoid`` evaluates exactly this formula in one pass and without overflow.
    """
    return torch.sigmoid(T)


def sig_dx(T: torch.Tensor) -> torch.Tensor:
    r""":math:`\sigma'(x) = \sigma(x)\,(1 - \sigma(x))`."""
    s = sig(T)
    return s * (1 - s)


# --- tanh ------------------------------------------------------------------------------------------

def tanh(T: torch.Tensor) -> torch.Tensor:
    r"""Hyperbolic tangent, :math:`\tanh(x) = (e^{x} - e^{-x}) / (e^{x} + e^{-x})`."""
    return torch.tanh(T)


def tanh_dx(T: torch.Tensor) -> torch.Tensor:
    r""":math:`\tanh'(x) = 1 - \tanh^2(x)`."""
    t = tanh(T)
    return 1 - t * t


# --- relu ------------------------------------------------------------------------------------------

def relu(T: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathrm{relu}(x) = \max(0, x)`."""
    return torch.relu(T)


def relu_dx(T: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathrm{relu}'(x) = 1` where :math:`x > 0`, else 0.

    At the kink :math:`x = 0` we take 0, as PyTorch does. The comparison writes straight into a
    tensor of ``T``'s dtype: ``(T > 0).to(T.dtype)`` gives the same numbers, but through a
    tensor of booleans and a second pass, several times slower.
    """
    return torch.gt(T, 0, out=torch.empty_like(T))


# --- swish -----------------------------------------------------------------------------------------

def swish(T: torch.Tensor, beta: Scalar = 1.0) -> torch.Tensor:
    r""":math:`\mathrm{swish}(x, \beta) = x\,\sigma(\beta x)` (Ramachandran, Zoph and Le, 2017)."""
    return T * sig(beta * T)


def swish_dx(T: torch.Tensor, beta: Scalar = 1.0) -> torch.Tensor:
    r""":math:`\partial_x\,\mathrm{swish} = \sigma(\beta x) + \beta\,\mathrm{swish}(x, \beta)\,(1 - \sigma(\beta x))`.

    The product ``swish * (1 - s)`` is taken before multiplying by β, so that no factor can
    overflow where the other one is zero.
    """
    s = sig(beta * T)
    return s + beta * ((T * s) * (1 - s))


def swish_dbeta(T: torch.Tensor, beta: Scalar = 1.0) -> torch.Tensor:
    r""":math:`\partial_\beta\,\mathrm{swish} = x\,\mathrm{swish}(x, \beta)\,(1 - \sigma(\beta x))`.

    Evaluated as ``(x * (1 - s)) * swish``: the first factor vanishes for large positive ``x``
    and the second for large negative ``x``, so the product never becomes ``inf * 0``.
    """
    s = sig(beta * T)
    return (T * (1 - s)) * (T * s)


# --- celu ------------------------------------------------------------------------------------------

# exp(z) is exactly 0 below about -745 in float64 (-104 in float32); flooring z there changes
# no value, and keeps z * exp(z) away from -inf * 0 when x / alpha overflows.
_EXP_FLOOR = -1000.0


def _celu_z(T: torch.Tensor, alpha: Scalar) -> torch.Tensor:
    """z = min(x, 0) / alpha, floored at _EXP_FLOOR: the only argument celu ever exponentiates.

    ``where(x > 0, 0, x)`` rather than ``clamp(x, max=0)`` or ``minimum(x, 0)``: all give
    min(x, 0), but only ``where`` differentiates to 1 at x = 0 (where celu' = 1) in both torch
    2.13 and 2.14: autograd gives ``minimum`` 0.5 there, and ``clamp`` 1 in 2.13 but 0 in 2.14.
    That difference exists only for autograd: when no graph is being recorded for ``T`` (as in
    ``backward``, or a forward pass under ``torch.no_grad()``), one ``clamp`` of x / alpha to
    [_EXP_FLOOR, 0] gives the same numbers (alpha > 0) several times faster than ``where`` and
    its comparison.
    """
    if T.requires_grad and torch.is_grad_enabled():
        return torch.clamp(torch.where(T > 0, 0.0, T) / alpha, min=_EXP_FLOOR)
    return torch.clamp(T / alpha, min=_EXP_FLOOR, max=0.0)


def celu(T: torch.Tensor, alpha: Scalar = 1.0) -> torch.Tensor:
    r""":math:`\mathrm{celu}(x, \alpha) = \max(0, x) + \min(0, \alpha(e^{x/\alpha} - 1))` (Barron, 2017).

    Written as ``relu(x) + alpha * expm1(min(x, 0) / alpha)``, which is the same function and
    never exponentiates a positive number.
    """
    _check_positive("alpha", alpha, "celu")
    return relu(T) + alpha * torch.expm1(_celu_z(T, alpha))


def celu_dx(T: torch.Tensor, alpha: Scalar = 1.0) -> torch.Tensor:
    r""":math:`\partial_x\,\mathrm{celu} = 1` for :math:`x > 0`, and :math:`e^{x/\alpha} = \mathrm{celu}(x, \alpha)/\alpha + 1` for :math:`x \le 0`.

    Both cases are ``exp(min(x, 0) / alpha)``: for :math:`x > 0` the exponent is 0.
    """
    _check_positive("alpha", alpha, "celu_dx")
    return torch.exp(_celu_z(T, alpha))


def celu_dalpha(T: torch.Tensor, alpha: Scalar = 1.0) -> torch.Tensor:
    r""":math:`\partial_\alpha\,\mathrm{celu} = \big(\mathrm{celu}(x, \alpha) - x\,\partial_x\mathrm{celu}(x, \alpha)\big)/\alpha`.

    That is 0 for :math:`x > 0` and :math:`e^{z} - 1 - z e^{z}` with :math:`z = x/\alpha` for
    :math:`x \le 0`; we evaluate the latter form, with ``z = min(x, 0) / alpha``: it never
    subtracts two large numbers, so its absolute error stays at the rounding of ``z`` (for tiny
    :math:`|z|` the value, about :math:`-z^2/2`, keeps only that absolute accuracy).
    """
    _check_positive("alpha", alpha, "celu_dalpha")
    z = _celu_z(T, alpha)
    return torch.expm1(z) - z * torch.exp(z)


# --- softmax ---------------------------------------------------------------------------------------

def softmax(T: torch.Tensor, dim: int, estable: bool = True) -> torch.Tensor:
    r""":math:`\mathrm{softmax}(x)_i = e^{x_i} / \sum_j e^{x_j}` along ``dim``.

    With ``estable=True`` the maximum along ``dim`` is subtracted first: the result is the same,
    since :math:`\mathrm{softmax}(x - M) = \mathrm{softmax}(x)`, but no exponential can overflow.
    """
    if not isinstance(T, torch.Tensor):
        raise TypeError(f"softmax: T must be a tensor, got {type(T).__name__}")
    if T.dim() == 0 or not -T.dim() <= dim < T.dim():
        raise IndexError(f"softmax: dim must be in [{-T.dim()}, {T.dim() - 1}] for T of shape {tuple(T.shape)}, got {dim}")
    if estable:
        T = T - T.amax(dim=dim, keepdim=True)
    E = torch.exp(T)
    return E / E.sum(dim=dim, keepdim=True)


# --- the registry ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Activation:
    """One activation: the function, its derivative and, if it has a parameter, the derivative
    with respect to it. ``param`` is the parameter's name (``"beta"``, ``"alpha"``) or None."""

    name: str
    fn: Callable[..., torch.Tensor]
    dx: Callable[..., torch.Tensor]
    param: Optional[str] = None
    dparam: Optional[Callable[..., torch.Tensor]] = None

    def __call__(self, T: torch.Tensor, p: Optional[Scalar] = None) -> torch.Tensor:
        return self.fn(T) if self.param is None else self.fn(T, p)

    def derivative(self, T: torch.Tensor, p: Optional[Scalar] = None) -> torch.Tensor:
        """∂f/∂x at ``T``."""
        return self.dx(T) if self.param is None else self.dx(T, p)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sig", sig, sig_dx),
        Activation("tanh", tanh, tanh_dx),
        Activation("relu", relu, relu_dx),
        Activation("swish", swish, swish_dx, "beta", swish_dbeta),
        Activation("celu", celu, celu_dx, "alpha", celu_dalpha),
    )
}
"""Every activation the package knows, by name."""


def get_activation(f: Union[str, Callable, Activation]) -> Activation:
    """The registry entry for ``f``: a name (``"relu"``), one of this module's functions, or an entry."""
    if isinstance(f, Activation):
        return f
    for a in ACTIVATIONS.values():
        if f == a.name or f is a.fn:
            return a
    known = ", ".join(ACTIVATIONS)
    shown = f"'{f}'" if isinstance(f, str) else getattr(f, "__qualname__", repr(f))
    raise ValueError(
        f"unknown activation {shown}: expected one of {known} (as a name or the function from backprop), "
        "because backward needs its derivative"
    )
