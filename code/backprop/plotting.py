"""The book's figures: activations (1a), training curves (4d), images of real data (4e) and the
speed of a training step (the appendix).

Figures are built with ``matplotlib.figure.Figure``, without pyplot: in a notebook they show once,
as the value of the cell, and never leak into a global state. Axis labels are in Spanish, the
language of the book; captions belong to the chapter, so no figure carries a title.
"""

from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence

import torch
from matplotlib.figure import Figure

from .activations import ACTIVATIONS

__all__ = ["plot_results", "plot_curves", "plot_activations", "show_images", "confusion_matrix",
           "plot_confusion", "plot_throughput", "moving_average"]


def moving_average(values: Sequence[float], window: int) -> torch.Tensor:
    """Mean of each run of ``window`` consecutive values (shorter at the start)."""
    v = torch.as_tensor(values, dtype=torch.float64)
    c = torch.cat([torch.zeros(1, dtype=v.dtype), v.cumsum(0)])
    n = torch.arange(1, len(v) + 1)
    lo = (n - window).clamp(min=0)
    return (c[n] - c[lo]) / (n - lo)


def _check_history(name: str, loss: Sequence[float], acc: Sequence[float]) -> None:
    if len(loss) != len(acc) or len(loss) == 0:
        raise ValueError(f"{name}: loss and acc must be non-empty and of the same length, got {len(loss)} and {len(acc)}")


def plot_results(loss: Sequence[float], acc: Sequence[float], window: Optional[int] = None) -> Figure:
    """Loss and accuracy per iteration, side by side (part 4d); a moving average (over ``window``
    iterations, by default about 2% of the run) is drawn on top of the noisy raw values."""
    _check_history("plot_results", loss, acc)
    window = window or max(1, len(loss) // 50)
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    for ax, values, label in zip(fig.subplots(1, 2), (loss, acc), ("pérdida", "acierto")):
        ax.plot(values, color="C0", alpha=0.3, linewidth=0.8, label="por iteración")
        ax.plot(moving_average(values, window).numpy(), color="C0", linewidth=1.8, label=f"media móvil ({window})")
        ax.set_xlabel("iteración")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.axes[0].legend()
    return fig


def plot_curves(histories: Mapping[str, tuple[Sequence[float], Sequence[float]]], window: Optional[int] = None,
                per_epoch: Optional[int] = None, log_loss: bool = False) -> Figure:
    """Several training runs on shared axes: ``{label: (loss, acc)}`` → loss and accuracy,
    smoothed by a moving average. With ``per_epoch`` (iterations per epoch) the x axis counts epochs."""
    if not histories:
        raise ValueError("plot_curves: histories is empty")
    for label, (loss, acc) in histories.items():
        _check_history(f"plot_curves ({label})", loss, acc)
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    for i, (label, (loss, acc)) in enumerate(histories.items()):
        w = window or max(1, len(loss) // 50)
        x = torch.arange(1, len(loss) + 1, dtype=torch.float64)
        x = (x / per_epoch if per_epoch else x).numpy()
        for ax, values in zip(axes, (loss, acc)):
            ax.plot(x, moving_average(values, w).numpy(), color=f"C{i}", linewidth=1.6, label=label)
    for ax, label in zip(axes, ("pérdida", "acierto")):
        ax.set_xlabel("época" if per_epoch else "iteración")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if log_loss:
        axes[0].set_yscale("log")
    axes[1].legend(fontsize="small")
    return fig


def plot_activations(names: Optional[Sequence[str]] = None, x_range: tuple[float, float] = (-4.0, 4.0),
                     params: Sequence[float] = (0.5, 1.0, 2.0)) -> Figure:
    """One panel per activation: the function and its derivative with respect to x (solid) and,
    for swish and celu, to its parameter (dashed), for each value in ``params``."""
    names = list(names or ACTIVATIONS)
    x = torch.linspace(*x_range, 401, dtype=torch.float64)
    ncols = min(3, len(names))
    fig = Figure(figsize=(3.3 * ncols, 2.8 * math.ceil(len(names) / ncols)), layout="constrained")
    axes = fig.subplots(math.ceil(len(names) / ncols), ncols, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        act = ACTIVATIONS[name]
        values = params if act.param else [None]
        for i, p in enumerate(values):
            suffix = f" ({'β' if act.param == 'beta' else 'α'} = {p:g})" if act.param else ""
            ax.plot(x.numpy(), act(x, p).numpy(), color=f"C{i}", linewidth=1.8, label=f"{name}{suffix}")
            ax.plot(x.numpy(), act.derivative(x, p).numpy(), color=f"C{i}", linewidth=1.0, linestyle=":")
            if act.param:
                ax.plot(x.numpy(), act.dparam(x, p).numpy(), color=f"C{i}", linewidth=1.0, linestyle="--")
        ax.axhline(0, color="0.6", linewidth=0.6)
        ax.axvline(0, color="0.6", linewidth=0.6)
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small", loc="upper left")
    for ax in axes[len(names):]:
        ax.set_visible(False)
    return fig


def show_images(images: torch.Tensor, labels: Sequence[str], ncols: int = 8, size: float = 1.3) -> Figure:
    """A gallery of 28×28 images (rows of 784 pixels or 28×28 tensors), each with its label below."""
    images = torch.as_tensor(images).detach().cpu().reshape(len(images), 28, 28)
    if len(labels) != len(images):
        raise ValueError(f"show_images: got {len(images)} images and {len(labels)} labels")
    nrows = math.ceil(len(images) / ncols)
    fig = Figure(figsize=(size * ncols, (size + 0.35) * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, img, label in zip(axes, images, labels):
        ax.imshow(img.numpy(), cmap="gray_r")
        ax.set_title(label, fontsize="small", y=-0.25)
    return fig


def confusion_matrix(predicted: torch.Tensor, target: torch.Tensor, C: int) -> torch.Tensor:
    """Counts ``M[i, j]`` of examples of true class ``i`` predicted as ``j``."""
    predicted, target = torch.as_tensor(predicted).long().cpu(), torch.as_tensor(target).long().cpu()
    if predicted.shape != target.shape:
        raise ValueError(f"confusion_matrix: predicted and target must have the same shape, got {tuple(predicted.shape)} and {tuple(target.shape)}")
    return torch.bincount(target * C + predicted, minlength=C * C).reshape(C, C)


def plot_confusion(matrix: torch.Tensor, classes: Sequence[str]) -> Figure:
    """The confusion matrix as a heat map, rows normalized to the fraction of each true class."""
    M = torch.as_tensor(matrix, dtype=torch.float64)
    rates = M / M.sum(1, keepdim=True).clamp(min=1)
    fig = Figure(figsize=(6.4, 5.4), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(rates.numpy(), cmap="Blues", vmin=0, vmax=1)
    C = len(classes)
    ax.set_xticks(range(C), classes, rotation=45, ha="right")
    ax.set_yticks(range(C), classes)
    ax.set_xlabel("clase predicha")
    ax.set_ylabel("clase real")
    for i in range(C):
        for j in range(C):
            ax.text(j, i, f"{rates[i, j]:.2f}".lstrip("0") if rates[i, j] < 1 else "1", ha="center", va="center",
                    fontsize="x-small", color="white" if rates[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, shrink=0.8, label="fracción de la clase real")
    return fig


def plot_throughput(rows) -> Figure:
    """The appendix's figure, from the rows of :func:`backprop.benchmark.measure`: two panels over
    the batch size B (log scale), examples per second of each step, and the fraction of the bound
    (the step's matrix products alone) that each step reaches."""
    rows = sorted(rows, key=lambda r: r.B)
    if not rows:
        raise ValueError("plot_throughput: no rows")
    B = [r.B for r in rows]
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    speed, share = fig.subplots(1, 2, sharex=True)
    series = [("nuestro backward", "C0", "o", lambda r: r.ours_s), ("autograd", "C1", "s", lambda r: r.torch_s)]
    for label, color, marker, seconds in series:
        speed.plot(B, [r.B / seconds(r) for r in rows], color=color, marker=marker, label=label)
        share.plot(B, [100 * r.bound_s / seconds(r) for r in rows], color=color, marker=marker, label=label)
    speed.plot(B, [r.B / r.bound_s for r in rows], color="0.4", linestyle="--", label="solo los productos de matrices")
    share.axhline(100, color="0.4", linestyle="--", linewidth=1)
    speed.set_yscale("log")
    speed.set_ylabel("ejemplos por segundo")
    share.set_ylabel("% de la cota (productos de matrices)")
    share.set_ylim(0, 110)
    for ax in (speed, share):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("tamaño del lote $B$")
        ax.grid(alpha=0.3, which="both")
    speed.legend(fontsize="small")
    return fig
