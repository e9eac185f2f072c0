-- Entity ids derived from remote ids, and cheaper compression (issue 15).

-- A new entity row's id is derived from (connector, table, remote id), so a
-- record that arrives before the records it references carries their final ids
-- at once. Before this, about half the applications of a backfill were written
-- twice: inserted with `candidate_id` null, then updated when their candidate
-- arrived (15 % of the database's time in `bench sync`). The writer derives the
-- same ids in Rust (`store::entities::entity_id`); this SQL twin fills the
-- references still waiting below, and a test holds the two equal. Rows stored
-- before keep their random ids: the writer looks a reference up by remote id
-- first and derives only when nothing is stored.
create function hiring.entity_id(connector_id text, entity_table text, remote_id text)
returns uuid language sql immutable strict parallel safe as $$
  select encode(set_byte(set_byte(h, 6, (get_byte(h, 6) & 15) | 128),
                         8, (get_byte(h, 8) & 63) | 128), 'hex')::uuid
    from (select substring(sha256(convert_to(
            connector_id || E'\n' || entity_table || E'\n' || remote_id, 'UTF8')) from 1 for 16) as h) d
$$;

update hiring.applications s set candidate_id = hiring.entity_id(s.connector_id, 'candidates', s.candidate_remote_id)
 where s.candidate_id is null and s.candidate_remote_id is not null;
update hiring.applications s set job_id = hiring.entity_id(s.connector_id, 'jobs', s.job_remote_id)
 where s.job_id is null and s.job_remote_id is not null;
update hiring.job_postings s set job_id = hiring.entity_id(s.connector_id, 'jobs', s.job_remote_id)
 where s.job_id is null and s.job_remote_id is not null;
update hiring.interviews s set application_id = hiring.entity_id(s.connector_id, 'applications', s.application_remote_id)
 where s.application_id is null and s.application_remote_id is not null;
update hiring.interviews s set candidate_id = hiring.entity_id(s.connector_id, 'candidates', s.candidate_remote_id)
 where s.candidate_id is null and s.candidate_remote_id is not null;
update hiring.offers s set application_id = hiring.entity_id(s.connector_id, 'applications', s.application_remote_id)
 where s.application_id is null and s.application_remote_id is not null;
update hiring.assessments s set application_id = hiring.entity_id(s.connector_id, 'applications', s.application_remote_id)
 where s.application_id is null and s.application_remote_id is not null;
update hiring.assessments s set candidate_id = hiring.entity_id(s.connector_id, 'candidates', s.candidate_remote_id)
 where s.candidate_id is null and s.candidate_remote_id is not null;
update hiring.reviews s set application_id = hiring.entity_id(s.connector_id, 'applications', s.application_remote_id)
 where s.application_id is null and s.application_remote_id is not null;
update hiring.reviews s set interview_id = hiring.entity_id(s.connector_id, 'interviews', s.interview_remote_id)
 where s.interview_id is null and s.interview_remote_id is not null;
update hiring.background_checks s set candidate_id = hiring.entity_id(s.connector_id, 'candidates', s.candidate_remote_id)
 where s.candidate_id is null and s.candidate_remote_id is not null;

-- Raw provider objects are mostly ids and rarely compress; a row over 2 kB made
-- PostgreSQL try pglz on it anyway (4 % of the machine in a backfill profile,
-- for nothing). lz4 gives up, or succeeds, several times faster. Servers built
-- without lz4 keep pglz.
do $$
declare
  col text;
begin
  foreach col in array array[
    'applications.remote_data', 'assessments.remote_data', 'background_checks.remote_data',
    'candidates.remote_data', 'interviews.remote_data', 'job_postings.remote_data',
    'jobs.remote_data', 'offers.remote_data', 'reviews.remote_data',
    'events.payload', 'events.changes']
  loop
    execute format('alter table hiring.%I alter column %I set compression lz4',
                   split_part(col, '.', 1), split_part(col, '.', 2));
  end loop;
exception when feature_not_supported then
  raise notice 'lz4 is not available on this server; raw data stays compressed with pglz';
end $$;

-- With every reference's id set when it is written, nothing looks references up
-- by remote id any more (merges repoint by id): these indexes only cost each
-- written row an index insert.
drop index hiring.job_postings_job_remote;
drop index hiring.applications_candidate_remote;
drop index hiring.applications_job_remote;
drop index hiring.interviews_application_remote;
drop index hiring.interviews_candidate_remote;
drop index hiring.offers_application_remote;
drop index hiring.assessments_application_remote;
drop index hiring.assessments_candidate_remote;
drop index hiring.reviews_application_remote;
drop index hiring.reviews_interview_remote;
drop index hiring.background_checks_candidate_remote;

-- Normalisers claim by partition (`inbox_part_due`, the same predicate); no
-- query has read this index since, and every delivery paid two inserts into it.
drop index hiring.inbox_due;
