r"""Stochastic gradient descent (part 4a): :math:`\theta \leftarrow \theta - \eta\,\partial\mathcal{L}/\partial\theta`."""

from __future__ import annotations

import math
from typing import Iterable

import torch

__all__ = ["SGD"]


class SGD:
    r"""Gradient descent over the parameters whose ``.grad`` was filled by ``backward``.

    Args:
        parameters: an iterable of tensors, e.g. ``red.parameters()``; a one-shot generator is
            fine, since it is read once into a list.
        lr: the learning rate η, a positive finite number; may be changed between steps
            (``optimizador.lr = ...``), which is how a learning-rate schedule is written.
        momentum: μ in [0, 1). With μ > 0 each parameter keeps a velocity
            :math:`v \leftarrow \mu v + \nabla_\theta\mathcal{L}` and takes the step
            :math:`\theta \leftarrow \theta - \eta v` (the same rule as ``torch.optim.SGD``).
    """

    def __init__(self, parameters: Iterable[torch.Tensor], lr: float, momentum: float = 0.0):
        if isinstance(parameters, torch.Tensor):
            raise TypeError("SGD: parameters must be an iterable of tensors, e.g. red.parameters(), not a single tensor")
        self.params = list(parameters)
        for i, p in enumerate(self.params):
            if not isinstance(p, torch.Tensor):
                raise TypeError(f"SGD: parameters must hold tensors, item {i} is {type(p).__name__}")
        self.lr = lr
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be a number in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self._velocity: dict[int, torch.Tensor] = {}

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf):
            raise ValueError(f"SGD: lr must be a positive finite number, got {value!r}")
        self._lr = float(value)

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient; parameters whose grad is None are skipped."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad
            if self.momentum:
                v = self._velocity.get(i)
                if v is None:
                    v = self._velocity[i] = g.clone()
                else:
                    v.mul_(self.momentum).add_(g)
                g = v
            p.add_(g, alpha=-self._lr)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set them to None (default) or fill them with zeros."""
        for p in self.params:
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def __repr__(self) -> str:
        extra = f", momentum={self.momentum}" if self.momentum else ""
        return f"SGD({len(self.params)} parameters, lr={self.lr}{extra})"
