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

-- The systemic action items aimed at each theme: an item counts for the theme of the root
-- cause (or eval gap) it addresses, not for every theme its incident joined
-- (action_item_links, pipelines/themes/fixes.py). Status as recorded; a missing one is open.
CREATE OR REPLACE VIEW theme_fixes AS
SELECT ta.theme_set, ta.theme_id, a.action_id, a.incident_id AS fixed_incident_id,
       p.incident_date AS fixed_incident_date, a.text AS action_text, a.owner, a.deadline,
       coalesce(a.status, 'open') AS status
FROM action_item_links l
JOIN theme_assignments ta ON ta.theme_set = l.theme_set AND ta.item_id = l.item_id AND ta.theme_id IS NOT NULL
JOIN action_items a ON a.action_id = l.action_id
JOIN postmortems p ON p.incident_id = a.incident_id;

-- Did the fix work? For each fix of a theme, the other incidents of the same theme that
-- started after the item's deadline (the closest date we have for "closed") and after the
-- fixed incident: a theme that came back after its fixes closed.
CREATE OR REPLACE VIEW theme_fix_effectiveness AS
WITH later AS (
    SELECT f.theme_set, f.theme_id, f.action_id,
           list(DISTINCT l.incident_id ORDER BY l.incident_id) FILTER (WHERE l.incident_id IS NOT NULL) AS ids
    FROM theme_fixes f
    LEFT JOIN theme_incidents l
           ON l.theme_set = f.theme_set AND l.theme_id = f.theme_id AND l.incident_id <> f.fixed_incident_id
          AND l.incident_date > f.deadline AND l.incident_date > f.fixed_incident_date
    GROUP BY ALL
)
SELECT f.theme_set, f.theme_id, f.fixed_incident_id, f.action_id, f.action_text, f.owner, f.deadline,
       f.status, coalesce(len(l.ids), 0) AS incidents_after, coalesce(l.ids, []) AS incident_ids_after
FROM theme_fixes f JOIN later l USING (theme_set, theme_id, action_id);

CREATE OR REPLACE VIEW theme_came_back AS
SELECT theme_set, theme_id,
       count(*) FILTER (WHERE status = 'done') AS fixes_done,
       count(*) FILTER (WHERE status <> 'done') AS fixes_open,
       max(deadline) FILTER (WHERE status = 'done') AS last_fix_closed,
       bool_or(status = 'done' AND incidents_after > 0) AS came_back_after_fix
FROM theme_fix_effectiveness GROUP BY ALL;

-- Themes that occur together within one incident.
CREATE OR REPLACE VIEW theme_cooccurrence AS
SELECT a.theme_set, a.theme_id AS theme_a, b.theme_id AS theme_b, count(DISTINCT a.incident_id) AS incidents
FROM theme_incidents a
JOIN theme_incidents b ON a.incident_id = b.incident_id AND a.theme_set = b.theme_set AND a.theme_id < b.theme_id
GROUP BY ALL;
