"""BLAS thread limits (dynsys._threads) and find_fixed_points' blas_threads option."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from dynsys import find_fixed_points, models
from dynsys._threads import limit_blas_threads


def blas_threads_now() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_limit_applies_inside_and_restores_after():
    before = blas_threads_now()
    with limit_blas_threads(1):
        assert blas_threads_now() == {1}
    assert blas_threads_now() == before
    with limit_blas_threads(None):
        assert blas_threads_now() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts_are_named(bad):
    with pytest.raises(ValueError, match="threads"):
        with limit_blas_threads(bad):
            pass
    with pytest.raises(ValueError, match="blas_threads"):
        find_fixed_points(models.duffing(), n_starts=8, blas_threads=bad)


def test_search_results_do_not_depend_on_the_thread_count():
    system = models.duffing()
    one = find_fixed_points(system, n_starts=32, blas_threads=1)
    default = find_fixed_points(system, n_starts=32, blas_threads=None)
    np.testing.assert_array_equal(one.x, default.x)
    # the Duffing oscillator's equilibria: x = 0, ±1 on y = 0
    np.testing.assert_allclose(np.sort(one.x[:, 0]), [-1.0, 0.0, 1.0], atol=1e-12)
