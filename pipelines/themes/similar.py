"""Most similar past incidents, by cosine over the stored root-cause vectors.

An incident's vector is the normalised mean of its root causes' vectors: what went wrong, not
how the write-up was phrased. Computed in blocks so 50,000 incidents never need a full
similarity matrix in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from pipelines.themes.cluster import ThemeClusterer
from pipelines.themes.embed import Embedder
from pipelines.warehouse.db import insert_frame, query_frame

TOP_K = 5
_BLOCK = 2048


def _normalise(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=-1, keepdims=True), 1e-12)


def stored_cause_vectors(con: duckdb.DuckDBPyConnection, model_id: str) -> tuple[list[str], list[str], np.ndarray]:
    """(item ids, incident ids, vectors) of every root-cause item embedded by `model_id`."""
    frame = query_frame(con, """
        SELECT i.item_id, i.incident_id, e.vector
        FROM theme_items i JOIN embeddings e ON e.text_hash = i.text_hash AND e.model_id = ?
        WHERE i.theme_set = 'root_cause'
        ORDER BY i.item_id""", [model_id])
    if frame.height == 0:
        return [], [], np.zeros((0, 0), dtype=np.float32)
    vectors = np.asarray(frame["vector"].to_list(), dtype=np.float32)
    return frame["item_id"].to_list(), frame["incident_id"].to_list(), vectors


def incident_vectors(incident_ids: list[str], vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    if not incident_ids:
        return [], np.zeros((0, 0), dtype=np.float32)
    frame = pl.DataFrame({"incident_id": incident_ids, "row": np.arange(len(incident_ids))})
    groups = frame.group_by("incident_id", maintain_order=True).agg(pl.col("row")).sort("incident_id")
    ids = groups["incident_id"].to_list()
    matrix = np.stack([vectors[rows].mean(axis=0) for rows in groups["row"].to_list()])
    return ids, _normalise(matrix).astype(np.float32)


def top_k_similar(ids: list[str], matrix: np.ndarray, k: int = TOP_K) -> pl.DataFrame:
    rows = []
    n = len(ids)
    k = min(k, max(n - 1, 0))
    for start in range(0, n, _BLOCK):
        block = matrix[start:start + _BLOCK] @ matrix.T
        for offset in range(block.shape[0]):
            block[offset, start + offset] = -np.inf  # never yourself
        if k == 0:
            continue
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        for offset, candidates in enumerate(top):
            # Deterministic: similarity, then id.
            ranked = sorted(candidates, key=lambda c: (-round(float(block[offset, c]), 6), ids[c]))
            for rank, c in enumerate(ranked, start=1):
                rows.append((ids[start + offset], rank, ids[c], round(float(block[offset, c]), 6)))
    return pl.DataFrame(rows, schema={"incident_id": pl.String, "rank": pl.Int32, "similar_incident_id": pl.String,
                                      "similarity": pl.Float64}, orient="row")


def build_similar_incidents(con: duckdb.DuckDBPyConnection, model_id: str, k: int = TOP_K) -> int:
    _, incidents, vectors = stored_cause_vectors(con, model_id)
    ids, matrix = incident_vectors(incidents, vectors)
    frame = top_k_similar(ids, matrix, k)
    con.execute("DELETE FROM similar_incidents")
    insert_frame(con, "similar_incidents", frame)
    return frame.height


@dataclass
class CauseMatch:
    text: str
    theme_id: str | None
    theme_name: str | None
    similarity: float


@dataclass
class SimilarityReport:
    incident_id: str
    title: str
    similar: list[tuple[str, str, float]]  # (incident id, title, cosine)
    causes: list[CauseMatch]


def similar_to_new(con: duckdb.DuckDBPyConnection, embedder: Embedder, cause_texts: list[str], *,
                   k: int = TOP_K, floor: float | None = None) -> tuple[list[tuple[str, str, float]], list[CauseMatch]]:
    """For a post-mortem that is not in the warehouse: the closest past incidents, and the
    root-cause theme each of its causes would join (or none, below `floor`)."""
    floor = ThemeClusterer().similarity_floor if floor is None else floor
    if not cause_texts:
        return [], []
    cause_vectors = _normalise(np.asarray(embedder.encode(cause_texts), dtype=np.float32))
    _, incidents, vectors = stored_cause_vectors(con, embedder.model_id)
    ids, matrix = incident_vectors(incidents, vectors)
    similar: list[tuple[str, str, float]] = []
    if ids:
        query = _normalise(cause_vectors.mean(axis=0))
        sims = matrix @ query
        order = sorted(range(len(ids)), key=lambda i: (-round(float(sims[i]), 6), ids[i]))[:k]
        titles = dict(con.execute("SELECT incident_id, title FROM postmortems").fetchall())
        similar = [(ids[i], titles.get(ids[i], ""), round(float(sims[i]), 3)) for i in order]
    themes = con.execute("SELECT theme_id, name, centroid FROM themes WHERE theme_set = 'root_cause' "
                         "ORDER BY theme_id").fetchall()
    matches = []
    if themes:
        centroids = np.asarray([t[2] for t in themes], dtype=np.float32)
        for text, vector in zip(cause_texts, cause_vectors):
            sims = centroids @ vector
            best = int(np.argmax(sims))
            joined = sims[best] >= floor
            matches.append(CauseMatch(text, themes[best][0] if joined else None, themes[best][1] if joined else None,
                                      round(float(sims[best]), 3)))
    else:
        matches = [CauseMatch(t, None, None, 0.0) for t in cause_texts]
    return similar, matches
