-- Every running daemon heartbeats here. A lease (on a stream, an inbox row or a
-- sink delivery) is held only while its owner heartbeats and has not stopped:
-- a daemon killed with -9 loses its leases within seconds, and one that stops
-- cleanly releases them at once.
create table hiring.daemons (
    owner        text primary key,
    host         text not null,
    pid          integer not null,
    version      text not null,
    started_at   timestamptz not null default now(),
    heartbeat_at timestamptz not null default now(),
    stopped_at   timestamptz
);
