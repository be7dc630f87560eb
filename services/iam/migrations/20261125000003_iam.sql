CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- Space-separated role names, sorted.
    roles TEXT NOT NULL,
    -- active | disabled
    status TEXT NOT NULL,
    -- PHC string (argon2id); NULL until a password is set.
    password_hash TEXT,
    -- The subject at the upstream identity provider, for federated accounts.
    upstream_subject TEXT UNIQUE,
    -- Aggregate version: one more for every event the account publishes.
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- OAuth clients: MCF's web apps (public, PKCE) and service accounts (confidential).
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- public | confidential
    kind TEXT NOT NULL,
    -- SHA-256 of the secret (secrets are long random strings), confidential clients only.
    secret_hash TEXT,
    -- JSON arrays.
    redirect_uris TEXT NOT NULL,
    audiences TEXT NOT NULL,
    -- The account a confidential client acts as.
    account_id TEXT REFERENCES accounts (id),
    created_at BIGINT NOT NULL
);

-- Ed25519 signing keys. The newest unretired key signs; retired keys stay in the JWKS until
-- every token they signed has expired.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    -- PKCS#8 DER, base64.
    private_key TEXT NOT NULL,
    -- Public key, base64url (the JWK's x).
    public_x TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

-- Authorization codes (SHA-256 of the code): single use, short-lived.
CREATE TABLE auth_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- Refresh tokens (SHA-256), rotated on every use; a family shares one sign-in.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    scope TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id);

-- Failed sign-ins per account (e-mail) and per source address: throttles guessing.
CREATE TABLE sign_in_throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL
);

-- Set-password and reset links (SHA-256 of the link's token): single use, expiring.
CREATE TABLE password_links (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- set | reset
    purpose TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);

-- Sign-ins in flight at the upstream identity provider (SHA-256 of our `state`): single use.
CREATE TABLE federation_states (
    state_hash TEXT PRIMARY KEY,
    -- The original authorization request (JSON object), resumed after the upstream answers.
    request TEXT NOT NULL,
    -- Our PKCE verifier and nonce towards the upstream provider.
    verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
