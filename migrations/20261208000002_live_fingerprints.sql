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
-- One branch per entity table, each a static query: PL/pgSQL keeps each
-- branch's plan for the session, where a query built with `format` at each call
-- was planned every time (0.57 against 0.43 ms for a page of 100 ids).
-- `hiring.define_live_fingerprints()` writes the function from one template, a
-- branch for every table with a `remote_data_hash`; a migration that adds an
-- entity table calls it again (`tests/migrations.rs` calls the lookup for every
-- such table).
create function hiring.define_live_fingerprints() returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $define$
declare
    branches text;
begin
    select string_agg(format(
               $branch$
    when %L then return query
        select t.remote_id, t.remote_data_hash from unnest(remote_ids) as r(remote_id)
         cross join lateral (select t.remote_id, t.remote_data_hash from hiring.%I t
                              where t.connector_id = connector and t.remote_id = r.remote_id
                                and t.deleted_at is null limit 1) t;$branch$,
               t.relname, t.relname), '' order by t.relname)
      into branches
      from pg_class t
      join pg_attribute a on a.attrelid = t.oid
     where t.relnamespace = 'hiring'::regnamespace and t.relkind in ('r', 'p')
       and a.attname = 'remote_data_hash' and not a.attisdropped;
    execute format($function$
create or replace function hiring.live_fingerprints(entity_table text, connector text, remote_ids text[])
returns table (remote_id text, remote_data_hash text)
language plpgsql stable
set enable_seqscan = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set search_path = pg_catalog, pg_temp
as $body$
#variable_conflict use_column
begin
    case entity_table%s
    else
        raise exception 'hiring.live_fingerprints has no branch for the table %%', entity_table
            using hint = 'an entity table needs its branch: select hiring.define_live_fingerprints()';
    end case;
end
$body$$function$, coalesce(branches, ''));
end
$define$;

select hiring.define_live_fingerprints();
