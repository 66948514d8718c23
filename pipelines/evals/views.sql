-- Coverage per eval-gap theme: how many of the theme's incidents became a regression case in
-- the suite, and how those cases did in their latest run. Needs the theme tables.
CREATE OR REPLACE VIEW eval_gap_theme_coverage AS
WITH theme_members AS (
    SELECT DISTINCT theme_id, incident_id
    FROM theme_assignments
    WHERE theme_set = 'eval_gap' AND theme_id IS NOT NULL
)
SELECT m.theme_id, t.name,
       count(*) AS incidents,
       count(*) FILTER (WHERE s.status = 'present') AS cases_present,
       count(*) FILTER (WHERE s.status = 'missing') AS cases_missing,
       count(*) FILTER (WHERE s.status = 'not_named' OR s.status IS NULL) AS cases_not_named,
       count(*) FILTER (WHERE s.outcome = 'passing') AS passing,
       count(*) FILTER (WHERE s.outcome = 'failing') AS failing,
       count(*) FILTER (WHERE s.ran_recently) AS ran_recently,
       round(count(*) FILTER (WHERE s.status = 'present') / count(*), 3) AS coverage,
       coalesce(list(m.incident_id ORDER BY m.incident_id) FILTER (WHERE s.outcome = 'failing'), [])
           AS failing_incidents,
       coalesce(list(m.incident_id ORDER BY m.incident_id)
                    FILTER (WHERE s.status IS DISTINCT FROM 'present'), []) AS uncovered_incidents
FROM theme_members m
JOIN themes t ON t.theme_set = 'eval_gap' AND t.theme_id = m.theme_id
LEFT JOIN eval_case_status s USING (incident_id)
GROUP BY ALL;
