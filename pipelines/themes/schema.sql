-- Theme tables. Contract for SQL users, reports and the dashboard: see docs/themes.md.
-- theme_set is 'root_cause' (root causes) or 'eval_gap' (eval coverage gaps).

CREATE TABLE IF NOT EXISTS theme_items (
    theme_set   VARCHAR,
    item_id     VARCHAR,      -- root_causes.cause_id or eval_gaps.gap_id
    incident_id VARCHAR,
    text        VARCHAR,      -- exactly the text that was embedded
    text_hash   VARCHAR,
    category    VARCHAR,      -- the root cause's category (NULL for eval gaps)
    PRIMARY KEY (theme_set, item_id)
);

CREATE TABLE IF NOT EXISTS theme_assignments (
    theme_set   VARCHAR,
    item_id     VARCHAR,
    incident_id VARCHAR,
    theme_id    VARCHAR,      -- NULL when unclustered; after curation (data/themes.yaml)
    cluster_theme_id VARCHAR, -- the clustering's own theme before curation: what the next run matches against
    similarity  DOUBLE,       -- cosine to the theme centroid
    status      VARCHAR,      -- clustered | pinned | unclustered | one_incident (a group within too few incidents)
    reason      VARCHAR,      -- why unclustered or one_incident (or 'pinned in data/themes.yaml')
    PRIMARY KEY (theme_set, item_id)
);

CREATE TABLE IF NOT EXISTS themes (
    theme_set         VARCHAR,
    theme_id          VARCHAR,   -- stable across runs: RC-001.. for root causes, EG-001.. for eval gaps
    name              VARCHAR,   -- a phrase from the theme's own texts, or the curated name
    name_source       VARCHAR,   -- generated | curated
    keywords          VARCHAR[],
    representative_item_ids VARCHAR[],   -- three items closest to the centroid
    representative_texts    VARCHAR[],
    category_mix      VARCHAR,   -- JSON object {category: share}
    top_category      VARCHAR,
    n_items           INTEGER,
    n_incidents       INTEGER,
    incident_ids      VARCHAR[],
    first_seen        DATE,      -- earliest incident_date
    last_seen         DATE,
    centroid          FLOAT[],
    stability         DOUBLE,    -- mean bootstrap Jaccard (pipelines/themes/stability.py); < 0.75 unstable
    PRIMARY KEY (theme_set, theme_id)
);
-- Warehouses built before stability was measured.
ALTER TABLE themes ADD COLUMN IF NOT EXISTS stability DOUBLE;

CREATE TABLE IF NOT EXISTS theme_lineage (
    run_id      VARCHAR,
    run_at      TIMESTAMPTZ,
    theme_set   VARCHAR,
    theme_id    VARCHAR,
    event       VARCHAR,      -- new | continued | merged | split | retired
    related_theme_ids VARCHAR[],  -- merged: the themes merged into this one; split: the theme it split from
    n_items     INTEGER,
    detail      VARCHAR
);

CREATE TABLE IF NOT EXISTS similar_incidents (
    incident_id         VARCHAR,
    rank                INTEGER,   -- 1 = most similar
    similar_incident_id VARCHAR,
    similarity          DOUBLE,    -- cosine of the incidents' mean root-cause vectors
    PRIMARY KEY (incident_id, rank)
);

-- Which item of its incident each systemic action item addresses (pipelines/themes/fixes.py):
-- the root cause it fixes, and the eval gap it closes. The basis of theme_fixes.
CREATE TABLE IF NOT EXISTS action_item_links (
    theme_set   VARCHAR,
    action_id   VARCHAR,      -- action_items.action_id (kind 'systemic')
    incident_id VARCHAR,
    item_id     VARCHAR,      -- theme_items.item_id of the same incident
    similarity  DOUBLE,       -- cosine of action text and item text; NULL when the incident has one item
    PRIMARY KEY (theme_set, action_id)
);
