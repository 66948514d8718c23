"""How far a theme, and a figure about themes or quarters, can be trusted.

Stability (Hennig 2007, "Cluster-wise assessment of cluster stability", the method of R's
`fpc::clusterboot` with subsetting): cluster random 80% subsamples of the items again and,
for each theme, take the Jaccard similarity of its members in the subsample with the most
similar cluster of the re-run; a theme's stability is the mean over rounds. Hennig calls a
cluster with a mean Jaccard of 0.75 or more stable, and below 0.5 "dissolved". A quarterly
comparison assumes the theme would still be there after a small change in the data; an
unstable theme is marked wherever it is shown.

Cost: each round is one more fit of the clusterer on the vectors already computed (no
embedding), and the clusterer caps what it fits on (`max_fit_items`), so five rounds on a
history of 10,000 post-mortems cost about five fits of 2,000 items (see the README's
benchmarks). Hennig uses more rounds; five already separate stable themes (near 1) from
chance groupings (near 0.3), and the figure is reported to two decimals, not ranked on.

Small numbers: a share, median or spread per quarter or per theme that rests on fewer than
`FEW_INCIDENTS` incidents moves with a single incident; reports and the dashboard mark such
figures rather than hide them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# Hennig's threshold for a stable cluster.
STABLE_JACCARD = 0.75
SUBSAMPLE_SHARE = 0.8
BOOTSTRAP_ROUNDS = 5
# Figures based on fewer incidents than this are marked as small numbers.
FEW_INCIDENTS = 5
SMALL_NUMBER_NOTE = f"based on fewer than {FEW_INCIDENTS} incidents"


def is_few(n_incidents: int | None) -> bool:
    """True when a figure rests on too few incidents to compare (see `FEW_INCIDENTS`)."""
    return n_incidents is None or n_incidents < FEW_INCIDENTS


def is_unstable(stability: float | None) -> bool:
    """True for a measured stability below Hennig's 0.75; an unmeasured one is not flagged."""
    return stability is not None and stability == stability and stability < STABLE_JACCARD


def bootstrap_labelings(n_items: int, fit_labels: Callable[[np.ndarray, int], np.ndarray], *,
                        rounds: int = BOOTSTRAP_ROUNDS, share: float = SUBSAMPLE_SHARE,
                        random_state: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(subsample indices, labels of the re-run) for each round; -1 labels are noise.

    `fit_labels(indices, seed)` clusters the items at `indices` (sorted positions among the
    `n_items`) and returns one label per index; each round gets its own seed so that the
    re-runs differ in their random starts as well as in their items.
    """
    rng = np.random.RandomState(random_state)
    size = int(round(share * n_items))
    runs = []
    if size < 2:
        return runs
    for round_number in range(rounds):
        sample = np.sort(rng.choice(n_items, size=size, replace=False))
        runs.append((sample, np.asarray(fit_labels(sample, random_state + 1 + round_number))))
    return runs


def theme_stability(members: Sequence[Sequence[int]],
                    runs: list[tuple[np.ndarray, np.ndarray]]) -> list[float | None]:
    """Mean best-match Jaccard of each theme (a list of item positions) over the rounds.

    A round in which none of a theme's items was drawn does not count; a theme never drawn
    (or no rounds at all) gets None. Noise (-1) in the re-run is not a cluster, so members the
    re-run left unclustered lower the Jaccard, as in clusterboot's treatment of noise.
    """
    totals = [0.0] * len(members)
    counts = [0] * len(members)
    for sample, labels in runs:
        position = {int(item): k for k, item in enumerate(sample)}
        clusters: dict[int, set[int]] = {}
        for k, label in enumerate(labels):
            if label >= 0:
                clusters.setdefault(int(label), set()).add(k)
        for t, theme_members in enumerate(members):
            drawn = {position[i] for i in theme_members if i in position}
            if not drawn:
                continue
            best = max((len(drawn & c) / len(drawn | c) for c in clusters.values()), default=0.0)
            totals[t] += best
            counts[t] += 1
    return [round(totals[t] / counts[t], 4) if counts[t] else None for t in range(len(members))]


def main_theme_stability(stabilities: Sequence[float | None], sizes: Sequence[int],
                         share_of_items: float = 0.5) -> float | None:
    """Mean stability of the largest themes that together hold `share_of_items` of the
    clustered items: the themes a reader meets first (the benchmark's stability figure)."""
    order = sorted(range(len(sizes)), key=lambda t: -sizes[t])
    total, held, picked = sum(sizes), 0, []
    for t in order:
        if total and held >= share_of_items * total:
            break
        if stabilities[t] is not None:
            picked.append(stabilities[t])
        held += sizes[t]
    return round(float(np.mean(picked)), 4) if picked else None


def caution(n_incidents: int | None = None, stability: float | None = None) -> str:
    """What a reader should know before comparing this figure: "" when nothing, else e.g.
    "unstable theme (stability 0.42); few incidents (3)". The one wording reports and the
    dashboard use."""
    notes = []
    if is_unstable(stability):
        notes.append(f"unstable theme (stability {stability:.2f})")
    if n_incidents is not None and is_few(n_incidents):
        notes.append(f"few incidents ({n_incidents})")
    return "; ".join(notes)
