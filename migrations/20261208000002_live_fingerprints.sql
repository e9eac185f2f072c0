-- The re-poll's lookup of a page's stored fingerprints, as one call (issue 15).
--
-- The lookup must probe the unique index once per id whatever the table's
-- statistics say (during a backfill they lag far behind the table, and a plan
-- made with them scanned every row of the connector for each page). The daemon
-- turned the other plan paths off around the query: begin, two `set_config`
-- calls, the query and commit, five round trips for each page of an unchanged
-- re-poll. The function's own settings do the same in one (`bench sync`:
-- re-poll CPU 20 -> 17 µs a record).
--
-- One branch per entity table, written out: PL/pgSQL keeps each branch's plan
-- for the session, where a query built with `format` was planned at every call
-- (0.57 against 0.43 ms for a page of 100 ids). A new entity table needs its
-- branch (`tests/migrations.rs` calls the function for every table with a
-- `remote_data_hash`).
create function hiring.live_fingerprints(entity_table text, connector text, remote_ids text[])
returns table (remote_id text, remote_data_hash text)
language plpgsql stable
set enable_seqscan = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    case entity_table
    when 'candidates' then return query
        select t.remote_id, t.remote_data_hash from unnest(remote_ids) as r(remote_id)
         cross join lateral (select t.remote_id, t.remote_data_hash from hiring.candidates t
                              where t.connector_id = connector and t.remote_id = r.remote_id
                                and t.deleted_at is null limit 1) t;
    when 'jobs' then return query
        select t.remote_id, t.remote_data_hash from unnest(remote_ids) as r(remote_id)
         cross join lateral (select t.remote_id, t.remote_data_hash from hiring.jobs t
                              where t.connector_id = connector and t.remote_id = r.remote_id
                                and t.deleted_at is null limit 1) t;
    when 'job_postings' then return query
        select t.remote_id, t.remote_data_hash from unnest(remote_ids) as r(remote_id)
         cross join lateral (select t.remote_id, t.remote_data_hash from hiring.job_postings t
                              where t.connector_id = connector and t.remote_id = r.remote_id
                                and t.deleted_at is null limit 1) t;
    when 'applications' then return query
        select t.remote_id, t.remote_data_hash from unnest(remote_ids) as r(remote_id)
         cross join lateral (select t.remote_id, t.remote_data_hash from hiring.applications t
                              where t.connector_id = connector and t.remote_id = r.remote_id
                                and t.deleted_at is null limit 1) t;
    when 'interviews' then return query
        select t.remote_id, t.remote_data_hash from unnest(remote_ids) as r(remote_id)
         cross join lateral (select t.remote_id, t.remote_data_hash from hiring.interviews t
                              where t.connector_id = connector and t.remote_id = r.remote_id
                                and t.deleted_at is null limit 1) t;
    when 'offers' then return query
        select t.remote_id, t.remote_data_hash from unnest(remote_ids) as r(remote_id)
         cross join lateral (select t.remote_id, t.remote_data_hash from hiring.offers t
                              where t.connector_id = connector and t.remote_id = r.remote_id
                                and t.deleted_at is null limit 1) t;
    when 'assessments' then return query
        select t.remote_id, t.remote_data_hash from unnest(remote_ids) as r(remote_id)
         cross join lateral (select t.remote_id, t.remote_data_hash from hiring.assessments t
                              where t.connector_id = connector and t.remote_id = r.remote_id
                                and t.deleted_at is null limit 1) t;
    when 'reviews' then return query
        select t.remote_id, t.remote_data_hash from unnest(remote_ids) as r(remote_id)
         cross join lateral (select t.remote_id, t.remote_data_hash from hiring.reviews t
                              where t.connector_id = connector and t.remote_id = r.remote_id
                                and t.deleted_at is null limit 1) t;
    when 'background_checks' then return query
        select t.remote_id, t.remote_data_hash from unnest(remote_ids) as r(remote_id)
         cross join lateral (select t.remote_id, t.remote_data_hash from hiring.background_checks t
                              where t.connector_id = connector and t.remote_id = r.remote_id
                                and t.deleted_at is null limit 1) t;
    else
        raise exception 'hiring.live_fingerprints has no branch for the table %', entity_table
            using hint = 'an entity table needs its branch in this function';
    end case;
end
$$;
