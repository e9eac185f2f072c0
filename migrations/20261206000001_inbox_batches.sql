-- A normaliser's batch is claimed on its partitions, not on each delivery.
-- Marking every claimed delivery 'processing' rewrote the whole row (the body
-- included) and its index entries, since `status` is in the partial indexes'
-- predicates: the drain's most expensive statement. A worker now leases the
-- batch slot of each partition it takes deliveries from, naming the deliveries
-- in `ids`; while the slot is held nobody else claims from that partition (the
-- fence that keeps each entity's changes in arrival order), and a slot whose
-- holder stopped is taken over with its deliveries, which count the attempt
-- that died. The leases are the lease module's (src/store/lease.rs); `batch`
-- names the claim itself, since every worker of a daemon is the same owner and
-- a worker whose slot lapsed and went to another must commit nothing.
-- Daemons of earlier versions do not know the slots: stop them before starting
-- this version (README, "Upgrading").
create table hiring.inbox_batches (
    part             smallint primary key,
    lease_owner      text,
    lease_expires_at timestamptz,
    batch            uuid,
    ids              bigint[] not null default '{}'
);
insert into hiring.inbox_batches (part) select p from generate_series(0, 7) as p;
