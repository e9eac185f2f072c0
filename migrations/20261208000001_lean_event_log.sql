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

-- Like the payload it replaces (20261204000001): lz4 where the server has it.
do $$
begin
  alter table hiring.event_log alter column data set compression lz4;
exception when feature_not_supported then
  raise notice 'lz4 is not available on this server; event data stays compressed with pglz';
end $$;
