-- The person's preferred language (en | ru): mails are written in it. NULL until they chose
-- one in the portal (or applied in one, for hired workers): English then.
ALTER TABLE accounts ADD COLUMN language TEXT;
