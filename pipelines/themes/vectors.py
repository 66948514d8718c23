"""Vector helpers shared by clustering, theme assignment, similar incidents and search by
meaning: scaling rows to unit length, and the nearest centroid by cosine.

Defined once so that every stage compares vectors the same way: a theme's members, a new
cause joining a theme, `emberline similar` and the dashboard's search all agree on what
"nearest" means.
"""

from __future__ import annotations

import numpy as np

# Below this length a row counts as zero and stays zero (no division by ~0).
_TINY_NORM = 1e-12
UNASSIGNED = -1


def unit_rows(matrix, dtype=None) -> np.ndarray:
    """Each row (the last axis; a single vector works too) scaled to length 1; zero rows stay
    zero. `dtype` converts first (float32 for speed), else the input's type is kept."""
    matrix = np.asarray(matrix, dtype=dtype)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, _TINY_NORM)


def nearest_centroid(vectors: np.ndarray, centroids: np.ndarray, floor: float | None = None,
                     block_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `vectors`, the index of the most similar row of `centroids` (both unit
    length, so the dot product is the cosine) and that similarity. With `floor`, rows whose
    best similarity is below it get UNASSIGNED. `block_rows` bounds the similarity matrix held
    at once for many rows; with no centroids every row is UNASSIGNED at similarity -1."""
    vectors = np.atleast_2d(vectors)
    n_rows = vectors.shape[0]
    labels = np.full(n_rows, UNASSIGNED, dtype=np.intp)
    best_similarity = np.full(n_rows, -1.0, dtype=np.float32)
    if centroids.shape[0] == 0 or n_rows == 0:
        return labels, best_similarity
    step = block_rows or n_rows
    for start in range(0, n_rows, step):
        block = vectors[start : start + step] @ centroids.T
        best = block.argmax(axis=1)
        best_similarity[start : start + len(best)] = block[np.arange(len(best)), best]
        labels[start : start + len(best)] = best
    if floor is not None:
        labels[best_similarity < floor] = UNASSIGNED
    return labels, best_similarity
