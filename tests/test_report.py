"""The comparison tables the book prints after every formula."""

import pytest
import torch

from backprop.report import compare


def test_rows_say_exact_close_and_largest_difference():
    a = torch.randn(3, 4, dtype=torch.float64)
    c = compare([("igual", a, a.clone()), ("casi", a, a + 1e-13)])
    assert [(r.name, r.exact, r.close) for r in c.rows] == [("igual", True, True), ("casi", False, True)]
    assert c.rows[1].max_abs_diff == pytest.approx(1e-13, rel=0.01)
    text = repr(c).splitlines()
    assert text[0].split() == ["qué", "forma", "exacto", "allclose", "máx", "|dif|"]
    assert text[1].split()[-3:] == ["sí", "sí", "0.00e+00"]
    assert "<table" in c._repr_html_() and "casi" in c._repr_html_()


def test_a_wrong_result_fails_loudly_unless_told_not_to():
    a = torch.randn(5)
    with pytest.raises(AssertionError, match=r"not close to the reference: malo \(máx \|dif\| 1.00e-01\)"):
        compare([("bueno", a, a), ("malo", a, a + 0.1)])
    c = compare([("malo", a, a + 0.1)], check=False)
    assert not c.all_close and repr(c).split()[-2] == "no"


def test_shapes_must_match():
    with pytest.raises(ValueError, match=r"compare: x: shapes differ, ours \(2,\) and reference \(3,\)"):
        compare([("x", torch.zeros(2), torch.zeros(3))])
