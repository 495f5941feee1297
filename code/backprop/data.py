"""Random data to test the training loop on (part 4b)."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

__all__ = ["RandomDataset"]


def _check_count(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"RandomDataset: {name} must be an integer >= {minimum}, got {value!r}")


class RandomDataset(TensorDataset):
    """``N`` examples of ``F`` standard-normal features, each with a uniformly random class among ``C``.

    Item ``i`` is ``(x, y)``: ``x`` float of shape (F,), ``y`` the one-hot float row of shape (C,).
    The labels carry no pattern: a network can only learn them by memorizing. The same ``seed``
    gives the same data. ``tensors`` holds the stacked ``(X, Y)``, and ``labels`` the class indices.
    """

    def __init__(self, N: int, F: int, C: int, seed: int = 0, dtype: torch.dtype = torch.float32):
        _check_count("N", N, 1)
        _check_count("F", F, 1)
        _check_count("C", C, 2)
        g = torch.Generator().manual_seed(seed)
        X = torch.randn(N, F, generator=g, dtype=dtype)
        self.labels = torch.randint(0, C, (N,), generator=g)
        Y = torch.nn.functional.one_hot(self.labels, C).to(dtype)
        super().__init__(X, Y)
        self.N, self.F, self.C = N, F, C

    def __getitem__(self, i):
        if isinstance(i, bool) or not isinstance(i, int) and not (isinstance(i, torch.Tensor) and i.dim() == 0 and not i.is_floating_point()):
            raise TypeError(f"RandomDataset: index must be an integer, got {type(i).__name__}")
        i = int(i)
        if not -self.N <= i < self.N:
            raise IndexError(f"RandomDataset: index {i} out of range for a dataset of {self.N} examples")
        return super().__getitem__(i)

    def __repr__(self) -> str:
        return f"RandomDataset(N={self.N}, F={self.F}, C={self.C})"
