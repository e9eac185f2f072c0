-- The re-poll's lookup of a page's stored fingerprints, as one call (issue 15).
--
-- The lookup must probe the unique index once per id whatever the table's
-- statistics say (during a backfill they lag far behind the table, and a plan
-- made with them scanned every row of the connector for each page). The daemon
-- turned the other plan paths off around the query: begin, two `set_config`
-- calls, the query and commit, five round trips for each page of an unchanged
-- re-poll. The function's own settings do the same in one (`bench sync`:
-- re-poll CPU 20 -> 17 µs a record).
create function hiring.live_fingerprints(entity_table text, connector text, remote_ids text[])
returns table (remote_id text, remote_data_hash text)
language plpgsql stable
set enable_seqscan = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set search_path = pg_catalog, pg_temp
as $$
begin
    return query execute format(
        'select t.remote_id, t.remote_data_hash
           from unnest($2) as r(remote_id)
           cross join lateral (select t.remote_id, t.remote_data_hash from hiring.%I t
                                where t.connector_id = $1 and t.remote_id = r.remote_id
                                  and t.deleted_at is null
                                limit 1) t',
        entity_table)
    using connector, remote_ids;
end
$$;
