r"""Cross-entropy losses (parts 1b and 1c) and the gradient of softmax + cross-entropy (part 2a).

:math:`\mathit{CELoss}(Q, P) = \frac{1}{N}\sum_i \mathit{CE}(p_i, q_i) = -\frac{1}{N}\sum_{i}\sum_{x} P_{ix}\log Q_{ix}`,
where :math:`N` is the size of dimension 0: the first argument is the approximation (the network's
prediction), the second the distribution we want to approach (the labels).
"""

from __future__ import annotations

import torch

__all__ = ["CELoss", "CategoricalCELoss", "softmax_cross_entropy_grad"]


def _check_tensor(name: str, T, function: str) -> None:
    if not isinstance(T, torch.Tensor):
        raise TypeError(f"{function}: {name} must be a tensor, got {type(T).__name__}")


def _check_epsilon(epsilon, function: str) -> None:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0 < epsilon < 1:
        raise ValueError(f"{function}: epsilon must be a number in (0, 1), got {epsilon!r}")


def check_class_indices(Target, N: int, C: int, function: str, name: str = "Target") -> None:
    """Raise unless ``Target`` is an integer tensor of shape (N,) with values in [0, C)."""
    _check_tensor(name, Target, function)
    if Target.dtype.is_floating_point or Target.dtype.is_complex or Target.dtype == torch.bool:
        raise TypeError(f"{function}: {name} must hold integer class indices (e.g. torch.long), got dtype {Target.dtype}")
    if Target.shape != (N,):
        raise ValueError(f"{function}: {name} must have shape ({N},), one class index per row, got {tuple(Target.shape)}")
    if N:
        lo, hi = torch.stack(torch.aminmax(Target)).tolist()  # one pass, one sync
    if N and (lo < 0 or hi >= C):
        bad = Target[(Target < 0) | (Target >= C)][0].item()
        raise IndexError(f"{function}: {name} holds class index {bad}, out of range for {C} classes (expected 0 to {C - 1})")


def CELoss(Q: torch.Tensor, P: torch.Tensor, estable: bool = True, epsilon: float = 1e-8) -> torch.Tensor:
    r"""Mean cross-entropy between the rows of ``P`` (targets) and of ``Q`` (predictions).

    Returns the scalar :math:`-\frac{1}{N}\sum_i\sum_x P_{ix}\log Q_{ix}`. With ``estable=True``,
    ``Q`` is clamped below at ``epsilon`` before the logarithm, so an exact zero in ``Q`` gives a
    large but finite loss instead of ``0 * log 0 = NaN`` or ``inf``.
    """
    _check_tensor("Q", Q, "CELoss")
    _check_tensor("P", P, "CELoss")
    if Q.shape != P.shape:
        raise ValueError(f"CELoss: Q and P must have the same shape, got Q {tuple(Q.shape)} and P {tuple(P.shape)}")
    if Q.dim() == 0:
        raise ValueError("CELoss: Q and P need a dimension 0 to average over, got 0-dim tensors")
    if estable:
        _check_epsilon(epsilon, "CELoss")
        Q = torch.clamp(Q, min=epsilon)
    return -(P * torch.log(Q)).sum() / Q.shape[0]


def CategoricalCELoss(Q: torch.Tensor, Target: torch.Tensor, estable: bool = True, epsilon: float = 1e-8) -> torch.Tensor:
    r""":func:`CELoss` for one-hot targets given by their class indices.

    ``Q`` has shape (N, C) and ``Target`` shape (N,), with integers in [0, C). Only the predicted
    probability of the correct class enters: :math:`-\frac{1}{N}\sum_i \log Q_{i,\mathit{Target}_i}`,
    which equals ``CELoss(Q, one_hot(Target))`` without building the (N, C) one-hot matrix.
    """
    _check_tensor("Q", Q, "CategoricalCELoss")
    if Q.dim() != 2:
        raise ValueError(f"CategoricalCELoss: Q must have shape (N, C), got {tuple(Q.shape)}")
    N, C = Q.shape
    check_class_indices(Target, N, C, "CategoricalCELoss")
    q = Q.gather(1, Target.long().unsqueeze(1)).squeeze(1)
    if estable:
        _check_epsilon(epsilon, "CategoricalCELoss")
        q = torch.clamp(q, min=epsilon)
    return -torch.log(q).sum() / N


def softmax_cross_entropy_grad(y_pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r""":math:`\partial\mathcal{L}/\partial u^{(L+1)}` for :math:`\hat y = \mathrm{softmax}(u^{(L+1)})` and
    :math:`\mathcal{L} = \mathit{CELoss}(\hat y, y)`.

    For target rows that sum to one it is :math:`(\hat y - y)/B`; in general
    :math:`(\hat y\,\sum_j y_{j} - y)/B`. ``y`` may also hold class indices (shape (B,)): then it
    is the one-hot case, computed without building the one-hot matrix. Shapes are checked by the
    caller.
    """
    B = y_pred.shape[0]
    if y.dim() == 1:
        g = y_pred.clone()
        g.scatter_(1, y.unsqueeze(1), -1.0, reduce="add")  # g[i, y_i] -= 1, for every row i
    else:
        g = y_pred * y.sum(dim=1, keepdim=True) - y
    return g.div_(B)
