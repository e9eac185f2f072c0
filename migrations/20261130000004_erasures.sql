-- What `hirebridge erase` did, for the operator's records. No personal data:
-- the email is kept only as a SHA-256 hash, so a later request for the same
-- person can be recognised without storing who they are.
create table hiring.erasures (
    id           bigint generated always as identity primary key,
    email_sha256 text not null,
    person_ids   uuid[] not null default '{}',
    counts       jsonb not null default '{}',
    event_id     text,
    requested_by text not null,
    erased_at    timestamptz not null default now()
);
