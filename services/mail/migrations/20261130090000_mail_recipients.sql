-- The language of each person IAM announced (iam.account.created / iam.account.changed), by
-- e-mail: a message is written in its recipient's language when the sender does not say.
CREATE TABLE recipients (
    -- Normalized (trimmed, lower case), as IAM stores it and as messages keep it.
    email TEXT PRIMARY KEY,
    -- en | ru (a tag Mail writes), as the person chose it.
    language TEXT NOT NULL,
    -- The account's aggregate version: an older event delivered late changes nothing.
    version BIGINT NOT NULL
);
