-- A leaner write per record (issue 15), from `bench sync` profiles
-- (pg_stat_statements, EXPLAIN ANALYZE of a 100-row upsert).

-- Entity rows keep their raw provider object inline up to a full page. With the
-- default (2 kB) a typical application (2.5 kB, its `remote_data` 1.7 kB and
-- barely compressible) was compressed in vain and then moved to the TOAST
-- table: a second heap insert and index insert per row, a third of the upsert.
alter table hiring.candidates        set (toast_tuple_target = 8160);
alter table hiring.jobs              set (toast_tuple_target = 8160);
alter table hiring.job_postings      set (toast_tuple_target = 8160);
alter table hiring.applications      set (toast_tuple_target = 8160);
alter table hiring.interviews        set (toast_tuple_target = 8160);
alter table hiring.offers            set (toast_tuple_target = 8160);
alter table hiring.reviews           set (toast_tuple_target = 8160);
alter table hiring.background_checks set (toast_tuple_target = 8160);
alter table hiring.assessments       set (toast_tuple_target = 8160);

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
