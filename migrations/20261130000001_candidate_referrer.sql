-- Who referred a candidate (Goodfit carries it on the candidate).
alter table hiring.candidates add column if not exists referrer text;
