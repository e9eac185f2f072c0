-- The unified hiring schema (docs/schema.md describes every table and column).
--
-- Entity tables share the common columns: our id, the connector and the
-- provider's id (unique together), the provider's timestamps, the provider's raw
-- object, the hash of the normalised content (change detection), and our own
-- bookkeeping. Typed columns carry the canonical fields under the same names as
-- the connector SDK's types; canonical statuses are CHECK-constrained to the
-- SDK's values. References between entities keep the provider's id (`*_remote_id`)
-- and our id (`*_id`), resolved whenever both sides are present, so records may
-- arrive in any order.

create schema if not exists hiring;

-- One human across every connector, by normalised email.
create table hiring.persons (
    id               uuid primary key default gen_random_uuid(),
    email_normalized text not null unique,
    phone_normalized text,
    display_name     text,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);

create table hiring.candidates (
    id                uuid primary key default gen_random_uuid(),
    connector_id      text not null,
    remote_id         text not null,
    remote_created_at timestamptz,
    remote_updated_at timestamptz,
    remote_data       jsonb not null default '{}',
    content_hash      text not null,
    first_seen_at     timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    deleted_at        timestamptz,
    name              text,
    first_name        text,
    last_name         text,
    email             text,
    emails            text[] not null default '{}',
    phone             text,
    phones            text[] not null default '{}',
    company           text,
    title             text,
    location          text,
    source            text,
    tags              text[] not null default '{}',
    profile_url       text,
    linkedin_url      text,
    email_normalized  text,
    person_id         uuid references hiring.persons (id) on delete set null,
    unique (connector_id, remote_id)
);
create index candidates_email_normalized on hiring.candidates (email_normalized);
create index candidates_person on hiring.candidates (person_id);

create table hiring.jobs (
    id                uuid primary key default gen_random_uuid(),
    connector_id      text not null,
    remote_id         text not null,
    remote_created_at timestamptz,
    remote_updated_at timestamptz,
    remote_data       jsonb not null default '{}',
    content_hash      text not null,
    first_seen_at     timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    deleted_at        timestamptz,
    title             text,
    status            text check (status in ('draft', 'open', 'closed', 'archived')),
    employment_type   text check (employment_type in ('full_time', 'part_time', 'contract', 'intern', 'temporary', 'other')),
    department        text,
    location          text,
    workplace_type    text check (workplace_type in ('on_site', 'hybrid', 'remote')),
    confidential      boolean not null default false,
    requisition_id    text,
    opened_at         timestamptz,
    closed_at         timestamptz,
    hiring_team       jsonb not null default '[]',
    unique (connector_id, remote_id)
);

create table hiring.job_postings (
    id                uuid primary key default gen_random_uuid(),
    connector_id      text not null,
    remote_id         text not null,
    remote_created_at timestamptz,
    remote_updated_at timestamptz,
    remote_data       jsonb not null default '{}',
    content_hash      text not null,
    first_seen_at     timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    deleted_at        timestamptz,
    job_remote_id     text,
    job_id            uuid references hiring.jobs (id) on delete set null,
    title             text,
    is_listed         boolean,
    department        text,
    location          text,
    workplace_type    text check (workplace_type in ('on_site', 'hybrid', 'remote')),
    employment_type   text check (employment_type in ('full_time', 'part_time', 'contract', 'intern', 'temporary', 'other')),
    published_at      timestamptz,
    apply_url         text,
    external_url      text,
    unique (connector_id, remote_id)
);
create index job_postings_job_remote on hiring.job_postings (connector_id, job_remote_id);
create index job_postings_job on hiring.job_postings (job_id);

create table hiring.applications (
    id                  uuid primary key default gen_random_uuid(),
    connector_id        text not null,
    remote_id           text not null,
    remote_created_at   timestamptz,
    remote_updated_at   timestamptz,
    remote_data         jsonb not null default '{}',
    content_hash        text not null,
    first_seen_at       timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    deleted_at          timestamptz,
    candidate_remote_id text,
    candidate_id        uuid references hiring.candidates (id) on delete set null,
    job_remote_id       text,
    job_id              uuid references hiring.jobs (id) on delete set null,
    status              text check (status in ('lead', 'active', 'hired', 'rejected', 'withdrawn', 'archived')),
    stage_remote_id     text,
    stage_name          text,
    stage_category      text check (stage_category in ('applied', 'screening', 'assessment', 'interview', 'offer', 'hired', 'rejected', 'withdrawn')),
    source              text,
    archive_reason      text,
    applied_at          timestamptz,
    archived_at         timestamptz,
    hired_at            timestamptz,
    credited_to         text,
    hiring_team         jsonb not null default '[]',
    unique (connector_id, remote_id)
);
create index applications_candidate_remote on hiring.applications (connector_id, candidate_remote_id);
create index applications_candidate on hiring.applications (candidate_id);
create index applications_job_remote on hiring.applications (connector_id, job_remote_id);
create index applications_job on hiring.applications (job_id);
create index applications_stage_category on hiring.applications (stage_category) where deleted_at is null;

-- Every stage an application entered, from polls and webhooks alike.
create table hiring.application_stage_changes (
    id                    bigint generated always as identity primary key,
    connector_id          text not null,
    application_id        uuid not null references hiring.applications (id) on delete cascade,
    application_remote_id text not null,
    from_stage            text,
    from_category         text check (from_category in ('applied', 'screening', 'assessment', 'interview', 'offer', 'hired', 'rejected', 'withdrawn')),
    to_stage              text,
    to_category           text check (to_category in ('applied', 'screening', 'assessment', 'interview', 'offer', 'hired', 'rejected', 'withdrawn')),
    changed_at            timestamptz not null,
    event_id              text,
    created_at            timestamptz not null default now()
);
create index application_stage_changes_application on hiring.application_stage_changes (application_id, changed_at);

create table hiring.interviews (
    id                    uuid primary key default gen_random_uuid(),
    connector_id          text not null,
    remote_id             text not null,
    remote_created_at     timestamptz,
    remote_updated_at     timestamptz,
    remote_data           jsonb not null default '{}',
    content_hash          text not null,
    first_seen_at         timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    deleted_at            timestamptz,
    application_remote_id text,
    application_id        uuid references hiring.applications (id) on delete set null,
    candidate_remote_id   text,
    candidate_id          uuid references hiring.candidates (id) on delete set null,
    stage_name            text,
    title                 text,
    status                text check (status in ('awaiting_scheduling', 'scheduled', 'awaiting_feedback', 'completed', 'cancelled', 'no_show', 'on_hold', 'unknown')),
    starts_at             timestamptz,
    ends_at               timestamptz,
    location              text,
    meeting_url           text,
    interviewers          jsonb not null default '[]',
    unique (connector_id, remote_id)
);
create index interviews_application_remote on hiring.interviews (connector_id, application_remote_id);
create index interviews_application on hiring.interviews (application_id);
create index interviews_candidate_remote on hiring.interviews (connector_id, candidate_remote_id);
create index interviews_candidate on hiring.interviews (candidate_id);

create table hiring.offers (
    id                    uuid primary key default gen_random_uuid(),
    connector_id          text not null,
    remote_id             text not null,
    remote_created_at     timestamptz,
    remote_updated_at     timestamptz,
    remote_data           jsonb not null default '{}',
    content_hash          text not null,
    first_seen_at         timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    deleted_at            timestamptz,
    application_remote_id text,
    application_id        uuid references hiring.applications (id) on delete set null,
    status                text check (status in ('draft', 'pending_approval', 'approved', 'extended', 'accepted', 'declined', 'cancelled')),
    -- numeric, never float: money.
    salary_amount         numeric,
    salary_currency       text,
    start_date            date,
    extended_at           timestamptz,
    decided_at            timestamptz,
    version               text,
    unique (connector_id, remote_id)
);
create index offers_application_remote on hiring.offers (connector_id, application_remote_id);
create index offers_application on hiring.offers (application_id);

create table hiring.assessments (
    id                    uuid primary key default gen_random_uuid(),
    connector_id          text not null,
    remote_id             text not null,
    remote_created_at     timestamptz,
    remote_updated_at     timestamptz,
    remote_data           jsonb not null default '{}',
    content_hash          text not null,
    first_seen_at         timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    deleted_at            timestamptz,
    application_remote_id text,
    application_id        uuid references hiring.applications (id) on delete set null,
    candidate_remote_id   text,
    candidate_id          uuid references hiring.candidates (id) on delete set null,
    title                 text,
    kind                  text,
    status                text check (status in ('invited', 'in_progress', 'submitted', 'completed', 'expired', 'cancelled')),
    score                 double precision,
    max_score             double precision,
    result                text,
    url                   text,
    submitted_at          timestamptz,
    completed_at          timestamptz,
    unique (connector_id, remote_id)
);
create index assessments_application_remote on hiring.assessments (connector_id, application_remote_id);
create index assessments_application on hiring.assessments (application_id);
create index assessments_candidate_remote on hiring.assessments (connector_id, candidate_remote_id);
create index assessments_candidate on hiring.assessments (candidate_id);

create table hiring.reviews (
    id                    uuid primary key default gen_random_uuid(),
    connector_id          text not null,
    remote_id             text not null,
    remote_created_at     timestamptz,
    remote_updated_at     timestamptz,
    remote_data           jsonb not null default '{}',
    content_hash          text not null,
    first_seen_at         timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    deleted_at            timestamptz,
    application_remote_id text,
    application_id        uuid references hiring.applications (id) on delete set null,
    interview_remote_id   text,
    interview_id          uuid references hiring.interviews (id) on delete set null,
    reviewer_name         text,
    reviewer_email        text,
    recommendation        text check (recommendation in ('strong_yes', 'yes', 'neutral', 'no', 'strong_no')),
    rating                double precision,
    summary               text,
    submitted_at          timestamptz,
    unique (connector_id, remote_id)
);
create index reviews_application_remote on hiring.reviews (connector_id, application_remote_id);
create index reviews_application on hiring.reviews (application_id);
create index reviews_interview_remote on hiring.reviews (connector_id, interview_remote_id);
create index reviews_interview on hiring.reviews (interview_id);

-- Background checks hold no SSN, date of birth or licence numbers: the product
-- does not need them and never stores them.
create table hiring.background_checks (
    id                         uuid primary key default gen_random_uuid(),
    connector_id               text not null,
    remote_id                  text not null,
    remote_created_at          timestamptz,
    remote_updated_at          timestamptz,
    remote_data                jsonb not null default '{}',
    content_hash               text not null,
    first_seen_at              timestamptz not null default now(),
    updated_at                 timestamptz not null default now(),
    deleted_at                 timestamptz,
    candidate_remote_id        text,
    candidate_id               uuid references hiring.candidates (id) on delete set null,
    candidate_email            text,
    candidate_email_normalized text,
    person_id                  uuid references hiring.persons (id) on delete set null,
    kind                       text check (kind in ('report', 'monitoring')),
    package                    text,
    status                     text check (status in ('pending', 'in_progress', 'completed', 'cancelled', 'suspended', 'disputed')),
    result                     text check (result in ('clear', 'consider', 'adverse_action', 'unknown')),
    ordered_at                 timestamptz,
    completed_at               timestamptz,
    unique (connector_id, remote_id)
);
create index background_checks_candidate_remote on hiring.background_checks (connector_id, candidate_remote_id);
create index background_checks_candidate on hiring.background_checks (candidate_id);
create index background_checks_email on hiring.background_checks (candidate_email_normalized);
create index background_checks_person on hiring.background_checks (person_id);

-- Per (connector, stream): the resume cursor, the lease that keeps two daemons
-- from polling one stream at once, and the outcome of the last pass.
create table hiring.sync_state (
    connector_id         text not null,
    stream               text not null,
    cursor               jsonb,
    pass_id              uuid,
    pass_started_at      timestamptz,
    pass_kind            text check (pass_kind in ('incremental', 'full')),
    pages_in_pass        integer not null default 0,
    last_attempt_at      timestamptz,
    last_success_at      timestamptz,
    last_duration_ms     bigint,
    last_counts          jsonb not null default '{}',
    last_error           text,
    last_error_at        timestamptz,
    consecutive_failures integer not null default 0,
    lease_owner          text,
    lease_expires_at     timestamptz,
    updated_at           timestamptz not null default now(),
    primary key (connector_id, stream)
);

-- Per connector: health from the last pass, and when its provider last reached us.
create table hiring.connector_state (
    connector_id  text primary key,
    health        text check (health in ('healthy', 'degraded', 'unhealthy')),
    health_reason text,
    last_heard_at timestamptz,
    updated_at    timestamptz not null default now()
);

-- Webhook deliveries, committed before they are acknowledged; also dead letters
-- of polled payloads that could not be normalised.
create table hiring.inbox (
    id               bigint generated always as identity primary key,
    connector_id     text not null,
    dedup_key        text not null,
    event_type       text,
    headers          jsonb not null default '{}',
    body             bytea not null,
    received_at      timestamptz not null default now(),
    status           text not null default 'pending' check (status in ('pending', 'processing', 'done', 'failed', 'dead')),
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null default now(),
    lease_owner      text,
    lease_expires_at timestamptz,
    last_error       text,
    processed_at     timestamptz,
    unique (connector_id, dedup_key)
);
-- The normalisers' claim query scans only work that is not finished.
create index inbox_due on hiring.inbox (next_attempt_at, id) where status in ('pending', 'failed', 'processing');
create index inbox_dead on hiring.inbox (connector_id) where status = 'dead';
-- Connectors with a delivery in progress (their other deliveries wait, to keep order).
create index inbox_processing on hiring.inbox (connector_id) where status = 'processing';

-- Rejected webhook deliveries, counted by reason (the deliveries are not kept).
create table hiring.webhook_rejections (
    connector_id text not null,
    reason       text not null,
    count        bigint not null default 0,
    last_at      timestamptz not null default now(),
    primary key (connector_id, reason)
);

-- The outbox: every committed change, in commit order (seq), as the envelope
-- sinks deliver.
create table hiring.events (
    id           text primary key,
    seq          bigint generated always as identity unique,
    type         text not null check (type ~ '^[a-z_]+\.[a-z_]+$'),
    connector_id text,
    provider     text,
    entity_type  text not null,
    entity_id    uuid not null,
    remote_id    text,
    via          text not null check (via in ('poll', 'webhook', 'replay', 'system')),
    occurred_at  timestamptz not null,
    payload      jsonb not null,
    changes      jsonb,
    dedup_key    text,
    created_at   timestamptz not null default now()
);
create index events_entity on hiring.events (entity_type, entity_id, seq);
create index events_created on hiring.events (created_at);
create index events_type on hiring.events (type, seq);

-- Per (sink, event): the delivery of one event to one sink.
create table hiring.deliveries (
    id               bigint generated always as identity primary key,
    sink_id          text not null,
    event_id         text not null references hiring.events (id) on delete cascade,
    event_seq        bigint not null,
    entity_key       text not null,
    status           text not null default 'pending' check (status in ('pending', 'in_flight', 'delivered', 'failed', 'dead')),
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null default now(),
    lease_owner      text,
    lease_expires_at timestamptz,
    last_status      integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz not null default now(),
    unique (sink_id, event_id)
);
create index deliveries_due on hiring.deliveries (sink_id, next_attempt_at) where status in ('pending', 'failed', 'in_flight');
-- Per-entity ordering: the oldest undelivered event of an entity goes first.
create index deliveries_entity_order on hiring.deliveries (sink_id, entity_key, event_seq) where status in ('pending', 'failed', 'in_flight');

-- Per sink: how far the dispatcher has enqueued, and whether it was disabled (410).
-- `last_seq`: every event up to it is enqueued for certain (it trails the newest
-- events by a safety margin, since a transaction may commit a lower seq late);
-- `enqueued_seq`: how far the fast path has scanned.
create table hiring.sink_state (
    sink_id         text primary key,
    last_seq        bigint not null default 0,
    enqueued_seq    bigint not null default 0,
    disabled_at     timestamptz,
    disabled_reason text,
    updated_at      timestamptz not null default now()
);
