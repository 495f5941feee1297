"""The training loop (part 4c) and the accuracy of a network on a dataset (Tarea 1, part 3d)."""

from __future__ import annotations

import math
import os
import sys
from typing import Callable, Iterator, Optional, Union

import torch
from torch.utils.data import DataLoader, Dataset

from .losses import CategoricalCELoss, CELoss

__all__ = ["entrenar_FFNN", "calcula_acierto", "batches", "default_device", "TrainingDivergedError"]


class TrainingDivergedError(ValueError, FloatingPointError):
    """The loss became NaN or infinite during training."""


def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _check_positive_int(name: str, value, function: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{function}: {name} must be a positive integer, got {value!r}")


def batches(dataset: Dataset, batch_size: int, shuffle: bool = False,
            generator: Optional[torch.Generator] = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Mini-batches ``(x, y)`` of ``dataset``, like a ``DataLoader``.

    A ``TensorDataset`` (which every dataset of this package is) is sliced directly, a whole batch
    at a time, which is much faster than collating examples one by one; any other dataset goes
    through a ``DataLoader``.
    """
    tensors = getattr(dataset, "tensors", None)
    if tensors is None:
        yield from DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)
        return
    n = len(tensors[0])
    order = torch.randperm(n, generator=generator) if shuffle else None
    for start in range(0, n, batch_size):
        if order is None:
            yield tuple(t[start:start + batch_size] for t in tensors)
        else:
            idx = order[start:start + batch_size]
            yield tuple(t[idx] for t in tensors)


class _LastRedraw:
    """A text stream for a progress bar that prints, of each line, only its last redraw.

    A bar redraws itself with ``\r``; a terminal overwrites the line, but a static page would show
    every redraw. This keeps the text after the last ``\r`` and writes it when the line ends.
    """

    encoding = "utf-8"  # tqdm draws its unicode blocks only on a stream that declares it

    def __init__(self, stream):
        self.stream, self.line = stream, ""

    def write(self, text: str) -> None:
        *done, self.line = (self.line + text).split("\n")
        for line in done:
            self.stream.write(line.rsplit("\r", 1)[-1].rstrip() + "\n")
        self.line = self.line.rsplit("\r", 1)[-1]

    def flush(self) -> None:
        self.stream.flush()


_TEXT_BAR = "{desc}{percentage:3.0f}%|{bar:20}| {n_fmt}/{total_fmt}{postfix}"


def _progress_bar(**kwargs):
    """A ``tqdm.auto`` bar: a widget in Jupyter and Colab, text in a terminal.

    With ``BACKPROP_PROGRESS=text`` (the book's build sets it: ``_ext/offline_site.py``) it is
    plain text on stdout that prints only the bar's final state, without timings, so a static
    page shows one clean line, the same in every build, and needs no widget scripts.
    ``tqdm.auto`` is imported here, not at module level, so that importing the package in a
    kernel without ipywidgets prints no warning.
    """
    if os.environ.get("BACKPROP_PROGRESS") == "text":
        from tqdm.std import tqdm
        # no elapsed time or speed in the text: a rebuild of the book prints the same line
        return tqdm(file=_LastRedraw(sys.stdout), bar_format=_TEXT_BAR, **kwargs)
    from tqdm.auto import tqdm
    return tqdm(**kwargs)


def _hits(y_pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """How many rows of ``y_pred`` put their largest probability on the right class."""
    labels = y if y.dim() == 1 else y.argmax(1)
    return (y_pred.argmax(1) == labels).sum()


def entrenar_FFNN(
    red,
    dataset: Dataset,
    optimizador,
    epochs: int = 1,
    batch_size: int = 1,
    device: Union[str, torch.device, None] = None,
    *,
    shuffle: bool = True,
    lr_schedule: Optional[Callable[[int], float]] = None,
    generator: Optional[torch.Generator] = None,
    verbose: bool = True,
) -> tuple[list[float], list[float]]:
    """Train ``red`` on ``dataset`` with its own ``backward`` and ``optimizador.step()``.

    Every epoch visits the examples once, in mini-batches of ``batch_size`` (shuffled unless
    ``shuffle=False``, with ``generator`` if given). ``device=None`` means CUDA when available,
    else the CPU; the network and every batch are moved there. ``lr_schedule(epoch)``, if given,
    sets ``optimizador.lr`` at the start of each epoch (counted from 0). A progress bar shows the
    epoch and the running loss and accuracy of the epoch; ``verbose=False`` silences it.

    Returns ``(loss, acc)``: two lists of floats with one entry per iteration, that mini-batch's
    loss and accuracy. Raises :class:`TrainingDivergedError` if the loss becomes NaN or infinite.
    """
    _check_positive_int("epochs", epochs, "entrenar_FFNN")
    _check_positive_int("batch_size", batch_size, "entrenar_FFNN")
    if len(dataset) == 0:
        raise ValueError("entrenar_FFNN: dataset is empty")
    device = torch.device(device) if device is not None else default_device()
    red.to(device)
    per_epoch = math.ceil(len(dataset) / batch_size)
    losses, accs = [], []
    with torch.no_grad(), _progress_bar(total=epochs * per_epoch, disable=not verbose, unit="it") as bar:
        for epoch in range(epochs):
            if lr_schedule is not None:
                optimizador.lr = lr_schedule(epoch)
            bar.set_description(f"época {epoch + 1}/{epochs}")
            seen = hits_epoch = loss_epoch = 0
            for it, (x, y) in enumerate(batches(dataset, batch_size, shuffle, generator), start=1):
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                y_pred = red(x)
                loss = (CategoricalCELoss if y.dim() == 1 else CELoss)(y_pred, y).item()
                hits, n = _hits(y_pred, y).item(), len(x)
                if not math.isfinite(loss):
                    raise TrainingDivergedError(
                        f"entrenar_FFNN: the loss became {loss} at epoch {epoch + 1}, iteration {it}; "
                        f"training diverged: try a smaller lr (it was {optimizador.lr})"
                    )
                red.backward(x, y, y_pred)
                optimizador.step()
                losses.append(loss)
                accs.append(hits / n)
                seen, hits_epoch, loss_epoch = seen + n, hits_epoch + hits, loss_epoch + loss * n
                bar.set_postfix(loss=f"{loss_epoch / seen:.4f}", acc=f"{hits_epoch / seen:.3f}", refresh=False)
                bar.update()
    return losses, accs


def calcula_acierto(red, dataset: Dataset, batch_size: int = 100,
                    device: Union[str, torch.device, None] = None) -> float:
    """The fraction of ``dataset`` that ``red`` classifies correctly, in [0, 1]."""
    _check_positive_int("batch_size", batch_size, "calcula_acierto")
    if len(dataset) == 0:
        raise ValueError("calcula_acierto: dataset is empty")
    device = torch.device(device) if device is not None else default_device()
    red.to(device)
    hits = 0
    with torch.no_grad():
        for x, y in batches(dataset, batch_size):
            hits += _hits(red(x.to(device)), y.to(device)).item()
    return hits / len(dataset)
