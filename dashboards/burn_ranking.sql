-- Themes of $theme_set ranked by burn over one quarter ($quarter) or all time (NULL), with
-- recurrence over all quarters and whether the theme came back after its fixes.
--
-- Same meaning as the views theme_burn, theme_recurrence and theme_came_back
-- (pipelines/themes/views.sql), which the tests check, computed from one scan of
-- theme_incidents: the views recompute it at every reference and count "incidents after
-- each fix" with a subquery per action item, tens of seconds at 10,000 post-mortems.
-- A theme came back when one of its incidents started after both the deadline of one of its
-- done systemic action items and the incident that item came from, that is, when the earliest
-- such date precedes the theme's latest incident.
WITH ti AS MATERIALIZED (
    SELECT theme_id, incident_id, quarter, severity, incident_date
    FROM theme_incidents WHERE theme_set = $theme_set
), burn AS (
    SELECT ti.theme_id, count(*) AS incidents, round(sum(b.burn), 2) AS burn_score,
           count(*) FILTER (WHERE ti.severity IN ('SEV1', 'SEV2')) AS sev1_sev2,
           max(ti.incident_date) AS last_incident
    FROM ti JOIN incident_burn b USING (incident_id)
    WHERE $quarter IS NULL OR ti.quarter = $quarter
    GROUP BY ti.theme_id
), quarter_numbers AS (
    SELECT DISTINCT theme_id, CAST(left(quarter, 4) AS INTEGER) * 4 + CAST(right(quarter, 1) AS INTEGER) - 1 AS qn
    FROM ti WHERE quarter IS NOT NULL
), runs AS (
    SELECT theme_id, qn, qn - row_number() OVER (PARTITION BY theme_id ORDER BY qn) AS run_key FROM quarter_numbers
), streaks AS (
    SELECT theme_id, run_key, count(*) AS run_length, max(qn) AS run_end FROM runs GROUP BY theme_id, run_key
), latest_quarter AS (
    SELECT max(CAST(left(quarter, 4) AS INTEGER) * 4 + CAST(right(quarter, 1) AS INTEGER) - 1) AS qn
    FROM postmortems WHERE quarter IS NOT NULL
), recurrence AS (
    SELECT s.theme_id, sum(s.run_length) AS quarters_present, max(s.run_length) AS longest_streak,
           max(CASE WHEN s.run_end = l.qn THEN s.run_length ELSE 0 END) AS current_streak
    FROM streaks s CROSS JOIN latest_quarter l GROUP BY s.theme_id
), last_incident AS (
    SELECT theme_id, max(incident_date) AS last_incident FROM ti GROUP BY theme_id
), fixes AS (
    SELECT theme_id, deadline, status,
           -- unknown when either date is (greatest() would skip the missing one)
           CASE WHEN deadline IS NOT NULL AND fixed_incident_date IS NOT NULL
                THEN greatest(deadline, fixed_incident_date) END AS fixed_after
    FROM theme_fixes WHERE theme_set = $theme_set
), came_back AS (
    SELECT f.theme_id,
           count(*) FILTER (WHERE f.status = 'done') AS fixes_done,
           count(*) FILTER (WHERE f.status <> 'done') AS fixes_open,
           max(f.deadline) FILTER (WHERE f.status = 'done') AS last_fix_closed,
           coalesce(min(f.fixed_after) FILTER (WHERE f.status = 'done') < any_value(l.last_incident), false)
               AS came_back_after_fix
    FROM fixes f JOIN last_incident l USING (theme_id)
    GROUP BY f.theme_id
)
SELECT t.theme_id, t.name, t.top_category, burn.incidents, round(burn.burn_score, 1) AS burn_score,
       round(t.stability, 2) AS stability,
       burn.sev1_sev2, r.quarters_present, r.longest_streak, r.current_streak,
       coalesce(cb.fixes_done, 0) AS fixes_done, coalesce(cb.fixes_open, 0) AS fixes_open,
       coalesce(cb.came_back_after_fix, false) AS came_back_after_fix, cb.last_fix_closed, burn.last_incident
FROM burn
JOIN themes t ON t.theme_set = $theme_set AND t.theme_id = burn.theme_id
LEFT JOIN recurrence r ON r.theme_id = burn.theme_id
LEFT JOIN came_back cb ON cb.theme_id = burn.theme_id
ORDER BY burn_score DESC, incidents DESC, t.theme_id
