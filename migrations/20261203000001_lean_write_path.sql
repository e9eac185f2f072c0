-- A leaner write per record (issue 15), from `bench sync` profiles
-- (pg_stat_statements, EXPLAIN ANALYZE of a 100-row upsert).

-- References between entities are kept by the writer, not by foreign keys: a
-- `*_id` is only ever set from the row it names in the same statement, entity
-- rows are never hard-deleted (deletion is `deleted_at`; erasure blanks rows in
-- place and clears `person_id` before it deletes the person). Each key cost a
-- trigger per written row, a quarter of the applications upsert.
alter table hiring.candidates drop constraint candidates_person_id_fkey;
alter table hiring.job_postings drop constraint job_postings_job_id_fkey;
alter table hiring.applications drop constraint applications_candidate_id_fkey;
alter table hiring.applications drop constraint applications_job_id_fkey;
alter table hiring.application_stage_changes drop constraint application_stage_changes_application_id_fkey;
alter table hiring.interviews drop constraint interviews_application_id_fkey;
alter table hiring.interviews drop constraint interviews_candidate_id_fkey;
alter table hiring.offers drop constraint offers_application_id_fkey;
alter table hiring.assessments drop constraint assessments_application_id_fkey;
alter table hiring.assessments drop constraint assessments_candidate_id_fkey;
alter table hiring.reviews drop constraint reviews_application_id_fkey;
alter table hiring.reviews drop constraint reviews_interview_id_fkey;
alter table hiring.background_checks drop constraint background_checks_candidate_id_fkey;
alter table hiring.background_checks drop constraint background_checks_person_id_fkey;

-- Indexes no query reads since sinks read the log by cursor: retention goes by
-- partition and cursor, replay selects by id, entity or `occurred_at`.
drop index hiring.events_created;
drop index hiring.events_type;
