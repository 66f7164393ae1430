"""Accuracy metrics: stars (RMSE, MAE) and top-N lists (precision, recall, nDCG, MAP, coverage).

Pure numpy (scipy.sparse for the relevance matrix): no TensorFlow.
"""

from __future__ import annotations

import numpy as np


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error.

    Args:
        predicted: predicted stars.
        actual: true stars.

    Returns:
        The RMSE as a float.
    """
    d = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    return float(np.sqrt(np.mean(d * d)))


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute error.

    Args:
        predicted: predicted stars.
        actual: true stars.

    Returns:
        The MAE as a float.
    """
    d = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    return float(np.mean(np.abs(d)))


def top_n_metrics(recommended: np.ndarray, relevant, *, k: int = 10, n_movies: int | None = None) -> dict[str, float]:
    """Precision, recall, nDCG and MAP at k, averaged over users with something relevant.

    Every relevant movie counts with gain 1 (protocol T: every held-out movie is relevant).
    Recall divides by the number of relevant movies; nDCG's ideal list and MAP's
    normaliser use min(k, relevant), the usual conventions.

    Args:
        recommended: int array [n_users, >=k] of movie indexes, best first; -1 pads short lists.
        relevant: scipy.sparse.csr_matrix [n_users, n_movies], nonzero = relevant.
        k: list length.
        n_movies: catalogue size for coverage (defaults to relevant.shape[1]).

    Returns:
        dict with precision, recall, ndcg, map (all @k) and coverage (share of the
        catalogue appearing in any evaluated user's top-k), plus users (how many were evaluated).
    """
    rec = np.asarray(recommended)[:, :k]
    n_users = rec.shape[0]
    relevant = relevant.tocsr()
    n_rel = np.diff(relevant.indptr)[:n_users]
    users = np.flatnonzero(n_rel > 0)
    if len(users) == 0:
        return {"precision": 0.0, "recall": 0.0, "ndcg": 0.0, "map": 0.0, "coverage": 0.0, "users": 0}
    rec = rec[users]
    n_rel = n_rel[users]
    # hit[i, j]: is the j-th pick of user i relevant? One vectorised lookup in the sparse matrix.
    rows = np.repeat(users, rec.shape[1])
    cols = rec.ravel()
    valid = cols >= 0
    hit = np.zeros(rows.shape, dtype=bool)
    hit[valid] = np.asarray(relevant[rows[valid], cols[valid]]).ravel() != 0
    hit = hit.reshape(rec.shape)
    hits = hit.sum(axis=1)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hit * discount[: hit.shape[1]]).sum(axis=1)
    ideal_cut = np.minimum(n_rel, k)
    idcg = np.cumsum(discount)[ideal_cut - 1]
    precision_at = np.cumsum(hit, axis=1) / np.arange(1, hit.shape[1] + 1)
    ap = (precision_at * hit).sum(axis=1) / ideal_cut
    n_movies = relevant.shape[1] if n_movies is None else n_movies
    shown = np.unique(rec[rec >= 0])
    return {
        "precision": float(np.mean(hits / k)),
        "recall": float(np.mean(hits / n_rel)),
        "ndcg": float(np.mean(dcg / idcg)),
        "map": float(np.mean(ap)),
        "coverage": float(len(shown) / max(n_movies, 1)),
        "users": len(users),
    }


def disliked_share(recommended: np.ndarray, disliked, *, k: int = 10) -> float:
    """Protocol P's disliked@k: the share of the top-k that the user later rated low.

    Args:
        recommended: int array [n_users, >=k] of movie indexes, best first; -1 pads short lists.
        disliked: scipy.sparse.csr_matrix [n_users, n_movies], nonzero = rated 2 stars or less later.
        k: list length.

    Returns:
        The mean over users of (disliked picks / k).
    """
    rec = np.asarray(recommended)[:, :k]
    if rec.shape[0] == 0:
        return 0.0
    rows = np.repeat(np.arange(rec.shape[0]), rec.shape[1])
    cols = rec.ravel()
    valid = cols >= 0
    hit = np.zeros(rows.shape, dtype=bool)
    hit[valid] = np.asarray(disliked.tocsr()[rows[valid], cols[valid]]).ravel() != 0
    return float(hit.reshape(rec.shape).sum(axis=1).mean() / k)


def low_star_share(stars: np.ndarray, *, below: float = 3.0) -> float:
    """Protocol P's low stars: the share of picks whose stars, as a card shows them, are below `below`.

    Args:
        stars: float array [n_users, k] of predicted stars; NaN pads short lists.
        below: the threshold.

    Returns:
        The share of the non-NaN entries that round (to one decimal, like a card) below `below`.
    """
    s = np.asarray(stars, dtype=np.float64)
    shown = s[np.isfinite(s)]
    if shown.size == 0:
        return 0.0
    return float(np.mean(np.round(shown, 1) < below))


def personal_share(recommended: np.ndarray, *, k: int = 10) -> float:
    """Protocol P's personal: 1 - the mean Jaccard overlap of two users' top-k lists, over every pair.

    Args:
        recommended: int array [n_users, >=k] of movie indexes; -1 pads short lists.
        k: list length.

    Returns:
        1.0 when no two lists share a movie, 0.0 when every list is the same.
    """
    import scipy.sparse as sp

    rec = np.asarray(recommended)[:, :k]
    n = rec.shape[0]
    if n < 2:
        return 1.0
    rows = np.repeat(np.arange(n), rec.shape[1])
    cols = rec.ravel()
    valid = cols >= 0
    x = sp.csr_matrix((np.ones(int(valid.sum())), (rows[valid], cols[valid])), shape=(n, int(cols.max()) + 1))
    x.data[:] = 1.0  # a movie twice in one list counts once
    inter = (x @ x.T).toarray()
    sizes = np.asarray(x.sum(axis=1)).ravel()
    union = sizes[:, None] + sizes[None, :] - inter
    upper = np.triu_indices(n, 1)
    jaccard = np.divide(inter[upper], union[upper], out=np.zeros(len(upper[0])), where=union[upper] > 0)
    return float(1.0 - jaccard.mean())
