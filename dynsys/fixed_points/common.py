"""Helpers every stage of the search shares: row-wise products, the box test and clustering.

All of them work on batches, one point per row of a (B, n) array.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

EPS = np.finfo(float).eps


def row_dot(U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Row-wise inner products u_b . v_b of two (B, n) batches, shape (B,).

    Examples
    --------
    >>> import numpy as np
    >>> row_dot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 1.0], [0.0, 1.0]]))
    array([3., 4.])
    """
    return np.einsum("bi,bi->b", U, V)


def row_norm(V: np.ndarray) -> np.ndarray:
    """Euclidean norm |v_b| of each row of a (B, n) batch, shape (B,).

    Examples
    --------
    >>> import numpy as np
    >>> row_norm(np.array([[3.0, 4.0], [0.0, 0.0]]))
    array([5., 0.])
    """
    return np.sqrt(row_dot(V, V))


def inside(X: np.ndarray, region: np.ndarray | None, radius: float | np.ndarray = 0.0) -> np.ndarray:
    """Which rows of X lie in the box ``region`` widened by ``radius`` (all when None).

    Parameters
    ----------
    X : ndarray of shape (B, n)
    region : ndarray of shape (n, 2) or None
        (low, high) per coordinate.
    radius : float or ndarray of shape (B, 1), default 0
        How far outside the box a row may lie.

    Returns
    -------
    ndarray of bool, shape (B,)

    Examples
    --------
    >>> import numpy as np
    >>> box = np.array([[0.0, 1.0], [0.0, 1.0]])
    >>> inside(np.array([[0.5, 0.5], [1.05, 0.5]]), box).tolist()
    [True, False]
    >>> inside(np.array([[0.5, 0.5], [1.05, 0.5]]), box, radius=0.1).tolist()
    [True, True]
    """
    if region is None:
        return np.ones(len(X), dtype=bool)
    return np.all((X >= region[:, 0] - radius) & (X <= region[:, 1] + radius), axis=1)


def cluster(X: np.ndarray, q: np.ndarray, is_fixed: np.ndarray, radius: float | np.ndarray) -> np.ndarray:
    """For each point, the index of its cluster's representative.

    ``radius`` is one r for all points or an r_i per point.  Every two
    points closer than max(r_a, r_b) end up in one cluster (points up to
    6 max(r_a, r_b) apart may too).  Many starts converge to the same few
    points, so each point is first binned into cubes of diameter R_i, r_i
    rounded up to a power of two; the bins' representatives are joined when
    closer than 3 max(R_a, R_b) (``cKDTree.query_pairs`` per level R, in a
    loop over the few distinct levels, and connected components of the
    pair graph), which covers every pair of points closer than max(r_a,
    r_b): single linkage, never a B x B distance matrix.  A cluster's
    representative is a fixed point if it has one, then the one with the
    lowest q, then the lexicographically smallest.  ``np.unique`` of the
    result gives the representatives.

    Parameters
    ----------
    X : ndarray of shape (B, n)
    q : ndarray of shape (B,)
        q = ½|F|² of each point.
    is_fixed : ndarray of bool, shape (B,)
    radius : float or ndarray of shape (B,)

    Returns
    -------
    ndarray of int, shape (B,)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [1e-9, 0.0], [1.0, 0.0]])
    >>> cluster(X, np.array([1e-20, 0.0, 0.0]), np.ones(3, dtype=bool), 1e-6).tolist()
    [1, 1, 2]
    """
    m, n = X.shape
    if m == 0:
        return np.zeros(0, dtype=int)
    level = np.exp2(np.ceil(np.log2(np.broadcast_to(np.asarray(radius, dtype=float), (m,)))))
    preference = np.lexsort((*X.T[::-1], q, ~is_fixed))  # best first
    keys = np.column_stack([level, np.floor(X * (np.sqrt(n) / level[:, None]))])
    _, first, in_bin = np.unique(keys[preference], axis=0, return_index=True, return_inverse=True)
    reps = preference[first]  # the best point of each bin
    pairs = [np.zeros((0, 2), dtype=int)]
    for r in np.unique(level[reps]):  # a loop over the distinct radius levels
        sub = np.flatnonzero(level[reps] <= r)
        p = sub[cKDTree(X[reps[sub]]).query_pairs(3 * r, output_type="ndarray").reshape(-1, 2)]
        pairs.append(p[np.max(level[reps[p]], axis=1) == r])
    pairs = np.concatenate(pairs)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(reps), len(reps)))
    n_clusters, label = connected_components(graph, directed=False)
    order = np.argsort(first, kind="stable")  # bins by their best point's preference
    best = np.empty(n_clusters, dtype=int)
    best[label[order[::-1]]] = reps[order[::-1]]  # the last write wins: the most preferred bin
    rep_of = np.empty(m, dtype=int)
    rep_of[preference] = best[label[in_bin.ravel()]]
    return rep_of
