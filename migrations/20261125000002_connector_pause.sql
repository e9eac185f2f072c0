-- A connector whose provider refused its credentials (or whose quota is spent)
-- is paused rather than retried in a loop. `paused_until` is 'infinity' for
-- "until an operator acts": they resume it (`hirebridge resume`) or change its
-- config, detected by `paused_config`, the fingerprint of the settings it was
-- paused under. `degraded_notes` says what works only partly (a reference list
-- the key may not read, a missing scope).
alter table hiring.connector_state
    add column paused_until   timestamptz,
    add column paused_reason  text,
    add column paused_config  text,
    add column degraded_notes text[] not null default '{}';
