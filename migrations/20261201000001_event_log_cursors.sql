-- Sinks read the event log by cursor instead of a row per (sink, event).
--
-- Every event carries the id of the transaction that wrote it (`xid`) and the
-- partition of its entity (`part`). A sink keeps one cursor per partition, a
-- position (xid, seq) in the log read in that order, and reads only events
-- whose transaction is older than every transaction still running
-- (pg_snapshot_xmin): those can never be joined by a late-committing event,
-- so the cursor never passes an event that is not visible yet. Only failures
-- write rows (`delivery_holds`): the failed event of an entity and the later
-- events of that entity, held behind it in log order.

-- Which of the 8 partitions an entity key (`entity_type:entity_id`) belongs
-- to. One scheme for every partitioned queue; the Rust side says the same
-- (store::partition::PARTITIONS).
create function hiring.partition_of(entity_key text) returns smallint
    language sql immutable parallel safe
    as $$ select (hashtextextended(entity_key, 0) & 7)::smallint $$;

-- Existing events read as written by transaction 1: older than any to come.
alter table hiring.events add column xid xid8 not null default '1';
alter table hiring.events alter column xid set default pg_current_xact_id();
alter table hiring.events add column part smallint not null
    generated always as (hiring.partition_of(entity_type || ':' || entity_id::text)) stored;
create index events_log on hiring.events (part, xid, seq);

-- A sink's position in each partition, leased to the daemon delivering it.
create table hiring.sink_cursors (
    sink_id          text not null,
    part             smallint not null,
    xid              xid8 not null,
    seq              bigint not null,
    lease_owner      text,
    lease_expires_at timestamptz,
    updated_at       timestamptz not null default now(),
    primary key (sink_id, part)
);

-- Events a sink could not deliver yet: the failed event of an entity and
-- every later event of that entity (`waiting`), retried on the sink's
-- schedule; `dead` once the schedule ran out (dead letters hold nothing back).
create table hiring.delivery_holds (
    sink_id         text not null,
    event_seq       bigint not null,
    event_id        text not null references hiring.events (id) on delete cascade,
    entity_key      text not null,
    part            smallint not null,
    status          text not null default 'waiting' check (status in ('waiting', 'failed', 'dead')),
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_status     integer,
    last_error      text,
    created_at      timestamptz not null default now(),
    primary key (sink_id, event_seq)
);
create index delivery_holds_entity on hiring.delivery_holds (sink_id, part, entity_key, event_seq)
    where status <> 'dead';
create index delivery_holds_dead on hiring.delivery_holds (sink_id) where status = 'dead';

-- Existing sinks continue where they were: their cursors stand where every
-- earlier event was queued for them for certain (`last_seq`), events after
-- that are read from the log (some may go a second time), and what they had
-- queued but not delivered becomes held.
insert into hiring.sink_cursors (sink_id, part, xid, seq)
select s.sink_id, p::smallint, '1'::xid8, s.last_seq
  from hiring.sink_state s cross join generate_series(0, 7) p;
insert into hiring.delivery_holds (sink_id, event_seq, event_id, entity_key, part, status,
                                   attempts, next_attempt_at, last_status, last_error, created_at)
select d.sink_id, d.event_seq, d.event_id, d.entity_key, hiring.partition_of(d.entity_key),
       case d.status when 'dead' then 'dead' when 'failed' then 'failed' else 'waiting' end,
       d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at
  from hiring.deliveries d
 where d.status <> 'delivered';
drop table hiring.deliveries;
alter table hiring.sink_state drop column last_seq, drop column enqueued_seq;
