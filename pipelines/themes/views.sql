-- Theme analytics. Recreated after every theme build.

-- One row per (theme, incident): the unit every count below is made of.
CREATE OR REPLACE VIEW theme_incidents AS
SELECT DISTINCT a.theme_set, a.theme_id, a.incident_id,
       p.incident_date, p.iso_week, p.quarter, p.severity, p.started_at, p.resolved_at,
       p.customers_affected, p.minutes_to_resolve
FROM theme_assignments a JOIN postmortems p USING (incident_id)
WHERE a.theme_id IS NOT NULL;

CREATE OR REPLACE VIEW theme_counts_weekly AS
SELECT theme_set, theme_id, iso_week, count(*) AS incidents
FROM theme_incidents WHERE iso_week IS NOT NULL GROUP BY ALL;

CREATE OR REPLACE VIEW theme_counts_quarterly AS
SELECT theme_set, theme_id, quarter, count(*) AS incidents
FROM theme_incidents WHERE quarter IS NOT NULL GROUP BY ALL;

-- In how many quarters a theme occurred, its longest run of consecutive quarters, and
-- whether it occurred in the latest quarter of the data.
CREATE OR REPLACE VIEW theme_recurrence AS
WITH q AS (
    SELECT DISTINCT theme_set, theme_id, quarter,
           CAST(left(quarter, 4) AS INTEGER) * 4 + CAST(right(quarter, 1) AS INTEGER) - 1 AS qn
    FROM theme_incidents WHERE quarter IS NOT NULL
), runs AS (
    SELECT *, qn - row_number() OVER (PARTITION BY theme_set, theme_id ORDER BY qn) AS run_key FROM q
), streaks AS (
    SELECT theme_set, theme_id, run_key, count(*) AS run_length, max(qn) AS run_end FROM runs GROUP BY ALL
), latest AS (
    SELECT max(CAST(left(quarter, 4) AS INTEGER) * 4 + CAST(right(quarter, 1) AS INTEGER) - 1) AS qn
    FROM postmortems WHERE quarter IS NOT NULL
)
SELECT s.theme_set, s.theme_id,
       (SELECT count(*) FROM q WHERE q.theme_set = s.theme_set AND q.theme_id = s.theme_id) AS quarters_present,
       max(s.run_length) AS longest_streak,
       max(CASE WHEN s.run_end = (SELECT qn FROM latest) THEN s.run_length ELSE 0 END) AS current_streak
FROM streaks s GROUP BY s.theme_set, s.theme_id;

-- Burn score: each incident weighs severity x customer impact x duration, and a theme's
-- score is the sum over its incidents.
--   severity weight  SEV1 8, SEV2 4, SEV3 2, SEV4 (or unknown) 1
--   impact factor    1 + log10(1 + customers_affected)      (unknown: 1)
--   duration factor  1 + log10(1 + minutes_to_resolve / 60) (unknown: 1)
CREATE OR REPLACE VIEW incident_burn AS
SELECT incident_id,
       CASE severity WHEN 'SEV1' THEN 8 WHEN 'SEV2' THEN 4 WHEN 'SEV3' THEN 2 ELSE 1 END
       * (1 + log10(1 + greatest(coalesce(customers_affected, 0), 0)))
       * (1 + log10(1 + greatest(coalesce(minutes_to_resolve, 0), 0) / 60)) AS burn
FROM postmortems;

CREATE OR REPLACE VIEW theme_burn AS
SELECT t.theme_set, t.theme_id, t.name, count(*) AS incidents, round(sum(b.burn), 2) AS burn_score,
       count(*) FILTER (WHERE ti.severity IN ('SEV1', 'SEV2')) AS sev1_sev2
FROM themes t
JOIN theme_incidents ti USING (theme_set, theme_id)
JOIN incident_burn b USING (incident_id)
GROUP BY ALL;

-- Did the fix work? Systemic action items of a theme's incidents that are done, and the
-- other incidents of the same theme that started after the item's deadline (the closest date
-- we have for "closed") and after the fixed incident: a theme that came back after its fixes
-- closed. Action items are per incident, not per cause, so an incident's items count for each
-- theme it joined.
CREATE OR REPLACE VIEW theme_fix_effectiveness AS
WITH later AS (
    SELECT ti.theme_set, ti.theme_id, a.incident_id AS fixed_incident_id, a.action_id,
           list(DISTINCT l.incident_id ORDER BY l.incident_id) FILTER (WHERE l.incident_id IS NOT NULL) AS ids
    FROM theme_incidents ti
    JOIN action_items a ON a.incident_id = ti.incident_id AND a.kind = 'systemic'
    LEFT JOIN theme_incidents l
           ON l.theme_set = ti.theme_set AND l.theme_id = ti.theme_id AND l.incident_id <> ti.incident_id
          AND l.incident_date > a.deadline AND l.incident_date > ti.incident_date
    GROUP BY ALL
)
SELECT l.theme_set, l.theme_id, l.fixed_incident_id, l.action_id, a.text AS action_text, a.owner, a.deadline,
       a.status, coalesce(len(l.ids), 0) AS incidents_after, coalesce(l.ids, []) AS incident_ids_after
FROM later l JOIN action_items a USING (action_id);

CREATE OR REPLACE VIEW theme_came_back AS
SELECT theme_set, theme_id,
       count(*) FILTER (WHERE status = 'done') AS fixes_done,
       count(*) FILTER (WHERE coalesce(status, 'open') <> 'done') AS fixes_open,
       max(deadline) FILTER (WHERE status = 'done') AS last_fix_closed,
       bool_or(status = 'done' AND incidents_after > 0) AS came_back_after_fix
FROM theme_fix_effectiveness GROUP BY ALL;

-- Themes that occur together within one incident.
CREATE OR REPLACE VIEW theme_cooccurrence AS
SELECT a.theme_set, a.theme_id AS theme_a, b.theme_id AS theme_b, count(DISTINCT a.incident_id) AS incidents
FROM theme_incidents a
JOIN theme_incidents b ON a.incident_id = b.incident_id AND a.theme_set = b.theme_set AND a.theme_id < b.theme_id
GROUP BY ALL;
