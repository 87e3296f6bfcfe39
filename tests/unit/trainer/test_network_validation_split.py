"""The network validates on the chronologically last training rows: 15 %, a week to a third."""

from __future__ import annotations

import numpy as np
import pytest

from wattcast.trainer.fitting import validation_split


@pytest.mark.parametrize(
    ("rows", "validated"),
    [(100 * 24, 15 * 24), (30 * 24, 7 * 24), (12 * 24, 4 * 24)],
    ids=["fifteen-percent", "at-least-a-week", "at-most-a-third"],
)
def test_the_last_rows_validate(rows: int, validated: int) -> None:
    train = np.arange(rows, dtype=np.int64) * 2  # row numbers, not positions: gaps allowed
    fit_rows, val_rows = validation_split(train, 24)
    assert len(val_rows) == validated
    assert np.concatenate([fit_rows, val_rows]).tolist() == train.tolist()
    assert fit_rows.max() < val_rows.min()
