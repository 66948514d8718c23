-- Incidents per quarter for the $top themes of $theme_set with the most burn of all time,
-- every quarter present (zero when the theme did not occur): the heatmap and trend lines.
WITH ti AS MATERIALIZED (
    SELECT theme_id, incident_id, quarter FROM theme_incidents WHERE theme_set = $theme_set
), top_themes AS (
    SELECT ti.theme_id, t.name, sum(b.burn) AS burn_score
    FROM ti JOIN incident_burn b USING (incident_id) JOIN themes t ON t.theme_set = $theme_set AND t.theme_id = ti.theme_id
    GROUP BY ti.theme_id, t.name
    ORDER BY burn_score DESC, ti.theme_id LIMIT $top
), all_quarters AS (
    SELECT DISTINCT quarter FROM postmortems WHERE quarter IS NOT NULL
), counts AS (
    SELECT theme_id, quarter, count(*) AS incidents FROM ti WHERE quarter IS NOT NULL GROUP BY theme_id, quarter
)
SELECT tt.theme_id, tt.name, round(tt.burn_score, 2) AS burn_score, q.quarter, coalesce(c.incidents, 0) AS incidents
FROM top_themes tt CROSS JOIN all_quarters q
LEFT JOIN counts c ON c.theme_id = tt.theme_id AND c.quarter = q.quarter
ORDER BY tt.burn_score DESC, tt.theme_id, q.quarter
