"""Side-by-side comparisons for the book: our result against PyTorch's, as a small table.

Every formula of the book is followed by a cell that computes it with the package and with
PyTorch (autograd or ``torch.nn.functional``) and shows the comparison. :func:`compare` builds
that table and, unless told otherwise, fails loudly when a row does not match, so that a wrong
formula breaks the build instead of printing a quiet "no".
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Iterable, Optional

import torch

__all__ = ["compare", "Comparison", "Row"]

_DEFAULT_TOL = {torch.float64: (1e-10, 1e-12), torch.float32: (1e-5, 1e-6)}


@dataclass
class Row:
    name: str
    shape: tuple
    exact: bool
    close: bool
    max_abs_diff: float


class Comparison:
    """The rows of :func:`compare`; shows as a text table (``repr``) or an HTML table in notebooks."""

    HEADERS = ("qué", "forma", "exacto", "allclose", "máx |dif|")

    def __init__(self, rows: list[Row], rtol: Optional[float], atol: Optional[float]):
        self.rows, self.rtol, self.atol = rows, rtol, atol

    @property
    def all_close(self) -> bool:
        return all(r.close for r in self.rows)

    def _cells(self):
        yes = lambda b: "sí" if b else "no"
        return [(r.name, str(r.shape), yes(r.exact), yes(r.close), f"{r.max_abs_diff:.2e}") for r in self.rows]

    def __repr__(self) -> str:
        cells = [self.HEADERS, *self._cells()]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.HEADERS))]
        return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in cells)

    def _repr_html_(self) -> str:
        # inline styles, so the table reads well in any notebook front-end and in the book alike
        cell = lambda tag, text, i: (f'<{tag} style="padding: 0.15em 0.8em; text-align: {"left" if i == 0 else "right"}">'
                                     f"{html.escape(text)}</{tag}>")
        head = "".join(cell("th", h, i) for i, h in enumerate(self.HEADERS))
        body = "".join("<tr>" + "".join(cell("td", c, i) for i, c in enumerate(row)) + "</tr>" for row in self._cells())
        return f'<table class="comparison"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def compare(pairs: Iterable[tuple[str, torch.Tensor, torch.Tensor]], rtol: Optional[float] = None,
            atol: Optional[float] = None, check: bool = True) -> Comparison:
    """Compare each ``(name, ours, reference)``: exactly equal? ``torch.allclose``? largest |difference|?

    Tolerances default by dtype: rtol 1e-10 / atol 1e-12 in float64, 1e-5 / 1e-6 in float32
    (tighter than ``torch.testing.assert_close``'s float64 defaults). With ``check=True`` (the default) an ``AssertionError`` names every row that is
    not close, so a wrong formula stops the build.
    """
    rows = []
    for name, ours, ref in pairs:
        ours, ref = torch.as_tensor(ours).detach(), torch.as_tensor(ref).detach()
        if ours.shape != ref.shape:
            raise ValueError(f"compare: {name}: shapes differ, ours {tuple(ours.shape)} and reference {tuple(ref.shape)}")
        r, a = _DEFAULT_TOL.get(ref.dtype, (1e-5, 1e-6))
        r, a = rtol if rtol is not None else r, atol if atol is not None else a
        ref = ref.to(ours.dtype)
        diff = (ours - ref).abs().max().item() if ours.numel() else 0.0
        close = torch.allclose(ours, ref, rtol=r, atol=a, equal_nan=False)
        rows.append(Row(name, tuple(ours.shape), bool(torch.equal(ours, ref)), bool(close), diff))
    result = Comparison(rows, rtol, atol)
    if check and not result.all_close:
        bad = ", ".join(f"{r.name} (máx |dif| {r.max_abs_diff:.2e})" for r in rows if not r.close)
        raise AssertionError(f"compare: not close to the reference: {bad}")
    return result
