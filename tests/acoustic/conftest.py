"""Fixtures of the acoustic tests: generated feature tables, single-threaded numerics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits

from tests.acoustic.frames import FrameMaker, make_feature_frame


@pytest.fixture(scope="module", autouse=True)
def single_thread() -> Iterator[None]:
    """Keep OpenMP/BLAS to one thread: on tiny data, extra threads only add contention."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def feature_frame() -> FrameMaker:
    """Build a generated features table; keyword arguments as :func:`make_feature_frame`."""
    return make_feature_frame
