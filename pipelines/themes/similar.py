"""Most similar past incidents, by cosine over the stored root-cause vectors: for each
incident the five closest among those that had happened by its date (top_k_similar).

An incident's vector is the normalised mean of its root causes' vectors: what went wrong, not
how the write-up was phrased. Computed in blocks so 50,000 incidents never need a full
similarity matrix in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from pipelines.themes.embed import Embedder
from pipelines.themes.vectors import nearest_centroid, unit_rows
from pipelines.warehouse.db import insert_frame, query_frame
from pipelines.warehouse.fingerprints import code_fingerprint, digest, relation_fingerprint

TOP_K = 5
_BLOCK = 2048


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
    return ids, unit_rows(matrix, dtype=np.float32)


def top_k_similar(ids: list[str], matrix: np.ndarray, k: int = TOP_K, days: np.ndarray | None = None) -> pl.DataFrame:
    """Each incident's `k` most similar others. With `days` (each incident's date as a day
    number, NaN when undated) only incidents that had happened by then count: a dated
    incident's list holds dated incidents of its day or earlier, an undated one's any other.
    So filing a new incident changes no list of an earlier one, and no older week's report.

    Rows are taken in date order, so a dated row's candidates are a prefix of that order and
    each block multiplies only against the columns its rows may list (half the work of all
    pairs); the k best are found by value (np.partition), then ranked by similarity and id."""
    n = len(ids)
    days = np.full(n, np.nan) if days is None else np.asarray(days, dtype=np.float64)
    order = np.lexsort((np.arange(n), np.where(np.isnan(days), np.inf, days)))  # by day, undated last
    sorted_days, sorted_matrix = days[order], matrix[order]
    dated = int((~np.isnan(sorted_days)).sum())
    limits = np.full(n, n)  # how many of the ordered incidents each one may list (itself excluded below)
    limits[:dated] = np.searchsorted(sorted_days[:dated], sorted_days[:dated], side="right")
    rows = []
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        width = int(limits[start:stop].max())
        block = sorted_matrix[start:stop] @ sorted_matrix[:width].T
        block[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # never yourself
        block[np.arange(width)[None, :] >= limits[start:stop, None]] = -np.inf  # nor a later incident
        if min(k, width - 1) <= 0:
            continue
        kth = np.partition(block, width - k, axis=1)[:, width - k] if width > k else np.full(stop - start, -np.inf)
        picked_rows, picked_cols = np.nonzero((block >= kth[:, None]) & (block > -np.inf))
        candidates: dict[int, list[int]] = {}
        for r, c in zip(picked_rows.tolist(), picked_cols.tolist()):
            candidates.setdefault(r, []).append(c)
        for r, cols in candidates.items():
            own = ids[order[start + r]]
            # Deterministic: similarity, then id.
            ranked = sorted(cols, key=lambda c: (-round(float(block[r, c]), 6), ids[order[c]]))[:k]
            for rank, c in enumerate(ranked, start=1):
                rows.append((own, rank, ids[order[c]], round(float(block[r, c]), 6)))
    rows.sort(key=lambda row: (row[0], row[1]))
    return pl.DataFrame(rows, schema={"incident_id": pl.String, "rank": pl.Int32, "similar_incident_id": pl.String,
                                      "similarity": pl.Float64}, orient="row")


def incident_days(con: duckdb.DuckDBPyConnection, ids: list[str]) -> np.ndarray:
    """Each incident's date as a day number (NaN when undated), in the order of `ids`."""
    days = dict(con.execute("SELECT incident_id, date_diff('day', DATE '1970-01-01', incident_date) "
                            "FROM postmortems").fetchall())
    return np.asarray([np.nan if days.get(i) is None else float(days[i]) for i in ids], dtype=np.float64)


def similar_incidents_fingerprint(con: duckdb.DuckDBPyConnection, model: object) -> str:
    """What build_similar_incidents reads (the root-cause items, which texts have vectors: a
    vector never changes for its text hash and model, and the incidents' dates) and what it
    wrote."""
    return digest(relation_fingerprint(con, {
        "theme_items": "SELECT item_id, incident_id, text_hash FROM theme_items WHERE theme_set = 'root_cause'",
        "postmortems": "SELECT incident_id, incident_date FROM postmortems",
        "embeddings": "SELECT model_id, text_hash FROM embeddings",
        "similar_incidents": "similar_incidents",
    }), model, code_fingerprint())


def build_similar_incidents(con: duckdb.DuckDBPyConnection, model_id: str, k: int = TOP_K) -> int:
    _, incidents, vectors = stored_cause_vectors(con, model_id)
    ids, matrix = incident_vectors(incidents, vectors)
    frame = top_k_similar(ids, matrix, k, incident_days(con, ids))
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
class SimilarToNew:
    similar: list[tuple[str, str, float]]  # (incident id, title, cosine), at or above `floor`
    causes: list[CauseMatch]
    compared: int  # past incidents that could be compared (with root-cause vectors, itself excluded)
    floor: float
    itself: str | None = None  # the incident this very file was ingested as, left out of `similar`


# Below this cosine of incident vectors nothing is called similar. On the sample store an
# incident's fifth-closest neighbour scores 0.50 on average and unrelated ones 0.2-0.4.
SIMILAR_FLOOR = 0.45


def similar_to_new(con: duckdb.DuckDBPyConnection, embedder: Embedder, cause_texts: list[str], *,
                   k: int = TOP_K, floor: float = SIMILAR_FLOOR, theme_floor: float | None = None,
                   content_hash: str | None = None) -> SimilarToNew:
    """For a post-mortem file: the closest past incidents at or above `floor`, and the
    root-cause theme each of its causes would join (or none, below `theme_floor`). A file
    already in the warehouse (same `content_hash`) is recognised and never its own match."""
    from pipelines.themes.cluster import ThemeClusterer  # scikit-learn: only when a file is compared

    theme_floor = ThemeClusterer().similarity_floor if theme_floor is None else theme_floor
    itself = None
    if content_hash:
        rows = con.execute("SELECT incident_id FROM postmortems WHERE content_hash = ? ORDER BY incident_id",
                           [content_hash]).fetchall()
        itself = rows[0][0] if rows else None
    if not cause_texts:
        return SimilarToNew([], [], 0, floor, itself)
    cause_vectors = unit_rows(embedder.encode(cause_texts), dtype=np.float32)
    _, incidents, vectors = stored_cause_vectors(con, embedder.model_id)
    ids, matrix = incident_vectors(incidents, vectors)
    keep = [i for i, incident in enumerate(ids) if incident != itself]
    similar: list[tuple[str, str, float]] = []
    if keep:
        query = unit_rows(cause_vectors.mean(axis=0))
        sims = matrix[keep] @ query
        order = sorted(range(len(keep)), key=lambda i: (-round(float(sims[i]), 6), ids[keep[i]]))
        titles = dict(con.execute("SELECT incident_id, title FROM postmortems").fetchall())
        similar = [(ids[keep[i]], titles.get(ids[keep[i]]) or ids[keep[i]], round(float(sims[i]), 3))
                   for i in order if sims[i] >= floor][:k]
    themes = con.execute("SELECT theme_id, name, centroid FROM themes WHERE theme_set = 'root_cause' "
                         "ORDER BY theme_id").fetchall()
    matches = []
    if themes:
        centroids = np.asarray([t[2] for t in themes], dtype=np.float32)
        nearest, similarity = nearest_centroid(cause_vectors, centroids)
        for text, best, sim in zip(cause_texts, nearest, similarity):
            joined = sim >= theme_floor
            matches.append(CauseMatch(text, themes[best][0] if joined else None, themes[best][1] if joined else None,
                                      round(float(sim), 3)))
    else:
        matches = [CauseMatch(t, None, None, 0.0) for t in cause_texts]
    return SimilarToNew(similar, matches, len(keep), floor, itself)
