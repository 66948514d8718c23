-- Theme analytics. Recreated after every theme build.

-- One row per (theme, incident): the unit every count below is made of.
CREATE OR REPLACE VIEW theme_incidents AS
SELECT a.theme_set, a.theme_id, a.incident_id,
       p.incident_date, p.iso_week, p.quarter, p.severity, p.started_at, p.resolved_at,
       p.customers_affected, p.minutes_to_resolve
FROM (SELECT DISTINCT theme_set, theme_id, incident_id FROM theme_assignments WHERE theme_id IS NOT NULL) a
JOIN postmortems p USING (incident_id);

CREATE OR REPLACE VIEW theme_counts_weekly AS
SELECT theme_set, theme_id, iso_week, count(*) AS incidents
FROM theme_incidents WHERE iso_week IS NOT NULL GROUP BY ALL;

CREATE OR REPLACE VIEW theme_counts_quarterly AS
SELECT theme_set, theme_id, quarter, count(*) AS incidents
FROM theme_incidents WHERE quarter IS NOT NULL GROUP BY ALL;

-- Every metric below is defined once, as a table macro `<name>_as_of(as_of)` that counts only
-- the incidents that started by the DATE `as_of` (the reports pass their period's last day),
-- and a view `<name>` over the macro with no date (every incident, undated ones included): the
-- state now. The dashboard, the reports, the CLI and the documented queries all read these.

CREATE OR REPLACE MACRO theme_incidents_as_of(as_of := NULL) AS TABLE
SELECT * FROM theme_incidents WHERE as_of IS NULL OR incident_date <= as_of;

-- In how many quarters a theme occurred (and which), its longest run of consecutive quarters,
-- and its run ending in the latest quarter with any incident (as of the date).
CREATE OR REPLACE MACRO theme_recurrence_as_of(as_of := NULL) AS TABLE
WITH q AS (
    SELECT DISTINCT theme_set, theme_id, quarter,
           CAST(left(quarter, 4) AS INTEGER) * 4 + CAST(right(quarter, 1) AS INTEGER) - 1 AS qn
    FROM theme_incidents_as_of(as_of) WHERE quarter IS NOT NULL
), runs AS (
    SELECT *, qn - row_number() OVER (PARTITION BY theme_set, theme_id ORDER BY qn) AS run_key FROM q
), streaks AS (
    SELECT theme_set, theme_id, run_key, count(*) AS run_length, max(qn) AS run_end,
           list(quarter ORDER BY qn) AS run_quarters
    FROM runs GROUP BY ALL
), latest AS (
    SELECT max(CAST(left(quarter, 4) AS INTEGER) * 4 + CAST(right(quarter, 1) AS INTEGER) - 1) AS qn
    FROM postmortems WHERE quarter IS NOT NULL AND (as_of IS NULL OR incident_date <= as_of)
)
SELECT s.theme_set, s.theme_id,
       sum(s.run_length)::BIGINT AS quarters_present,
       max(s.run_length) AS longest_streak,
       max(CASE WHEN s.run_end = l.qn THEN s.run_length ELSE 0 END) AS current_streak,
       flatten(list(s.run_quarters ORDER BY s.run_end)) AS quarters
FROM streaks s CROSS JOIN latest l GROUP BY s.theme_set, s.theme_id;

CREATE OR REPLACE VIEW theme_recurrence AS SELECT * FROM theme_recurrence_as_of();

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

-- Per theme: its incidents (of quarter `in_quarter` only, when given), their summed burn
-- (`burn`; `burn_score` rounded to 2 places), how many were SEV1/SEV2, the latest, and their
-- ids from the most burning down.
CREATE OR REPLACE MACRO theme_burn_as_of(as_of := NULL, in_quarter := NULL) AS TABLE
SELECT t.theme_set, t.theme_id, t.name, count(*) AS incidents, round(sum(b.burn), 2) AS burn_score,
       count(*) FILTER (WHERE ti.severity IN ${HIGH_SEVERITIES}) AS sev1_sev2,
       sum(b.burn) AS burn, max(ti.incident_date) AS last_incident,
       list(ti.incident_id ORDER BY b.burn DESC, ti.incident_id) AS incident_ids
FROM themes t
JOIN theme_incidents_as_of(as_of) ti USING (theme_set, theme_id)
JOIN incident_burn b USING (incident_id)
WHERE in_quarter IS NULL OR ti.quarter = in_quarter
GROUP BY t.theme_set, t.theme_id, t.name;

CREATE OR REPLACE VIEW theme_burn AS SELECT * FROM theme_burn_as_of();

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

-- Did the fix work? For each fix of a theme (of an incident that started by the date), the
-- other incidents of the same theme that started after both the item's deadline (the closest
-- date we have for "closed") and the fixed incident, that is after `fixed_after` (unknown when
-- either date is). Counted by an as-of join on each theme's count of incidents from each day
-- on, not by a join per item. The incidents themselves: theme_incidents WHERE incident_date > fixed_after.
CREATE OR REPLACE MACRO theme_fix_effectiveness_as_of(as_of := NULL) AS TABLE
WITH from_day AS (
    SELECT theme_set, theme_id, incident_date,
           sum(count(*)) OVER (PARTITION BY theme_set, theme_id ORDER BY incident_date DESC) AS from_here
    FROM theme_incidents_as_of(as_of) WHERE incident_date IS NOT NULL
    GROUP BY theme_set, theme_id, incident_date
), fixes AS (
    SELECT *,
           -- greatest() would skip a missing date
           CASE WHEN deadline IS NOT NULL AND fixed_incident_date IS NOT NULL
                THEN greatest(deadline, fixed_incident_date) END AS fixed_after
    FROM theme_fixes WHERE as_of IS NULL OR fixed_incident_date <= as_of
)
SELECT f.theme_set, f.theme_id, f.fixed_incident_id, f.action_id, f.action_text, f.owner, f.deadline, f.status,
       f.fixed_after, coalesce(r.from_here, 0)::INTEGER AS incidents_after
FROM fixes f
ASOF LEFT JOIN from_day r ON r.theme_set = f.theme_set AND r.theme_id = f.theme_id AND r.incident_date > f.fixed_after;

CREATE OR REPLACE VIEW theme_fix_effectiveness AS SELECT * FROM theme_fix_effectiveness_as_of();

-- Per theme with fixes: how many are done and open, how many of the open ones were past their
-- deadline (at the end of the as-of day; now, without one), the latest deadline of a done fix,
-- whether the theme came back after a done fix, the earliest deadline of a done fix it came
-- back after, and the incidents that did (after the first done fix, latest id first).
CREATE OR REPLACE MACRO theme_came_back_as_of(as_of := NULL) AS TABLE
WITH per_theme AS (
    SELECT theme_set, theme_id,
           count(*) FILTER (WHERE status = 'done') AS fixes_done,
           count(*) FILTER (WHERE status <> 'done') AS fixes_open,
           count(*) FILTER (WHERE status <> 'done' AND deadline < coalesce(CAST(as_of AS DATE) + 1, current_date)) AS fixes_overdue,
           max(deadline) FILTER (WHERE status = 'done') AS last_fix_closed,
           coalesce(bool_or(status = 'done' AND incidents_after > 0), false) AS came_back_after_fix,
           min(deadline) FILTER (WHERE status = 'done' AND incidents_after > 0) AS first_fix_closed_before_return,
           min(fixed_after) FILTER (WHERE status = 'done') AS first_done_fixed_after
    FROM theme_fix_effectiveness_as_of(as_of) GROUP BY ALL
), returned AS (
    SELECT p.theme_set, p.theme_id, list(DISTINCT ti.incident_id ORDER BY ti.incident_id DESC) AS ids
    FROM per_theme p JOIN theme_incidents_as_of(as_of) ti
      ON ti.theme_set = p.theme_set AND ti.theme_id = p.theme_id AND ti.incident_date > p.first_done_fixed_after
    GROUP BY ALL
)
SELECT p.theme_set, p.theme_id, p.fixes_done, p.fixes_open, p.fixes_overdue, p.last_fix_closed,
       p.came_back_after_fix, p.first_fix_closed_before_return, coalesce(r.ids, []) AS came_back_incident_ids
FROM per_theme p LEFT JOIN returned r USING (theme_set, theme_id);

CREATE OR REPLACE VIEW theme_came_back AS SELECT * FROM theme_came_back_as_of();

-- Rising themes, for each ISO week given by a day of it in `week_ends` (a DATE list; the
-- reports pass Sundays): the themes with at least ${RISING_MIN_RECENT} incidents in the ${RISING_RECENT_WEEKS} weeks ending with that
-- week and at least ${RISING_FACTOR} times what their rate over the ${RISING_BASELINE_WEEKS} weeks before predicts
-- (`expected`); a theme quiet in the baseline rises with any ${RISING_MIN_RECENT} recent incidents.
-- Counted from incidents per theme and week, then the rising themes' recent incidents listed.
-- The numbers: pipelines/postmortems/policy.py.
CREATE OR REPLACE MACRO rising_themes(week_ends) AS TABLE
WITH weeks AS (
    SELECT DISTINCT CAST(date_trunc('week', CAST(day AS DATE)) AS DATE) + 6 AS week_end
    FROM (SELECT unnest(week_ends) AS day)
), per_week AS (
    SELECT theme_set, theme_id, CAST(date_trunc('week', incident_date) AS DATE) + 6 AS week_end,
           count(*) AS incidents
    FROM theme_incidents WHERE incident_date IS NOT NULL
    GROUP BY ALL
), counted AS (
    SELECT w.week_end, c.theme_set, c.theme_id,
           coalesce(sum(c.incidents) FILTER (WHERE c.week_end > w.week_end - 7 * ${RISING_RECENT_WEEKS}), 0)::BIGINT
               AS recent,
           coalesce(sum(c.incidents) FILTER (WHERE c.week_end <= w.week_end - 7 * ${RISING_RECENT_WEEKS}), 0)::BIGINT
               AS baseline
    FROM weeks w
    JOIN per_week c ON c.week_end > w.week_end - 7 * (${RISING_RECENT_WEEKS} + ${RISING_BASELINE_WEEKS})
                   AND c.week_end <= w.week_end
    GROUP BY ALL
), rising AS (
    SELECT *, baseline * ${RISING_RECENT_WEEKS} / ${RISING_BASELINE_WEEKS} AS expected FROM counted
    WHERE recent >= ${RISING_MIN_RECENT}
      AND recent >= ${RISING_FACTOR} * (baseline * ${RISING_RECENT_WEEKS} / ${RISING_BASELINE_WEEKS})
)
SELECT r.week_end, r.theme_set, r.theme_id, t.name, t.first_seen, r.recent, r.baseline, r.expected,
       list(ti.incident_id ORDER BY ti.incident_id) AS recent_ids
FROM rising r
JOIN themes t USING (theme_set, theme_id)
JOIN theme_incidents ti ON ti.theme_set = r.theme_set AND ti.theme_id = r.theme_id
 AND ti.incident_date > r.week_end - 7 * ${RISING_RECENT_WEEKS} AND ti.incident_date <= r.week_end
GROUP BY r.week_end, r.theme_set, r.theme_id, t.name, t.first_seen, r.recent, r.baseline, r.expected;

-- Themes that occur together within one incident.
CREATE OR REPLACE VIEW theme_cooccurrence AS
SELECT a.theme_set, a.theme_id AS theme_a, b.theme_id AS theme_b, count(DISTINCT a.incident_id) AS incidents
FROM theme_incidents a
JOIN theme_incidents b ON a.incident_id = b.incident_id AND a.theme_set = b.theme_set AND a.theme_id < b.theme_id
GROUP BY ALL;
