-- The warehouse contract. Table names are what SQL users and the dashboard rely on:
-- change them only with a note in docs/warehouse.md.

CREATE TABLE IF NOT EXISTS postmortems (
    incident_id            VARCHAR PRIMARY KEY,
    title                  VARCHAR,
    status                 VARCHAR,      -- draft | in-review | published
    severity               VARCHAR,      -- SEV1 (worst) .. SEV4
    started_at             TIMESTAMPTZ,
    detected_at            TIMESTAMPTZ,
    mitigated_at           TIMESTAMPTZ,
    resolved_at            TIMESTAMPTZ,
    postmortem_published_at TIMESTAMPTZ,
    team                   VARCHAR,
    services               VARCHAR[],
    customer_impact        VARCHAR,
    customers_affected     BIGINT,
    requests_affected      BIGINT,
    publication            VARCHAR,      -- internal | external
    tags                   VARCHAR[],
    summary                VARCHAR,
    new_eval_case_id       VARCHAR,
    new_eval_case_checks   VARCHAR,
    minutes_to_detect      DOUBLE,       -- detected_at - started_at
    minutes_to_mitigate    DOUBLE,       -- mitigated_at - started_at
    minutes_to_resolve     DOUBLE,       -- resolved_at - started_at
    hours_to_postmortem    DOUBLE,       -- postmortem_published_at - resolved_at (72 h rule)
    incident_date          DATE,         -- started_at, else the first date known
    iso_week               VARCHAR,      -- e.g. 2026-W14, of incident_date
    quarter                VARCHAR,      -- e.g. 2026-Q2, of incident_date
    completeness           DOUBLE,       -- share of the 10 required sections present and not empty
    missing_sections       VARCHAR[],
    has_front_matter       BOOLEAN,
    source_path            VARCHAR,      -- relative to the post-mortem store
    content_hash           VARCHAR,      -- sha256 of the file bytes
    markdown               VARCHAR,
    ingested_at            TIMESTAMPTZ,
    -- Where each date came from: front matter | timeline | text | title (NULL when the date is)
    started_at_source      VARCHAR,
    detected_at_source     VARCHAR,
    mitigated_at_source    VARCHAR,
    resolved_at_source     VARCHAR,
    published_at_source    VARCHAR,
    incident_date_source   VARCHAR       -- as above, "text (published)" for a fallback, or "file name"
);

-- What the parser did not understand, per file: headings mapped to no section, headings
-- mapped by meaning (the embedding model), sections found empty, no start date.
CREATE TABLE IF NOT EXISTS parse_notes (
    incident_id VARCHAR,
    source_path VARCHAR,
    line        INTEGER,
    kind        VARCHAR,   -- unmapped_heading | heading_by_meaning | empty_section | no_start_date | future_date
    detail      VARCHAR
);

CREATE TABLE IF NOT EXISTS timeline_events (
    incident_id VARCHAR, seq INTEGER, occurred_at TIMESTAMPTZ,
    kind VARCHAR,                        -- change | detection | diagnosis | mitigation | resolution | other
    text VARCHAR, line INTEGER,
    PRIMARY KEY (incident_id, seq)
);

CREATE TABLE IF NOT EXISTS root_causes (
    cause_id VARCHAR PRIMARY KEY,        -- <incident_id>#<seq>
    incident_id VARCHAR, seq INTEGER,
    title VARCHAR,
    category VARCHAR,                    -- prompt | retrieval | model | config | upstream-provider | data | infrastructure | process | other
    category_source VARCHAR,             -- explicit | inferred
    description VARCHAR,
    evals_missed_why VARCHAR,
    line INTEGER
);

CREATE TABLE IF NOT EXISTS eval_gaps (
    gap_id VARCHAR PRIMARY KEY,          -- <incident_id>#g<seq>
    incident_id VARCHAR, seq INTEGER,
    text VARCHAR,
    source VARCHAR,                      -- analysis (gap analysis section) | root_cause (a cause's why-missed)
    line INTEGER
);

CREATE TABLE IF NOT EXISTS action_items (
    action_id VARCHAR PRIMARY KEY,       -- <incident_id>#a<seq>
    incident_id VARCHAR, seq INTEGER,
    kind VARCHAR,                        -- immediate | eval_case | systemic
    text VARCHAR, owner VARCHAR, deadline DATE,
    status VARCHAR,                      -- open | in-progress | done
    line INTEGER
);

CREATE TABLE IF NOT EXISTS prompt_diffs (
    incident_id VARCHAR, seq INTEGER,
    before_text VARCHAR, after_text VARCHAR, diff_text VARCHAR, line INTEGER,
    PRIMARY KEY (incident_id, seq)
);

CREATE TABLE IF NOT EXISTS sample_outputs (
    incident_id VARCHAR, seq INTEGER, text VARCHAR, line INTEGER,
    PRIMARY KEY (incident_id, seq)
);

CREATE TABLE IF NOT EXISTS model_configs (
    incident_id VARCHAR PRIMARY KEY,
    provider VARCHAR, model VARCHAR, model_version VARCHAR,
    temperature DOUBLE, top_p DOUBLE, max_tokens INTEGER,
    system_prompt_version VARCHAR, retrieval_index_version VARCHAR
);

CREATE TABLE IF NOT EXISTS lint_findings (
    source_path VARCHAR, incident_id VARCHAR, line INTEGER,
    rule_id VARCHAR, rule VARCHAR, severity VARCHAR, message VARCHAR, hint VARCHAR
);

CREATE TABLE IF NOT EXISTS ingest_issues (
    source_path VARCHAR, line INTEGER,
    kind VARCHAR,                        -- malformed_yaml, invalid_date, duplicate_id, not_utf8, empty_file, ...
    severity VARCHAR,                    -- error: the file did not load | warning: it loaded with gaps
    loaded BOOLEAN,
    message VARCHAR,
    recorded_at TIMESTAMPTZ
);

-- Incremental state: what each file looked like when it was last read.
CREATE TABLE IF NOT EXISTS source_files (
    source_path VARCHAR PRIMARY KEY,
    size BIGINT, mtime_ns BIGINT, content_hash VARCHAR,
    incident_id VARCHAR,                 -- the id the file claims (loaded or not)
    status VARCHAR,                      -- loaded | duplicate_kept | duplicate_rejected | error | skipped_asset
    read_at TIMESTAMPTZ
);
