"""Pooling token states: each mode against the same sum written out by hand, padding on either side."""

from __future__ import annotations

import pytest

from latentstack.pooling import POOLINGS, pool

torch = pytest.importorskip("torch")


def states() -> tuple[torch.Tensor, torch.Tensor]:
    """Two texts of 3 and 2 real tokens, right-padded to 3, 2-d states."""
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[7.0, 8.0], [9.0, 10.0], [99.0, 99.0]]])
    return hidden, torch.tensor([[1, 1, 1], [1, 1, 0]])


def test_weighted_mean_weights_positions_from_the_first_real_token() -> None:
    """(1 a + 2 b + 3 c) / 6, padding left out; left padding gives the same vector as right padding."""
    hidden, mask = states()
    out = pool(hidden, mask, "weightedmean")
    torch.testing.assert_close(out[0], (hidden[0, 0] + 2 * hidden[0, 1] + 3 * hidden[0, 2]) / 6)
    torch.testing.assert_close(out[1], (hidden[1, 0] + 2 * hidden[1, 1]) / 3)
    left = torch.stack([hidden[1, 2], hidden[1, 0], hidden[1, 1]])[None]
    torch.testing.assert_close(pool(left, torch.tensor([[0, 1, 1]]), "weightedmean")[0], out[1])


def test_mean_sqrt_len_divides_the_sum_by_the_root_of_the_length() -> None:
    hidden, mask = states()
    out = pool(hidden, mask, "mean_sqrt_len")
    torch.testing.assert_close(out[1], (hidden[1, 0] + hidden[1, 1]) / 2**0.5)
    torch.testing.assert_close(out[0], hidden[0].sum(dim=0) / 3**0.5)


def test_every_offered_pooling_is_computed_and_another_is_named() -> None:
    hidden, mask = states()
    assert all(pool(hidden, mask, how).shape == (2, 2) for how in POOLINGS)
    with pytest.raises(ValueError, match=r"unknown pooling 'median': mean, cls, max, last, weightedmean"):
        pool(hidden, mask, "median")
