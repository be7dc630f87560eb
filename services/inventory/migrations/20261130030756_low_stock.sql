-- Whether supply staff were told the consumable is low (1) and it has not been back at or
-- above its mark since: they are told once per fall below the mark. low_alerts counts the
-- falls told, so each one's mails have keys of their own.
ALTER TABLE consumables ADD COLUMN low_told INTEGER NOT NULL DEFAULT 0;
ALTER TABLE consumables ADD COLUMN low_alerts BIGINT NOT NULL DEFAULT 0;
