-- Views for the common questions. Recreated on every run, so they always match the tables.

-- The 72-hour rule (pipelines/postmortems/policy.py): SQL reads it from here, never as a literal.
CREATE OR REPLACE MACRO postmortem_deadline_hours() AS ${POSTMORTEM_DEADLINE_HOURS};
-- 1 when published within the deadline, 0 when later, NULL when not published (or no resolution).
CREATE OR REPLACE MACRO published_in_time(hours_to_postmortem) AS
    CASE WHEN hours_to_postmortem IS NULL THEN NULL
         WHEN hours_to_postmortem <= postmortem_deadline_hours() THEN 1 ELSE 0 END;

CREATE OR REPLACE VIEW incidents AS
SELECT p.incident_id, p.title, p.status, p.severity, p.team, p.services, p.publication,
       p.started_at, p.resolved_at, p.incident_date, p.iso_week, p.quarter,
       p.minutes_to_detect, p.minutes_to_mitigate, p.minutes_to_resolve, p.hours_to_postmortem,
       p.customers_affected, p.completeness, p.new_eval_case_id,
       m.provider, m.model, m.model_version, m.temperature, m.top_p, m.max_tokens, m.system_prompt_version,
       (SELECT count(*) FROM root_causes r WHERE r.incident_id = p.incident_id) AS root_cause_count,
       p.source_path
FROM postmortems p LEFT JOIN model_configs m USING (incident_id);

CREATE OR REPLACE VIEW root_causes_by_quarter AS
SELECT p.quarter, r.category, count(*) AS causes, count(DISTINCT r.incident_id) AS incidents
FROM root_causes r JOIN postmortems p USING (incident_id)
WHERE p.quarter IS NOT NULL
GROUP BY ALL;

CREATE OR REPLACE VIEW overdue_action_items AS
SELECT a.incident_id, p.title AS incident_title, a.action_id, a.text, a.owner, a.deadline, a.status,
       current_date - a.deadline AS days_overdue
FROM action_items a JOIN postmortems p USING (incident_id)
WHERE a.kind = 'systemic' AND coalesce(a.status, 'open') <> 'done' AND a.deadline < current_date;

CREATE OR REPLACE VIEW late_postmortems AS
SELECT incident_id, title, team, resolved_at, postmortem_published_at, hours_to_postmortem
FROM postmortems
WHERE hours_to_postmortem > postmortem_deadline_hours();

-- Resolved by `as_of` (default: now) but not published by then: due within the deadline
-- after resolution, overdue after. A free-form document (no front matter) is itself the
-- write-up, whatever date it gives or leaves out: it is never due.
CREATE OR REPLACE MACRO postmortems_due_as_of(as_of := NULL) AS TABLE
SELECT incident_id, title, team, status, resolved_at, incident_date,
       resolved_at + INTERVAL (postmortem_deadline_hours()) HOUR AS due_at,
       coalesce(as_of, now()) > resolved_at + INTERVAL (postmortem_deadline_hours()) HOUR AS overdue
FROM postmortems
WHERE has_front_matter AND resolved_at < coalesce(as_of, now())
  AND (postmortem_published_at IS NULL OR postmortem_published_at >= coalesce(as_of, now()));

CREATE OR REPLACE VIEW postmortems_due AS
SELECT * EXCLUDE (incident_date) FROM postmortems_due_as_of();

CREATE OR REPLACE VIEW incidents_without_eval_case AS
SELECT incident_id, title, team, status, quarter
FROM postmortems
WHERE new_eval_case_id IS NULL AND new_eval_case_checks IS NULL;

CREATE OR REPLACE VIEW postmortem_health AS
SELECT quarter,
       count(*) AS postmortems,
       round(avg(completeness), 3) AS avg_completeness,
       round(avg(published_in_time(hours_to_postmortem)), 3) AS share_within_72h,
       count(*) FILTER (WHERE incident_id IN (SELECT incident_id FROM lint_findings WHERE rule_id = 'EL006')) AS with_blame_language,
       count(*) FILTER (WHERE incident_id IN (SELECT incident_id FROM lint_findings WHERE rule_id = 'EL007')) AS with_sensitive_data,
       count(*) FILTER (WHERE new_eval_case_id IS NULL AND new_eval_case_checks IS NULL) AS without_eval_case
FROM postmortems
GROUP BY quarter;
