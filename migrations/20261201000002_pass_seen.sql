-- Remote ids a full poll pass has seen, for its deletion sweep: kept in the
-- database instead of the daemon's memory, so a stream of any size costs the
-- same memory. Unlogged: after a crash the pass resumes, and a resumed pass
-- never sweeps, so losing these rows loses nothing.
create unlogged table hiring.pass_seen (
    pass_id      uuid not null,
    connector_id text not null,
    stream       text not null,
    remote_id    text not null,
    primary key (pass_id, remote_id)
);
create index pass_seen_stream on hiring.pass_seen (connector_id, stream);
