//! `mcf login`: the authorization code flow with PKCE from the command line, so people can
//! try the API with a real token.

use anyhow::{Context, bail};

/// Signs in at `base` (`http://host:port`) and returns an access token.
pub async fn access_token(
    base: &str,
    email: &str,
    password: &str,
    redirect_uri: &str,
) -> anyhow::Result<String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let iam = format!("{}/api/iam", base.trim_end_matches('/'));
    let (verifier, challenge) = iam::domain::pkce::new_pair();
    let r = http
        .post(format!("{iam}/authorize"))
        .form(&[
            ("response_type", "code"),
            ("client_id", "mcf-web"),
            ("redirect_uri", redirect_uri),
            ("scope", "openid"),
            ("state", "cli"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .with_context(|| format!("cannot reach {iam}"))?;
    let Some(location) = r.headers().get("location").and_then(|l| l.to_str().ok()) else {
        bail!(
            "sign-in refused ({}): wrong e-mail or password, or throttled",
            r.status()
        );
    };
    let code = location
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("code="))
        .with_context(|| format!("no code in the redirect: {location}"))?
        .to_owned();
    let body: serde_json::Value = http
        .post(format!("{iam}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "mcf-web"),
            ("redirect_uri", redirect_uri),
            ("code", &code),
            ("code_verifier", &verifier),
        ])
        .send()
        .await?
        .json()
        .await?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no access token: {body}"))
}
