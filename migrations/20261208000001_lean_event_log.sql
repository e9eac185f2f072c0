-- The event log keeps each event's data once; its envelope is rebuilt (issue 15).
--
-- An event's `payload` repeated, beside its data, what its own columns hold: id,
-- type, timestamp, source (connector, provider, remote id, via) and changes,
-- about 285 of an event's 1,500 bytes in `bench sync`, parsed and written again
-- for every record. The table becomes `hiring.event_log`, where new events keep
-- their canonical object in `data` and leave `payload` null;
-- `hiring.events` becomes a view with the table's former columns and `payload`
-- rebuilt from the columns: exactly the envelope the writer would have stored
-- (the same jsonb, so the same bytes to sinks; the timestamp is `occurred_at` in
-- UTC to the millisecond, truncated, as the daemon formats it). Every query that
-- read the log reads it as before. Events written before this migration keep
-- their stored payload, which the view returns as is: nothing is rewritten on
-- upgrade. Writers (the daemon, and anyone loading events) insert into
-- `hiring.event_log`.
alter table hiring.events rename to event_log;
alter table hiring.event_log alter column payload drop not null;
alter table hiring.event_log add column data jsonb;

comment on column hiring.event_log.payload is
    'The envelope as stored by versions before 20261208000001; null since (the view hiring.events rebuilds it).';
comment on column hiring.event_log.data is
    'The canonical object after the change: the envelope''s data (null for events with a stored payload).';

-- The envelope is written out here, over the columns (a function of the whole
-- row would copy every row it is asked about).
create view hiring.events as
    select l.id, l.seq, l.type, l.connector_id, l.provider, l.entity_type, l.entity_id,
           l.remote_id, l.via, l.occurred_at,
           coalesce(l.payload, jsonb_build_object(
               'id', l.id,
               'type', l.type,
               'timestamp', to_char(l.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'source', jsonb_build_object(
                   'connector', l.connector_id,
                   'provider', l.provider,
                   'remote_id', l.remote_id,
                   'via', l.via),
               'data', l.data,
               'changes', l.changes)) as payload,
           l.changes, l.dedup_key, l.created_at, l.xid, l.part
      from hiring.event_log l;

comment on view hiring.events is
    'The event log with each event''s envelope (payload) as sinks deliver it.';

-- A rename keeps what was attached to the table with the table: its grants stay
-- on hiring.event_log. Whoever could read the event table can read the view.
do $$
declare r record;
begin
  for r in select distinct a.grantee
             from pg_class c, aclexplode(c.relacl) a
            where c.oid = 'hiring.event_log'::regclass and a.privilege_type = 'SELECT'
  loop
    execute format('grant select on hiring.events to %s',
                   case when r.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(r.grantee)) end);
  end loop;
end $$;

-- Triggers, publications and views an operator built on the old table follow it
-- too, and there new events have a null payload: say so, by name.
do $$
declare dependents text;
begin
  select string_agg(what, ', ') into dependents from (
      select format('trigger %I', t.tgname) as what
        from pg_trigger t
       where t.tgrelid = 'hiring.event_log'::regclass and not t.tgisinternal
      union
      select format('publication %I', p.pubname)
        from pg_publication_rel pr join pg_publication p on p.oid = pr.prpubid
       where pr.prrelid = 'hiring.event_log'::regclass
      union
      select format('view %s', rw.ev_class::regclass)
        from pg_depend d join pg_rewrite rw on rw.oid = d.objid
       where d.classid = 'pg_rewrite'::regclass
         and d.refobjid = 'hiring.event_log'::regclass
         and rw.ev_class <> 'hiring.events'::regclass
  ) x;
  if dependents is not null then
    raise warning 'hiring.events is now a view over the table hiring.event_log, where new events keep their data in "data" and a null "payload"; these follow the table and may need to read the view instead: %', dependents;
  end if;
end $$;

-- Like the payload it replaces (20261204000001): lz4 where the server has it.
do $$
begin
  alter table hiring.event_log alter column data set compression lz4;
exception when feature_not_supported then
  raise notice 'lz4 is not available on this server; event data stays compressed with pglz';
end $$;
