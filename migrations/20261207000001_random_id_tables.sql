-- References resolve by derivation alone where no random ids are stored (issue 15).
--
-- Every entity row written since 20261204000001 has the id derived from its
-- remote id, so a reference is its target's derived id. Only rows stored before
-- that keep random ids, and for those the writer looked every reference up by
-- remote id: two index probes per application, 15 µs of its 68 µs insert in
-- `bench sync` (EXPLAIN ANALYZE of the statement on 40k rows). The lookup now
-- runs only for the reference targets listed here, the tables found holding a
-- row whose id is not derived. An empty database lists none.
--
-- The list only ever shrinks: this version derives every new id. Daemons of
-- versions before 20261204000001 wrote random ids; stop them before starting
-- this version (README, "Upgrading"). `hiring.note_random_id_tables()` looks
-- again (it reads every row of the four targets) and returns what it found.
create table hiring.random_id_tables (
    table_name text primary key
        check (table_name in ('candidates', 'jobs', 'applications', 'interviews'))
);

create function hiring.note_random_id_tables() returns setof text
language plpgsql as $$
declare
    t text;
    found boolean;
begin
    foreach t in array array['candidates', 'jobs', 'applications', 'interviews'] loop
        execute format(
            'select exists (select 1 from hiring.%I
                             where id is distinct from hiring.entity_id(connector_id, %L, remote_id)
                               and connector_id is not null and remote_id is not null)', t, t)
           into found;
        if found then
            insert into hiring.random_id_tables (table_name) values (t) on conflict do nothing;
            return next t;
        else
            delete from hiring.random_id_tables where table_name = t;
        end if;
    end loop;
end
$$;

select hiring.note_random_id_tables();
