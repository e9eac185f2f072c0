-- The ids a full pass saw, one row per committed batch of pages instead of one
-- per id: an unchanged re-poll wrote little else, and a row and an index entry
-- per id were the largest part of its database time (5.6 µs a record). The
-- sweep unnests them into a hash anti-join. Still unlogged: a pass sweeps only
-- while the server that holds these rows has not restarted since it began (a
-- crash empties unlogged tables), and a pass resumed after a restart of the
-- daemon never sweeps. Rows of passes in flight during the upgrade are dropped
-- with the old table; such passes resume, and so never sweep.
drop table hiring.pass_seen;
create unlogged table hiring.pass_seen (
    pass_id      uuid not null,
    connector_id text not null,
    stream       text not null,
    remote_ids   text[] not null
);
-- Ids do not compress: stored out of line without trying.
alter table hiring.pass_seen alter column remote_ids set storage external;
create index pass_seen_pass on hiring.pass_seen (pass_id);
create index pass_seen_stream on hiring.pass_seen (connector_id, stream);
