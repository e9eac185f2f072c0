-- Who shares a partitioned queue: each daemon working a queue's scope (a
-- sink) is a member; partitions are balanced among the live members only, so
-- a daemon that does not deliver a sink (a `hirebridge sync` run) does not
-- take a share of it.
create table hiring.partition_members (
    queue  text not null,
    scope  text not null,
    owner  text not null,
    joined_at timestamptz not null default now(),
    primary key (queue, scope, owner)
);
