-- Signing keys of two kinds: Ed25519 signs access tokens (the only kind services accept),
-- RSA signs ID tokens (RS256, what OpenID Connect clients expect). For RSA keys private_key
-- is PKCS#1 DER (base64), public_x the modulus n and public_e the exponent e (base64url).
ALTER TABLE signing_keys ADD COLUMN alg TEXT NOT NULL DEFAULT 'EdDSA';
ALTER TABLE signing_keys ADD COLUMN public_e TEXT;

-- How a client's ID tokens are signed (OpenID Connect Registration's
-- id_token_signed_response_alg): RS256 or EdDSA.
ALTER TABLE clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'RS256';
-- Where RP-initiated logout may send the browser back to (JSON array, matched exactly).
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';

-- The sign-in (refresh-token family) a redeemed code started: a replayed code revokes it.
ALTER TABLE auth_codes ADD COLUMN family_id TEXT;
