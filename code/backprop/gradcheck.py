r"""Gradient check (part 3c): compare ``backward`` with central differences.

For an entry :math:`\theta_i` of a parameter,
:math:`\mathrm{AppGrad}(\theta_i) = \big(\mathcal{L}(\theta_i + \varepsilon) - \mathcal{L}(\theta_i - \varepsilon)\big) / 2\varepsilon`,
and the vectors of analytic gradients :math:`G` and numeric ones :math:`A` are compared by the
relative error :math:`\|G - A\|^2 / (\|G\|^2 + \|A\|^2)`. Everything runs in float64 on a copy of
the network, so the user's network is left untouched.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from .losses import CategoricalCELoss, CELoss

__all__ = ["gradient_check", "GradientCheck", "ParameterCheck", "GradientCheckError"]


class GradientCheckError(AssertionError):
    """The analytic gradient disagrees with the numeric one."""


def relative_error(G: torch.Tensor, A: torch.Tensor) -> float:
    r""":math:`\|G - A\|^2 / (\|G\|^2 + \|A\|^2)`, and 0 when both are zero."""
    den = (G.pow(2).sum() + A.pow(2).sum()).item()
    return (G - A).pow(2).sum().item() / den if den > 0 else 0.0


@dataclass
class ParameterCheck:
    """The check of one parameter: the entries compared, its relative error, and its worst entry."""

    name: str
    shape: tuple
    indices: list[tuple]
    analytic: torch.Tensor
    numeric: torch.Tensor
    error: float

    @property
    def worst(self) -> tuple[tuple, float, float]:
        """(index, analytic, numeric) of the entry with the largest absolute difference."""
        i = int((self.analytic - self.numeric).abs().argmax())
        return self.indices[i], self.analytic[i].item(), self.numeric[i].item()


@dataclass
class GradientCheck:
    """The result of :func:`gradient_check`: ``error`` over every checked entry, and ``parameters``."""

    error: float
    parameters: list[ParameterCheck]
    epsilon: float

    def __float__(self) -> float:
        return self.error

    @property
    def worst(self) -> ParameterCheck:
        """The parameter with the largest relative error."""
        return max(self.parameters, key=lambda p: p.error)

    def __repr__(self) -> str:
        w = max([len(p.name) for p in self.parameters] + [len("parámetro")]) + 2
        lines = [f"{'parámetro':<{w}}{'entradas':>9}{'error relativo':>16}   peor entrada: índice, analítico, numérico"]
        for p in self.parameters:
            idx, a, n = p.worst
            lines.append(f"{p.name:<{w}}{len(p.indices):>9}{p.error:>16.2e}   {idx}, {a:+.6e}, {n:+.6e}")
        lines.append(f"{'total':<{w}}{sum(len(p.indices) for p in self.parameters):>9}{self.error:>16.2e}   (ε = {self.epsilon:g})")
        return "\n".join(lines)


def _loss(red, x, y) -> float:
    """The loss that ``backward`` differentiates: the cross-entropy without clamping."""
    y_pred = red(x)
    return (CategoricalCELoss if y.dim() == 1 else CELoss)(y_pred, y, estable=False).item()


@torch.no_grad()
def gradient_check(red, x: torch.Tensor, y: torch.Tensor, epsilon: float = 1e-6,
                   max_entries: int = 25, seed: int = 0, tol: float | None = None) -> GradientCheck:
    """Check ``red.backward`` against central differences over every parameter.

    Parameters with at most ``max_entries`` entries are checked whole; of larger ones a random
    subset of ``max_entries`` entries (drawn with ``seed``). With ``tol``, raise
    :class:`GradientCheckError` naming the worst parameter, its index and both values when the
    relative error exceeds ``tol``.
    """
    if not (isinstance(epsilon, float) and 0 < epsilon < 1):
        raise ValueError(f"gradient_check: epsilon must be a float in (0, 1), got {epsilon!r}")
    if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
        raise ValueError(f"gradient_check: max_entries must be a positive integer, got {max_entries!r}")
    net = copy.deepcopy(red).to(torch.float64)
    x = x.to(torch.float64)
    y = y.to(torch.float64) if y.is_floating_point() else y
    net.backward(x, y, net(x))
    g = torch.Generator().manual_seed(seed)

    checks = []
    for name, p in net.named_parameters():
        flat, grad = p.view(-1), p.grad.reshape(-1)
        chosen = torch.arange(p.numel()) if p.numel() <= max_entries else torch.randperm(p.numel(), generator=g)[:max_entries].sort().values
        numeric = torch.empty(len(chosen), dtype=torch.float64)
        for j, i in enumerate(chosen.tolist()):
            original = flat[i].item()
            flat[i] = original + epsilon
            plus = _loss(net, x, y)
            flat[i] = original - epsilon
            minus = _loss(net, x, y)
            flat[i] = original
            numeric[j] = (plus - minus) / (2 * epsilon)
        analytic = grad[chosen].cpu()
        indices = [tuple(int(k) for k in torch.unravel_index(torch.tensor(i), p.shape)) for i in chosen.tolist()]
        checks.append(ParameterCheck(name, tuple(p.shape), indices, analytic, numeric, relative_error(analytic, numeric)))

    G = torch.cat([c.analytic for c in checks])
    A = torch.cat([c.numeric for c in checks])
    result = GradientCheck(relative_error(G, A), checks, epsilon)
    if tol is not None and result.error > tol:
        w = result.worst
        idx, a, n = w.worst
        raise GradientCheckError(
            f"gradient check failed: relative error {result.error:.3e} > tol {tol:g}\n"
            f"  worst parameter: {w.name} (relative error {w.error:.3e})\n"
            f"  at index {idx}: backward gives {a:+.8e}, central differences give {n:+.8e}"
        )
    return result
