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
        weight_decay: λ ≥ 0. With λ > 0 the gradient of every *matrix* (a parameter of two or more
            dimensions: the :math:`W^{(\ell)}` and :math:`U`) becomes
            :math:`\nabla_W\mathcal{L} + \lambda W` before the step, as in ``torch.optim.SGD``
            (which decays whatever it is given); biases, β and α are not decayed, the usual
            practice. ``.grad`` itself is left as ``backward`` wrote it.
    """

    def __init__(self, parameters: Iterable[torch.Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0):
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
        if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)) or not 0 <= weight_decay < math.inf:
            raise ValueError(f"SGD: weight_decay must be a finite number >= 0, got {weight_decay!r}")
        self.weight_decay = float(weight_decay)
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
        params, steps = [], []
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad
            if self.weight_decay and p.dim() >= 2:
                g = g.add(p, alpha=self.weight_decay)  # ∇L + λW
            if self.momentum:
                v = self._velocity.get(i)
                if v is None:
                    v = self._velocity[i] = g.clone()
                else:
                    v.mul_(self.momentum).add_(g)
                g = v
            params.append(p)
            steps.append(g)
        if params:  # θ ← θ − η g for all of them in one call, as p.add_(g, alpha=-lr) one by one
            torch._foreach_add_(params, steps, alpha=-self._lr)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set them to None (default) or fill them with zeros."""
        for p in self.params:
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def __repr__(self) -> str:
        extra = (f", momentum={self.momentum}" if self.momentum else "") + (
            f", weight_decay={self.weight_decay}" if self.weight_decay else "")
        return f"SGD({len(self.params)} parameters, lr={self.lr}{extra})"
