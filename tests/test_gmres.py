"""The batched GMRES of the matrix-free Newton steps (dynsys.fixed_points.jacobians.gmres_batch)."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys.fixed_points.jacobians import gmres_batch


def products(A):
    return lambda V, rows: np.einsum("bij,bj->bi", A[rows], V)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 9))
def test_full_krylov_space_solves_exactly(seed, n, m):
    # with n Arnoldi vectors GMRES is exact in exact arithmetic: compare with LAPACK's LU solution
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n, n)) + 3.0 * np.sqrt(n) * np.eye(n)  # well conditioned
    b = rng.standard_normal((m, n))
    y, residual = gmres_batch(products(A), b, 1e-14, n)
    np.testing.assert_allclose(y, np.linalg.solve(A, b[..., None])[..., 0], rtol=0, atol=1e-10)
    assert np.all(residual <= 1e-10 * np.linalg.norm(b, axis=1) + 1e-300)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1e-2, 1e-4, 1e-8]))
def test_residual_is_the_true_one_and_meets_eta(seed, eta):
    # J = D W - I as in a tanh network: the residual GMRES reports is |b - A y|, at most eta |b| when it converged
    rng = np.random.default_rng(seed)
    n, m = 40, 6
    W = rng.standard_normal((n, n)) * 1.5 / np.sqrt(n)
    D = rng.uniform(0.0, 1.0, (m, n))
    A = D[:, :, None] * W[None] - np.eye(n)
    b = rng.standard_normal((m, n))
    y, residual = gmres_batch(products(A), b, eta, n)
    true = np.linalg.norm(b - np.einsum("bij,bj->bi", A, y), axis=1)
    np.testing.assert_allclose(residual, true, rtol=1e-6, atol=1e-12 * np.linalg.norm(b))
    assert np.all(true <= eta * np.linalg.norm(b, axis=1) * (1 + 1e-6))


def test_rows_stop_on_their_own_and_zero_right_hand_sides_give_zero():
    # row 0: A = 2 I converges in one step; row 1: b = 0; row 2: a Jordan-like block needs two
    A = np.array([[[2.0, 0.0], [0.0, 2.0]], [[1.0, 5.0], [0.0, 1.0]], [[1.0, 1.0], [0.0, 1.0]]])
    b = np.array([[2.0, 4.0], [0.0, 0.0], [1.0, 1.0]])
    y, residual = gmres_batch(products(A), b, np.array([1e-12, 1e-12, 1e-12]), 2)
    np.testing.assert_allclose(y, [[1.0, 2.0], [0.0, 0.0], [0.0, 1.0]], atol=1e-12)
    np.testing.assert_allclose(residual, 0.0, atol=1e-12)


def test_a_short_budget_returns_the_best_iterate_of_the_krylov_space():
    # one Arnoldi vector: y = t b with t minimising |b - t A b|, t = <A b, b> / |A b|^2
    A = np.array([[[1.0, 0.0], [0.0, 3.0]]])
    b = np.array([[1.0, 1.0]])
    y, residual = gmres_batch(products(A), b, 1e-12, 1)
    Ab = A[0] @ b[0]
    t = Ab @ b[0] / (Ab @ Ab)
    np.testing.assert_allclose(y[0], t * b[0], rtol=1e-12)
    np.testing.assert_allclose(residual[0], np.linalg.norm(b[0] - t * Ab), rtol=1e-12)


def test_a_singular_operator_gives_the_least_squares_solution_on_its_krylov_space():
    # A = diag(1, 0), b = (1, 1): the Krylov space is span{b, A b} = R^2 but A is singular: the best
    # y has y_0 = 1 and leaves the residual |b_1| = 1; no LinAlgError
    A = np.array([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    b = np.array([[1.0, 1.0], [3.0, 4.0]])
    y, residual = gmres_batch(products(A), b, 1e-12, 2)
    np.testing.assert_allclose(np.einsum("bij,bj->bi", A, y)[0], [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(residual, [1.0, 5.0], atol=1e-12)  # A = 0: nothing of b can be matched
    np.testing.assert_allclose(y[1], 0.0, atol=1e-12)
