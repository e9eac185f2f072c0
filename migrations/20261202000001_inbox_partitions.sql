-- Webhook deliveries are normalised by partition of the entity they change
-- (the connector names it when the delivery is acknowledged), so several
-- workers and daemons share one connector's deliveries while each entity's
-- changes still apply in arrival order. The partitions are leased like the
-- sinks' cursors (the one partition scheme, src/store/partition.rs).
-- Deliveries stored before this have no key: they share partition 0 (one
-- ordered lane), as every keyless delivery of a connector shares one.
alter table hiring.inbox add column part smallint not null default 0;

-- Claimed by partition, in arrival order.
create index inbox_part_due on hiring.inbox (part, id)
    where status in ('pending', 'failed', 'processing');
-- The claim's fence: a partition with a delivery in flight is not taken.
drop index hiring.inbox_processing;
create index inbox_processing on hiring.inbox (part) where status = 'processing';

create table hiring.inbox_partitions (
    queue            text not null,
    part             smallint not null,
    lease_owner      text,
    lease_expires_at timestamptz,
    primary key (queue, part)
);
insert into hiring.inbox_partitions (queue, part)
select 'webhooks', p from generate_series(0, 7) as p;
