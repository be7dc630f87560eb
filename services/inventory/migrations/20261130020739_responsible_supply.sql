-- The people IAM announced (every account, not only supply staff: a late, older event must
-- not hand the supply role back to someone who lost it, so the newest version is kept for
-- everyone). Kits are given to active holders of the supply role.
CREATE TABLE people (
    account_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    -- 1 when the account holds the supply role.
    supply INTEGER NOT NULL,
    -- 1 unless IAM disabled the account.
    active INTEGER NOT NULL,
    -- IAM's aggregate version of the account: only a newer one replaces the row.
    version BIGINT NOT NULL
);

-- The responsible supply employee of a kit, chosen when it was assembled (NULL when no
-- active supply staff were known then), and why them.
ALTER TABLE kits ADD COLUMN responsible_id TEXT;
ALTER TABLE kits ADD COLUMN responsible_reason TEXT NOT NULL
    DEFAULT 'nobody responsible: assembled before responsible staff were chosen';
-- The load of each person (kits not yet issued) and each person's own queue.
CREATE INDEX kits_by_responsible ON kits (responsible_id, state);
