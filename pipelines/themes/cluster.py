"""Group embedded root causes (or eval gaps) into recurring themes.

`ThemeClusterer` clusters L2-normalised sentence embeddings (all-MiniLM-L6-v2,
384-d) without being told how many themes there are. Why it is built this way:

* Nobody can tell us the number of themes in advance: it changes every
  quarter and every team. A single k-means run needs k, and its result moves
  with k and with the random start (on the labelled AVID set, AMI ranges from
  0.31 to 0.37 between neighbouring k). Instead we run spherical k-means many
  times, over a range of k around sqrt(n) and over random starts, and count how
  often each pair of items lands in the same cluster (evidence accumulation,
  Fred & Jain 2005). Pairs that stay together across granularities and starts
  belong together; pairs that only meet by chance do not. The vote averages
  away the dependence on any one k or start, which is what makes one set of
  defaults work from a 20-item quarter to a 50,000-item archive.
* The vote matrix is cut with average linkage at a fixed share of runs
  (`consensus_threshold`). A share of runs is comparable across data sets,
  whereas a raw cosine threshold is not: the typical nearest-neighbour
  similarity is about 0.55 for one-line outage summaries and 0.83 for
  formulaic CVE texts.
* The consensus over k up to 2*sqrt(n) cuts a broad, homogeneous group into
  pieces that only chance separates, so neighbouring groups whose pairs are
  about as alike across as within (`merge_ratio`) are merged again. The bar
  is deliberately high: on the labelled CVE set, themes that people file under
  different weaknesses are up to 94% as alike across as within.
* The k-means runs that vote may also see the texts' words (`fit(X, lexical=...)`,
  `lexical_features`: TF-IDF of words and word pairs, reduced to 64 dimensions), appended to
  the embedding with weight `lexical_weight`. Sentence embeddings of formulaic texts are
  dominated by what every text shares ("an open source platform ... in affected versions"),
  while the weakness is named by rarer words ("null pointer dereference", "leap second") that
  TF-IDF weighs up. Only the votes use them: the similarity floor, the merges, centroids and
  `predict` stay in embedding space, so an item is never left out for unusual wording. On the
  labelled sets (mean over seeds 0-9, with the defaults below) this raised AMI from 0.38 to
  0.44 on CVE texts and from 0.18 to 0.25 on outage summaries, worst seed 0.13 -> 0.20.
* Every item is compared with the others once more in plain cosine terms. An
  item whose closest other item is below `similarity_floor` is reported as
  unclustered with that reason, because a reviewer cannot act on a theme whose
  members do not resemble each other. Items that only ended up in a group too
  small to count as recurring (`min_theme_size`) join the nearest theme when its
  centroid is similar enough; this keeps the unclustered share low without
  inventing themes.
* Co-association costs n^2 memory and many k-means runs, so beyond
  `max_fit_items` the themes are found on a seeded random sample and the other
  items are assigned to the nearest theme centroid, exactly as `predict` does
  for new post-mortems. A theme rarer than about 1 in 1,000 items may then be
  missed; that is the price of fitting 20,000 items in seconds.
* Plain numpy spherical k-means (cosine, normalised centroids) rather than
  `sklearn.cluster.KMeans`: the vectors live on the unit sphere, and
  scikit-learn's k-means++ initialisation dominated the run time of the many
  short runs this method needs.
* The defaults were chosen on the labelled sets bench/quality.py scores
  (one-line outage summaries and CVE texts) and are the same for both, judged
  by the mean over random seeds 0-9, not by one lucky seed. With the words in
  the votes, `consensus_threshold` 0.3 beats 0.35-0.45 on the outage summaries
  (mean AMI 0.25 against 0.18-0.23) and costs the CVE texts 0.01; `lexical_weight`
  0.75 beats 0.5 and 1.0 on both. `similarity_floor` 0.25 rather than 0.35: free-form
  post-mortem sentences are less alike than summaries, and at 0.35 the labelled real-world
  causes were 29% unclustered (10% at 0.25) while the other two sets scored alike (mean AMI
  over seeds 0-9: outage summaries 0.248 -> 0.253, CVE texts unchanged); 0.2 leaves fewer
  still but lets a new item join a theme on a cosine that means little. `runs_per_k` 40
  instead of 20 (twice the fit time) raises the mean over seeds 0-19 by about 0.01 on the
  outage summaries and real-world causes and leaves the CVE texts alike: too little to adopt
  (the README lists this and the other variants tried, on all three sets).
  Run the benchmark before changing them.

Everything random flows from `random_state`, so the same input and parameters
give identical themes, and weekly reports do not reshuffle by chance.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from pipelines.themes.vectors import UNASSIGNED, nearest_centroid, unit_rows

UNCLUSTERED = UNASSIGNED

# Spherical k-means converges in well under this many iterations on sentence
# embeddings; the cap only bounds the worst case.
_MAX_KMEANS_ITERATIONS = 50

# Below this many members (6 pairs) a group's mean within-similarity is too
# noisy to judge whether a neighbouring group is distinct from it.
_MIN_MEMBERS_TO_JUDGE_TIGHTNESS = 4

# Rows per block when comparing many vectors with the centroids, to bound the
# memory of the similarity matrix for archives of 50,000 items.
_PREDICT_BLOCK_ROWS = 8192

# Dimensions the TF-IDF matrix is reduced to: enough for the distinctive vocabulary of some
# hundred themes, small beside the 384 embedding dimensions the k-means runs also see.
LEXICAL_DIMENSIONS = 64


def lexical_features(texts, n_components=LEXICAL_DIMENSIONS, random_state=0):
    """Unit-length word features of `texts` for `ThemeClusterer.fit(X, lexical=...)`.

    TF-IDF over words and adjacent word pairs (English stop words dropped, sublinear term
    frequency, terms in at least two texts), reduced by truncated SVD (LSA). Returns None
    when the texts share too few terms for that to mean anything (tiny or empty inputs).
    """
    texts = list(texts)
    if len(texts) < 3:
        return None
    try:
        tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True, ngram_range=(1, 2),
                                min_df=2).fit_transform(texts)
    except ValueError:  # no term occurs in two texts
        return None
    n_components = min(n_components, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
    if n_components < 1:
        return None
    reduced = TruncatedSVD(n_components, random_state=random_state).fit_transform(tfidf)
    return _unit_rows(reduced)


class ThemeClusterer(ClusterMixin, BaseEstimator):
    """Consensus spherical k-means with a similarity floor for outliers.

    Parameters
    ----------
    consensus_threshold : float, default=0.3
        Share of k-means runs (0..1) in which two groups of items must, on
        average, have been clustered together to end up in the same theme.
        Lower gives fewer, broader themes.
    similarity_floor : float, default=0.25
        Cosine similarity below which two items are not considered related.
        An item with no other item at least this similar is unclustered;
        items from undersized groups, and new items in `predict`, join the
        nearest theme only if its centroid is at least this similar.
    min_theme_size : int, default=2
        Smallest group that counts as a recurring theme.
    merge_ratio : float, default=0.95
        Two groups merge when pairs across them are on average at least this
        fraction as similar as pairs within the tighter of the two: they are
        one theme that k-means happened to cut in pieces. Lower merges
        more; below about 0.93 distinct labelled themes start to merge.
    k_range : tuple of float, default=(0.5, 2.0)
        Numbers of clusters tried in the k-means runs, as multiples of
        sqrt(n_items) (n_items is capped at `max_fit_items`).
    n_k_values : int, default=10
        How many values of k, spaced geometrically over `k_range`.
    runs_per_k : int, default=20
        Randomly started k-means runs per value of k.
    max_fit_items : int, default=2000
        Above this many items, themes are found on a seeded random sample of
        this size and the remaining items are assigned to the nearest theme.
    lexical_weight : float, default=0.75
        Weight of the `lexical` features passed to `fit` beside the embedding in
        the k-means runs that vote (each part unit length before weighting). 0
        ignores them; without `lexical` this has no effect.
    random_state : int, RandomState instance or None, default=0
        Seed for k-means starts and sampling. The default is fixed so that
        reruns give identical themes.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Theme of each item; -1 means unclustered. Themes are numbered by
        decreasing size.
    unclustered_reason_ : list of (str or None)
        Why each unclustered item was left out; None for clustered items.
    n_themes_ : int
        Number of themes found.
    centroids_ : ndarray of shape (n_themes_, n_features)
        L2-normalised mean of each theme's members; row i is theme i.
    theme_sizes_ : ndarray of shape (n_themes_,)
        Number of items in each theme.
    fit_sample_indices_ : ndarray of int
        Items the themes were built from (all items unless more than
        `max_fit_items`); the others were assigned afterwards.
    n_features_in_ : int
        Dimension of the vectors seen in `fit`.
    """

    def __init__(
        self,
        consensus_threshold=0.3,
        similarity_floor=0.25,
        min_theme_size=2,
        merge_ratio=0.95,
        k_range=(0.5, 2.0),
        n_k_values=10,
        runs_per_k=20,
        max_fit_items=2000,
        lexical_weight=0.75,
        random_state=0,
    ):
        self.consensus_threshold = consensus_threshold
        self.similarity_floor = similarity_floor
        self.min_theme_size = min_theme_size
        self.merge_ratio = merge_ratio
        self.k_range = k_range
        self.n_k_values = n_k_values
        self.runs_per_k = runs_per_k
        self.max_fit_items = max_fit_items
        self.lexical_weight = lexical_weight
        self.random_state = random_state

    def fit(self, X, y=None, lexical=None):
        """Find themes in `X` (n_items x n_features embeddings).

        Rows need not be normalised; they are compared by cosine. `y` is
        ignored and exists for scikit-learn compatibility. `lexical`, one row
        per item (e.g. `lexical_features(texts)`), adds the texts' words to the
        votes of the k-means runs.
        """
        self._validate_parameters()
        vectors = _unit_rows(validate_data(self, X, dtype=[np.float32, np.float64]))
        if lexical is not None:
            lexical = _unit_rows(lexical)
            if lexical.shape[0] != vectors.shape[0]:
                raise ValueError(f"lexical has {lexical.shape[0]} rows for {vectors.shape[0]} items")
        rng = check_random_state(self.random_state)
        n_items = vectors.shape[0]

        if n_items > self.max_fit_items:
            sample = np.sort(rng.choice(n_items, size=self.max_fit_items, replace=False))
        else:
            sample = np.arange(n_items)
        sample_labels, sample_reasons = self._cluster_sample(
            vectors[sample], None if lexical is None else lexical[sample], rng)

        labels = np.full(n_items, UNCLUSTERED, dtype=np.intp)
        reasons: list[str | None] = [None] * n_items
        labels[sample] = sample_labels
        for position, reason in zip(sample, sample_reasons):
            reasons[position] = reason

        n_themes = int(sample_labels.max()) + 1  # 0 when nothing clustered
        if n_themes and len(sample) < n_items:
            rest = np.setdiff1d(np.arange(n_items), sample, assume_unique=True)
            sample_centroids = _centroids(vectors[sample], sample_labels, n_themes)
            labels[rest], best_similarity = _nearest_theme(
                vectors[rest], sample_centroids, self.similarity_floor
            )
            for position, label, similarity in zip(rest, labels[rest], best_similarity):
                if label == UNCLUSTERED:
                    reasons[position] = self._no_theme_reason(similarity)
        elif len(sample) < n_items:
            for position in np.setdiff1d(np.arange(n_items), sample, assume_unique=True):
                reasons[position] = "no theme found in the fitted sample"

        # Number themes by their final size, after stranded and unsampled items joined.
        order = _by_decreasing_size(labels[labels >= 0])
        renumber = np.empty(n_themes, dtype=np.intp)
        renumber[order] = np.arange(len(order))
        labels[labels >= 0] = renumber[labels[labels >= 0]]

        self.labels_ = labels
        self.unclustered_reason_ = reasons
        self.n_themes_ = n_themes
        self.centroids_ = _centroids(vectors, labels, n_themes)
        self.theme_sizes_ = np.bincount(labels[labels >= 0], minlength=n_themes)
        self.fit_sample_indices_ = sample
        return self

    def predict(self, X):
        """Assign each row of `X` to the most similar theme centroid.

        Returns -1 where even the best centroid is less similar than
        `similarity_floor`, so unrelated new incidents are not forced into an
        existing theme.
        """
        check_is_fitted(self, "centroids_")
        vectors = _unit_rows(
            validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        )
        labels, _ = _nearest_theme(vectors, self.centroids_, self.similarity_floor)
        return labels

    def predict_similarity(self, X):
        """Cosine similarity of each row of `X` to its nearest theme centroid.

        Lets callers (e.g. `emberline similar`) show how close a match is; the
        similarity is returned even when it is below the floor.
        """
        check_is_fitted(self, "centroids_")
        vectors = _unit_rows(
            validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        )
        _, similarity = _nearest_theme(vectors, self.centroids_, self.similarity_floor)
        return similarity

    def _validate_parameters(self):
        if not 0.0 < self.consensus_threshold <= 1.0:
            raise ValueError(f"consensus_threshold must be in (0, 1], got {self.consensus_threshold!r}")
        if not -1.0 <= self.similarity_floor <= 1.0:
            raise ValueError(f"similarity_floor must be in [-1, 1], got {self.similarity_floor!r}")
        if int(self.min_theme_size) < 1:
            raise ValueError(f"min_theme_size must be at least 1, got {self.min_theme_size!r}")
        if not self.lexical_weight >= 0.0:
            raise ValueError(f"lexical_weight must be at least 0, got {self.lexical_weight!r}")
        if not 0.0 < self.merge_ratio:
            raise ValueError(f"merge_ratio must be positive, got {self.merge_ratio!r}")
        low, high = self.k_range
        if not 0.0 < low <= high:
            raise ValueError(f"k_range must be (low, high) with 0 < low <= high, got {self.k_range!r}")
        if int(self.n_k_values) < 1 or int(self.runs_per_k) < 1:
            raise ValueError("n_k_values and runs_per_k must be at least 1")
        if int(self.max_fit_items) < 2:
            raise ValueError(f"max_fit_items must be at least 2, got {self.max_fit_items!r}")

    def _cluster_sample(self, vectors, lexical, rng):
        """Themes for at most `max_fit_items` unit vectors.

        Returns labels numbered by decreasing theme size (-1 = unclustered)
        and a reason per item (None when clustered).
        """
        n_items = vectors.shape[0]
        if n_items == 1:
            return np.array([UNCLUSTERED], dtype=np.intp), ["singleton"]

        similarity = vectors @ vectors.T
        np.fill_diagonal(similarity, -np.inf)
        closest_other = similarity.max(axis=1)
        np.fill_diagonal(similarity, 1.0)

        if lexical is not None and self.lexical_weight > 0:
            voting = _unit_rows(np.hstack([vectors, self.lexical_weight * lexical]))
            voting_similarity = voting @ voting.T
        else:
            voting, voting_similarity = vectors, similarity
        co_association = _co_association(
            voting, voting_similarity, self._candidate_k(n_items), int(self.runs_per_k), rng
        )
        del voting, voting_similarity
        del similarity
        groups = _cut_consensus(co_association, self.consensus_threshold)
        del co_association

        # Items unlike every other item are outliers whatever the vote says.
        isolated = closest_other < self.similarity_floor
        groups[isolated] = UNCLUSTERED
        groups = _merge_indistinct_groups(vectors, groups, self.merge_ratio)
        group_sizes = np.bincount(groups[groups >= 0], minlength=n_items)
        in_theme = (groups >= 0) & (group_sizes[np.maximum(groups, 0)] >= self.min_theme_size)

        labels = np.full(n_items, UNCLUSTERED, dtype=np.intp)
        reasons: list[str | None] = [None] * n_items
        for position in np.flatnonzero(isolated):
            reasons[position] = f"no neighbour within similarity {self.similarity_floor:.2f}"

        theme_groups = _by_decreasing_size(groups[in_theme])
        if not theme_groups.size:
            for position in np.flatnonzero(~isolated):
                reasons[position] = _small_group_reason(group_sizes[groups[position]])
            return labels, reasons
        label_of_group = {group: label for label, group in enumerate(theme_groups)}
        for position in np.flatnonzero(in_theme):
            labels[position] = label_of_group[groups[position]]

        # Members of undersized groups join the nearest theme if it is close.
        stranded = np.flatnonzero(~in_theme & ~isolated)
        if stranded.size:
            centroids = _centroids(vectors, labels, len(theme_groups))
            nearest, best_similarity = _nearest_theme(
                vectors[stranded], centroids, self.similarity_floor
            )
            labels[stranded] = nearest
            for position, label, similarity in zip(stranded, nearest, best_similarity):
                if label == UNCLUSTERED:
                    reasons[position] = (
                        f"{_small_group_reason(group_sizes[groups[position]])}; "
                        f"{self._no_theme_reason(similarity)}"
                    )
        return labels, reasons

    def _candidate_k(self, n_items):
        """Values of k for the k-means runs, spread geometrically around sqrt(n)."""
        if n_items <= 2:
            # Only one split is possible; the similarity floor alone decides.
            return [1]
        root = np.sqrt(n_items)
        low_factor, high_factor = self.k_range
        # k = 1 would vote every pair together and swamp tiny inputs.
        low = max(2.0, low_factor * root)
        high = max(low, min(n_items - 1.0, high_factor * root))
        values = np.rint(np.geomspace(low, high, int(self.n_k_values))).astype(int)
        return sorted(set(np.clip(values, 1, n_items).tolist()))

    def _no_theme_reason(self, best_similarity):
        return (
            f"no theme within similarity {self.similarity_floor:.2f} "
            f"(closest {best_similarity:.2f})"
        )


def _small_group_reason(group_size):
    if group_size <= 1:
        return "singleton"
    return f"group of {group_size} is below min_theme_size"


def _unit_rows(matrix):
    """Rows scaled to length 1 (zero rows stay zero), as float32 for speed."""
    return unit_rows(matrix, dtype=np.float32)


def _centroids(vectors, labels, n_themes):
    """Unit-length mean of each theme's members; row i is theme i."""
    if n_themes == 0:
        return np.zeros((0, vectors.shape[1]), dtype=vectors.dtype)
    members = labels >= 0
    return _unit_rows(_membership_matrix(labels[members], n_themes) @ vectors[members])


def _membership_matrix(labels, n_groups):
    """Sparse (n_groups x n_items) indicator; multiplying by it sums members."""
    n_items = len(labels)
    # One entry per column, so the CSC arrays can be written down directly.
    return scipy.sparse.csc_matrix(
        (np.ones(n_items, dtype=np.float32), labels, np.arange(n_items + 1)),
        shape=(n_groups, n_items),
    )


def _nearest_theme(vectors, centroids, similarity_floor):
    """Best centroid per row and its similarity; -1 where below the floor."""
    return nearest_centroid(vectors, centroids, similarity_floor, block_rows=_PREDICT_BLOCK_ROWS)


def _co_association(vectors, similarity, candidate_k, runs_per_k, rng):
    """Share of spherical k-means runs that put each pair of items together."""
    n_items = vectors.shape[0]
    together = np.zeros((n_items, n_items), dtype=np.float32)
    n_runs = 0
    # Thousands of small matrix products: BLAS threads cost more to wake than
    # they save (ten times slower on a busy 2-core machine), so use one.
    with threadpool_limits(limits=1, user_api="blas"):
        for n_clusters in candidate_k:
            for _ in range(runs_per_k):
                assignment = _spherical_kmeans(vectors, similarity, n_clusters, rng)
                # Add one per pair within each cluster; cheaper than comparing all n^2 pairs.
                order = np.argsort(assignment, kind="stable")
                bounds = np.searchsorted(assignment[order], np.arange(n_clusters + 1))
                for start, stop in zip(bounds[:-1], bounds[1:]):
                    members = order[start:stop]
                    together[np.ix_(members, members)] += 1.0
                n_runs += 1
    together /= n_runs
    return together


def _cut_consensus(co_association, consensus_threshold):
    """Average-linkage groups whose members were together often enough."""
    n_items = co_association.shape[0]
    if n_items < 2:
        return np.zeros(n_items, dtype=np.intp)
    distance = 1.0 - co_association
    np.fill_diagonal(distance, 0.0)
    # float64 because scipy's linkage works in double precision anyway; the
    # tiny epsilon keeps groups at exactly the threshold together despite
    # rounding in the vote shares.
    tree = linkage(squareform(distance, checks=False).astype(np.float64), method="average")
    groups = fcluster(tree, t=1.0 - consensus_threshold + 1e-9, criterion="distance")
    return groups.astype(np.intp) - 1


def _merge_indistinct_groups(vectors, groups, merge_ratio):
    """Merge groups that are no more alike inside than across, closest pair first.

    Consensus over k up to 2*sqrt(n) cuts a broad, homogeneous group into
    pieces that only chance separates. Two groups merge when their mean
    cross-pair similarity reaches `merge_ratio` times the tighter group's mean
    within-pair similarity. Mean similarities follow from the groups' vector
    sums, so each merge is one row and column update of a small Gram matrix.
    """
    members = np.flatnonzero(groups >= 0)
    group_ids, group_index = np.unique(groups[members], return_inverse=True)
    n_groups = len(group_ids)
    if n_groups < 2:
        return groups
    sums = np.asarray(
        _membership_matrix(group_index, n_groups) @ vectors[members].astype(np.float64)
    )
    gram = sums @ sums.T  # gram[i, j]: summed similarity over all pairs across i and j
    counts = np.bincount(group_index, minlength=n_groups).astype(np.float64)
    # Within-pair sums of the original pieces, for groups too small to judge alone.
    piece_pair_sum = (np.diag(gram) - counts) / 2  # self-pairs add exactly 1 each
    piece_pairs = counts * (counts - 1) / 2
    root = np.arange(n_groups)
    alive = np.ones(n_groups, dtype=bool)
    while alive.sum() > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            within = (np.diag(gram) - counts) / (counts * (counts - 1))
            # A mean over fewer than 6 pairs is too noisy to call a group tight: the
            # closest pair of a homogeneous group, which k-means keeps isolating,
            # would look tighter than the rest and never rejoin it.
            judged = np.where(counts >= _MIN_MEMBERS_TO_JUDGE_TIGHTNESS, within, -np.inf)
            tighter = np.maximum.outer(judged, judged)
            pooled_pairs = np.add.outer(piece_pairs, piece_pairs)
            pooled_within = np.where(
                pooled_pairs > 0,
                np.add.outer(piece_pair_sum, piece_pair_sum) / pooled_pairs,
                np.inf,  # two singletons: nothing to compare with; left to the floor
            )
            tighter = np.where(np.isneginf(tighter), pooled_within, tighter)
            ratio = np.where(tighter > 0, gram / np.outer(counts, counts) / tighter, -np.inf)
        ratio[~alive, :] = -np.inf
        ratio[:, ~alive] = -np.inf
        np.fill_diagonal(ratio, -np.inf)
        keep, absorb = np.unravel_index(np.argmax(ratio), ratio.shape)
        if ratio[keep, absorb] < merge_ratio:
            break
        gram[keep, :] += gram[absorb, :]
        gram[:, keep] += gram[:, absorb]
        counts[keep] += counts[absorb]
        piece_pair_sum[keep] += piece_pair_sum[absorb]
        piece_pairs[keep] += piece_pairs[absorb]
        alive[absorb] = False
        root[root == absorb] = keep
    merged = groups.copy()
    merged[members] = group_ids[root[group_index]]
    return merged


def _by_decreasing_size(groups):
    """Group ids ordered largest first, ties by smallest id (deterministic)."""
    if groups.size == 0:
        return np.zeros(0, dtype=np.intp)
    ids, counts = np.unique(groups, return_counts=True)
    order = np.lexsort((ids, -counts))
    return ids[order]


def _spherical_kmeans(vectors, similarity, n_clusters, rng):
    """Cluster unit vectors by cosine; returns one label per row.

    `similarity` is the items' cosine matrix, already needed for the outlier
    check, which makes k-means++ seeding a table lookup.
    """
    centroids = vectors[_kmeans_plus_plus(similarity, n_clusters, rng)]
    assignment = None
    for _ in range(_MAX_KMEANS_ITERATIONS):
        new_assignment, _ = nearest_centroid(vectors, centroids)
        if assignment is not None and np.array_equal(new_assignment, assignment):
            break
        assignment = new_assignment
        centroids = _unit_rows(_membership_matrix(assignment, n_clusters) @ vectors)
        empty = np.bincount(assignment, minlength=n_clusters) == 0
        if empty.any():
            # Restart empty clusters on the worst-fitting items, as k-means++
            # would have picked them, instead of silently using fewer clusters.
            fit = np.einsum("ij,ij->i", vectors, centroids[assignment])
            centroids[empty] = vectors[np.argsort(fit, kind="stable")[: empty.sum()]]
    return assignment


def _kmeans_plus_plus(similarity, n_clusters, rng):
    """Indices of k-means++ seeds under cosine distance."""
    n_items = similarity.shape[0]
    chosen = [rng.randint(n_items)]
    distance = np.maximum(1.0 - similarity[chosen[0]], 0.0).astype(np.float64)
    for _ in range(1, n_clusters):
        total = distance.sum()
        pick = rng.choice(n_items, p=distance / total) if total > 0 else rng.randint(n_items)
        chosen.append(pick)
        np.minimum(distance, np.maximum(1.0 - similarity[pick], 0.0), out=distance)
    return np.array(chosen)
