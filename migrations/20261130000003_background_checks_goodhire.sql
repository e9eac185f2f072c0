-- Background checks as GoodHire reports them (seed 001_9bab87cc4353b0db.txt):
-- the canonical statuses become pending_input, processing, clear, alert,
-- canceled and expired; a check also keeps the report sections with alerts,
-- the actions it waits for, the employer's viewer URL and, for monitoring
-- subscriptions, the history of runs. Still no SSN, date of birth, licence
-- number or (unless an operator opts in) street address.
alter table hiring.background_checks drop constraint if exists background_checks_status_check;
update hiring.background_checks set status = case status
    when 'pending' then 'pending_input'
    when 'in_progress' then 'processing'
    when 'suspended' then 'processing'
    when 'disputed' then 'processing'
    when 'cancelled' then 'canceled'
    when 'completed' then case when result = 'clear' then 'clear' else 'alert' end
    else status end
where status is not null;
alter table hiring.background_checks add constraint background_checks_status_check
    check (status in ('pending_input', 'processing', 'clear', 'alert', 'canceled', 'expired'));
alter table hiring.background_checks
    add column if not exists alert_sections text[] not null default '{}',
    add column if not exists required_actions jsonb not null default '[]',
    add column if not exists viewer_url text,
    add column if not exists results jsonb not null default '[]';
