"""RandomDataset (part 4b)."""

import pytest
import torch
from hypothesis import given, strategies as st
from torch.utils.data import DataLoader, Dataset

import backprop as bp


@given(st.integers(1, 50), st.integers(1, 20), st.integers(2, 9), st.integers(0, 1000))
def test_items_are_feature_vectors_and_one_hot_rows(N, F, C, seed):
    data = bp.RandomDataset(N, F, C, seed=seed)
    assert isinstance(data, Dataset) and len(data) == N
    x, y = data[N - 1]
    assert x.shape == (F,) and x.dtype == torch.float32
    assert y.shape == (C,) and y.dtype == torch.float32
    assert y.sum() == 1 and set(y.tolist()) <= {0.0, 1.0}
    assert y.argmax() == data.labels[N - 1]


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = bp.RandomDataset(20, 5, 3, seed=7), bp.RandomDataset(20, 5, 3, seed=7), bp.RandomDataset(20, 5, 3, seed=8)
    assert all(torch.equal(s, t) for s, t in zip(a.tensors, b.tensors))
    assert not torch.equal(a.tensors[0], c.tensors[0])


def test_with_a_dataloader():
    data = bp.RandomDataset(10, 4, 3)
    batches = list(DataLoader(data, batch_size=4))
    assert [tuple(x.shape) for x, _ in batches] == [(4, 4), (4, 4), (2, 4)]
    assert [tuple(y.shape) for _, y in batches] == [(4, 3), (4, 3), (2, 3)]


def test_labels_are_spread_over_every_class():
    data = bp.RandomDataset(3000, 2, 3, seed=1)
    counts = torch.bincount(data.labels, minlength=3)
    assert (counts > 900).all()


@pytest.mark.parametrize("args,message", [
    ((0, 4, 3), "N must be an integer >= 1, got 0"),
    ((5, 0, 3), "F must be an integer >= 1, got 0"),
    ((5, 4, 1), "C must be an integer >= 2, got 1"),
    ((5.0, 4, 3), "N must be an integer >= 1, got 5.0"),
])
def test_bad_sizes(args, message):
    with pytest.raises(ValueError, match=message):
        bp.RandomDataset(*args)


def test_index_out_of_range():
    data = bp.RandomDataset(5, 2, 2)
    assert torch.equal(data[-1][0], data[4][0])
    with pytest.raises(IndexError, match="index 5 out of range for a dataset of 5 examples"):
        data[5]
    with pytest.raises(IndexError, match="index -6 out of range"):
        data[-6]
    with pytest.raises(TypeError, match="index must be an integer, got float"):
        data[1.0]
