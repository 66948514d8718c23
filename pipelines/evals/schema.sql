-- The eval suite linked to the incidents (pipelines/evals). Rebuilt on every run from the
-- suite and results folders: these tables are a snapshot, not history.

CREATE TABLE IF NOT EXISTS eval_case_status (
    incident_id      VARCHAR PRIMARY KEY,
    title            VARCHAR,
    team             VARCHAR,
    owner            VARCHAR,      -- the eval case action item's owner, else the post-mortem's team
    severity         VARCHAR,
    incident_date    DATE,
    quarter          VARCHAR,
    source_path      VARCHAR,      -- the post-mortem, relative to the store
    promised_case    VARCHAR,      -- the post-mortem's `Eval case:` (new_eval_case_id)
    status           VARCHAR,      -- present | missing | not_named | unchecked (no readable suite configured)
    matched_by       VARCHAR,      -- path | file_name | case_id, when present
    suite_file       VARCHAR,      -- the matching file, relative to the suite folder
    case_id          VARCHAR,      -- the case id inside it, when matched by case id
    last_run_at      TIMESTAMPTZ,  -- latest result linked to this incident
    last_passed      BOOLEAN,      -- every scored sample of that run passed
    runs             INTEGER,      -- distinct runs linked to this incident
    result_file      VARCHAR,      -- the results file of the latest run
    ran_recently     BOOLEAN,      -- latest run within recent_days of checked_at
    outcome          VARCHAR,      -- passing | failing | not_run | missing | not_named | unchecked
    checked_at       TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS eval_results (
    source_file  VARCHAR,          -- relative to the results folder
    framework    VARCHAR,          -- inspect | promptfoo
    run_id       VARCHAR,
    task         VARCHAR,
    dataset      VARCHAR,
    ran_at       TIMESTAMPTZ,
    case_id      VARCHAR,          -- Inspect sample id, promptfoo metadata.case_id or test description
    incident_id  VARCHAR,          -- the incident this result is the regression test of, when linked
    linked_by    VARCHAR,          -- metadata | case_id | dataset
    passed       BOOLEAN,
    score        DOUBLE,
    model        VARCHAR
);

CREATE TABLE IF NOT EXISTS eval_issues (
    source_file  VARCHAR,          -- suite or results file (relative), or the folder itself
    line         INTEGER,
    kind         VARCHAR,          -- suite_missing | suite_unreadable | case_file_unreadable | malformed_case_file
                                   -- | unknown_incident | results_missing | results_unreadable | malformed_results
                                   -- | inspect_version | unknown_results_file
    severity     VARCHAR,          -- error: not used | warning: used, but look
    message      VARCHAR,
    recorded_at  TIMESTAMPTZ
);
