"""Requests too large to satisfy raise Python exceptions instead of aborting the process."""

import pytest

import ferrograd as fg


@pytest.mark.parametrize(
    "make",
    [
        lambda: fg.zeros((2**40, 2**40)),
        lambda: fg.ones((2**62,)),
        lambda: fg.arange(0, 1e300),
        lambda: fg.ones((1,)).reshape(2**40, 2**40, 0, -1),
        lambda: fg.eye(2**40),
    ],
)
def test_impossible_sizes_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


def test_failed_allocation_is_a_memory_error():
    # 4 TB: a valid shape that no machine here can allocate.
    with pytest.raises(MemoryError):
        fg.zeros((10**12,))
