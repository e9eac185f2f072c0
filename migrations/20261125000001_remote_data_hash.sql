-- The hash of the raw provider object as last written (`remote_data`), next to
-- `content_hash` (of the normalised fields). A change the normalised fields do
-- not see (only `updatedAt` or unmapped raw fields) still refreshes
-- `remote_data` and `remote_updated_at`, quietly; the same object polled again
-- still writes nothing. NULL for rows written before this column: the writer
-- then compares `remote_updated_at` instead, and fills it on the next write.

alter table hiring.candidates        add column remote_data_hash text;
alter table hiring.jobs              add column remote_data_hash text;
alter table hiring.job_postings      add column remote_data_hash text;
alter table hiring.applications      add column remote_data_hash text;
alter table hiring.interviews        add column remote_data_hash text;
alter table hiring.offers            add column remote_data_hash text;
alter table hiring.assessments       add column remote_data_hash text;
alter table hiring.reviews           add column remote_data_hash text;
alter table hiring.background_checks add column remote_data_hash text;
