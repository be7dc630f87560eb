-- The language the candidate applied in (en | ru): Hiring's mails to them are written in it,
-- and it becomes their account's language when they are hired. NULL: not said (English).
ALTER TABLE applications ADD COLUMN language TEXT;
