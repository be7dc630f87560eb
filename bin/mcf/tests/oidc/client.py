"""A standard OpenID Connect client (Authlib) against MCF's IAM, the way a third-party web app
would use it: discovery, authorization code + PKCE, the ID token validated by the library
against the JWKS with RS256, userinfo (GET and POST), refresh, revocation (RFC 7009), a replayed
code (RFC 6749 4.1.2), invalid_client (RFC 6749 5.2) and RP-initiated logout.

Usage: client.py ISSUER EMAIL PASSWORD REDIRECT_URI POST_LOGOUT_REDIRECT_URI
Prints one JSON line of what it saw; exits non-zero (with the reason) when anything differs
from what the specifications say. Run by bin/mcf/tests/it/oidc.rs; scripts/setup installs
Authlib and requests.
"""

import html.parser
import json
import os
import sys
import urllib.parse

# The test system speaks plain HTTP on 127.0.0.1; Authlib refuses that unless told.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session, OAuthError  # noqa: E402
from authlib.jose import JsonWebKey, JsonWebToken  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402

CLIENT_ID = "mcf-web"
SCOPE = "openid email profile offline_access"


def check(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")


class HiddenFields(html.parser.HTMLParser):
    """The sign-in form's hidden fields (the authorization request it carries)."""

    def __init__(self):
        super().__init__()
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


def sign_in(http, authorize_url, email, password):
    """What the person does in the browser: open the page, fill in the form. Returns the
    redirect back to the client (with code and state)."""
    page = http.get(authorize_url, allow_redirects=False)
    check(page.status_code == 200, f"sign-in page: {page.status_code} {page.text[:200]}")
    form = HiddenFields()
    form.feed(page.text)
    check(form.fields.get("client_id") == CLIENT_ID, f"the form carries the request: {form.fields}")
    endpoint = authorize_url.split("?")[0]
    r = http.post(
        endpoint,
        data={**form.fields, "email": email, "password": password},
        allow_redirects=False,
    )
    check(r.status_code in (302, 303), f"sign-in: {r.status_code} {r.text[:200]}")
    return r.headers["location"]


def main():
    issuer, email, password, redirect_uri, logout_uri = sys.argv[1:6]
    http = requests.Session()
    seen = {}

    # Discovery.
    meta = http.get(f"{issuer}/.well-known/openid-configuration").json()
    check(meta["issuer"] == issuer, f"issuer {meta['issuer']} != {issuer}")
    check("RS256" in meta["id_token_signing_alg_values_supported"], "RS256 supported")
    for endpoint in ("revocation_endpoint", "end_session_endpoint", "userinfo_endpoint"):
        check(endpoint in meta, f"discovery publishes {endpoint}")
    jwks = http.get(meta["jwks_uri"]).json()
    key_set = JsonWebKey.import_key_set(jwks)
    seen["jwks_kty"] = sorted({k["kty"] for k in jwks["keys"]})

    def client():
        return OAuth2Session(
            CLIENT_ID,
            redirect_uri=redirect_uri,
            scope=SCOPE,
            code_challenge_method="S256",
            token_endpoint_auth_method="none",
        )

    def login(session):
        verifier = generate_token(48)
        nonce = generate_token(20)
        url, state = session.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        back = sign_in(http, url, email, password)
        check(back.startswith(redirect_uri), f"redirected to {back}")
        token = session.fetch_token(
            meta["token_endpoint"], authorization_response=back, code_verifier=verifier
        )
        return token, nonce, back

    def validate_id_token(token, nonce):
        # Only RS256 is accepted here: the library verifies it against the published keys.
        claims = JsonWebToken(["RS256"]).decode(
            token["id_token"],
            key_set,
            claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "value": issuer}},
            claims_params={"nonce": nonce, "client_id": CLIENT_ID},
        )
        claims.validate()
        check(claims.header["alg"] == "RS256", f"ID token alg {claims.header['alg']}")
        return claims

    # Code + PKCE; the ID token.
    s = client()
    token, nonce, _ = login(s)
    claims = validate_id_token(token, nonce)
    check(claims["email"] == email, f"ID token email {claims['email']}")
    seen["id_token_alg"] = claims.header["alg"]

    # Userinfo, GET and POST, no aud.
    for method in ("GET", "POST"):
        r = s.request(method, meta["userinfo_endpoint"])
        check(r.status_code == 200, f"userinfo {method}: {r.status_code} {r.text}")
        info = r.json()
        check(info["sub"] == claims["sub"], f"userinfo {method} sub {info}")
        check("aud" not in info, f"userinfo {method} has no aud: {info}")
    seen["userinfo"] = ["GET", "POST"]

    # Refresh: a new pair, the old refresh token is spent.
    refreshed = s.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    check(refreshed["refresh_token"] != token["refresh_token"], "refresh tokens rotate")
    check(s.get(meta["userinfo_endpoint"]).status_code == 200, "the refreshed token works")

    # Revocation: the refresh token (and its sign-in) stops working.
    r = s.revoke_token(
        meta["revocation_endpoint"],
        token=refreshed["refresh_token"],
        token_type_hint="refresh_token",
    )
    check(r.status_code == 200, f"revoke: {r.status_code} {r.text}")
    try:
        s.refresh_token(meta["token_endpoint"], refresh_token=refreshed["refresh_token"])
        check(False, "a revoked refresh token was accepted")
    except OAuthError as e:
        check(e.error == "invalid_grant", f"revoked refresh: {e.error}")
    r = s.revoke_token(meta["revocation_endpoint"], token="not-a-token-we-issued")
    check(r.status_code == 200, f"revoking an unknown token is 200 (RFC 7009): {r.status_code}")
    seen["revoked"] = True

    # A replayed code: refused, and the tokens issued from it are revoked.
    s2 = client()
    verifier = generate_token(48)
    url, _ = s2.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=generate_token(20)
    )
    back = sign_in(http, url, email, password)
    first = s2.fetch_token(
        meta["token_endpoint"], authorization_response=back, code_verifier=verifier
    )
    try:
        s2.fetch_token(meta["token_endpoint"], authorization_response=back, code_verifier=verifier)
        check(False, "a replayed code was accepted")
    except OAuthError as e:
        check(e.error == "invalid_grant", f"replayed code: {e.error}")
    try:
        s2.refresh_token(meta["token_endpoint"], refresh_token=first["refresh_token"])
        check(False, "tokens issued from a replayed code still work")
    except OAuthError as e:
        check(e.error == "invalid_grant", f"refresh after replay: {e.error}")
    seen["code_replay_revokes"] = True

    # invalid_client: 401 with WWW-Authenticate (RFC 6749 5.2).
    r = http.post(
        meta["token_endpoint"],
        data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
    )
    check(r.status_code == 401, f"invalid_client status {r.status_code}")
    check(r.json()["error"] == "invalid_client", f"invalid_client body {r.text}")
    check("www-authenticate" in r.headers, f"invalid_client headers {dict(r.headers)}")
    seen["invalid_client"] = r.headers["www-authenticate"]

    # RP-initiated logout: back to a registered URI with the state; the sign-in is over.
    s3 = client()
    token, nonce, _ = login(s3)
    validate_id_token(token, nonce)
    end = meta["end_session_endpoint"]
    r = http.get(
        end,
        params={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": "http://evil.test/",
            "state": "bye",
        },
        allow_redirects=False,
    )
    check(r.status_code == 400 and "location" not in r.headers, "unregistered URI refused")
    r = http.get(
        end,
        params={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": logout_uri,
            "state": "bye",
        },
        allow_redirects=False,
    )
    check(r.status_code in (302, 303), f"logout: {r.status_code} {r.text[:200]}")
    location = r.headers["location"]
    parsed = urllib.parse.urlsplit(location)
    check(location.startswith(logout_uri), f"logout went to {location}")
    check(urllib.parse.parse_qs(parsed.query).get("state") == ["bye"], f"state: {location}")
    try:
        s3.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
        check(False, "the sign-in survived the logout")
    except OAuthError as e:
        check(e.error == "invalid_grant", f"refresh after logout: {e.error}")
    seen["end_session"] = True

    print(json.dumps(seen))


if __name__ == "__main__":
    main()
