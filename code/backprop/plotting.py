"""Plots of training curves (part 4d). Figures are built without pyplot, so they show once in a
notebook (as the value of a cell) and never leak into a global state."""

from __future__ import annotations

from typing import Sequence

import torch
from matplotlib.figure import Figure

__all__ = ["plot_results", "moving_average"]


def moving_average(values: Sequence[float], window: int) -> torch.Tensor:
    """Mean of each run of ``window`` consecutive values (shorter at the start)."""
    v = torch.as_tensor(values, dtype=torch.float64)
    c = torch.cat([torch.zeros(1, dtype=v.dtype), v.cumsum(0)])
    n = torch.arange(1, len(v) + 1)
    lo = (n - window).clamp(min=0)
    return (c[n] - c[lo]) / (n - lo)


def plot_results(loss: Sequence[float], acc: Sequence[float], window: int | None = None) -> Figure:
    """Loss and accuracy per iteration, side by side; a moving average (over ``window``
    iterations, by default about 2% of the run) is drawn on top of the noisy raw values."""
    if len(loss) != len(acc) or len(loss) == 0:
        raise ValueError(f"plot_results: loss and acc must be non-empty and of the same length, got {len(loss)} and {len(acc)}")
    window = window or max(1, len(loss) // 50)
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    for ax, values, label in zip(fig.subplots(1, 2), (loss, acc), ("pérdida", "acierto")):
        ax.plot(values, color="C0", alpha=0.3, linewidth=0.8, label="por iteración")
        ax.plot(moving_average(values, window), color="C0", linewidth=1.8, label=f"media móvil ({window})")
        ax.set_xlabel("iteración")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.axes[0].legend()
    return fig
