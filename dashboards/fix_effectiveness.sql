-- Systemic action items aimed at $theme_set's themes (view theme_fixes), with how many of the
-- theme's incidents started after both the item's deadline and the incident it came from: the count of the
-- theme_fix_effectiveness view, taken from each theme's running incident count by an as-of
-- join instead of a join per item.
-- Done items that the theme came back after come first; `total` counts every item.
WITH ti AS MATERIALIZED (
    SELECT theme_id, incident_id, incident_date FROM theme_incidents WHERE theme_set = $theme_set
), running AS (
    SELECT theme_id, incident_date, sum(count(*)) OVER (PARTITION BY theme_id ORDER BY incident_date) AS up_to
    FROM ti WHERE incident_date IS NOT NULL GROUP BY theme_id, incident_date
), dated AS (
    SELECT theme_id, count(incident_date) AS dated FROM ti GROUP BY theme_id
), fixes AS (
    SELECT theme_id, fixed_incident_id AS incident_id, action_id, action_text AS text, owner, deadline, status,
           -- unknown when either date is (greatest() would skip the missing one)
           CASE WHEN deadline IS NOT NULL AND fixed_incident_date IS NOT NULL
                THEN greatest(deadline, fixed_incident_date) END AS fixed_after
    FROM theme_fixes WHERE theme_set = $theme_set
), counted AS (
    SELECT f.*, CASE WHEN f.fixed_after IS NULL THEN 0 ELSE d.dated - coalesce(r.up_to, 0) END AS incidents_after
    FROM fixes f
    ASOF LEFT JOIN running r ON r.theme_id = f.theme_id AND f.fixed_after >= r.incident_date
    JOIN dated d ON d.theme_id = f.theme_id
)
SELECT c.theme_id, t.name, c.incident_id AS fixed_incident_id, c.action_id, c.text AS action_text, c.owner,
       c.deadline, c.status, c.incidents_after::INTEGER AS incidents_after, count(*) OVER () AS total
FROM counted c JOIN themes t ON t.theme_set = $theme_set AND t.theme_id = c.theme_id
ORDER BY c.status = 'done' AND c.incidents_after > 0 DESC, c.incidents_after DESC, c.theme_id, c.action_id
LIMIT $limit
