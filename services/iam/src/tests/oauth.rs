//! The OpenID Connect endpoints' refusals: pages for browsers, redirects back to the
//! client, RFC 6749 JSON for clients; and a sign-in with a code and PKCE.

use axum::http::StatusCode;

use super::{ADMIN_PASSWORD, REDIRECT, anonymous, iam};
use crate::client::{AuthorizeRequest, LogoutRequest, RevokeRequest, TokenRequest, oauth_error};

use crate::domain::pkce::new_pair as pkce;

/// `mcf-web`'s authorization request with `challenge`.
fn request(challenge: &str) -> AuthorizeRequest {
    AuthorizeRequest {
        response_type: Some("code".into()),
        client_id: Some("mcf-web".into()),
        redirect_uri: Some(REDIRECT.into()),
        scope: Some("openid offline_access".into()),
        state: Some("xyz".into()),
        code_challenge: Some(challenge.into()),
        code_challenge_method: Some("S256".into()),
        ..AuthorizeRequest::default()
    }
}

/// The sign-in form of the first admin with `password`.
fn sign_in(challenge: &str, password: &str) -> AuthorizeRequest {
    AuthorizeRequest {
        email: Some("admin@mcf.local".into()),
        password: Some(password.into()),
        ..request(challenge)
    }
}

/// A query parameter of a redirect's `Location`.
fn query_param(location: &str, name: &str) -> Option<String> {
    location
        .split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

#[tokio::test]
async fn given_authorization_requests_when_they_are_wrong_then_pages_or_redirects_say_so() {
    let ts = iam().await;
    let api = anonymous(&ts);
    // A valid request gets the sign-in page
    let page = api.authorize_page(&request(&pkce().1)).await.unwrap();
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("<form method=\"post\""));
    // An unregistered redirect URI is never redirected to
    let evil = AuthorizeRequest {
        redirect_uri: Some("http://evil.test/callback".into()),
        ..request(&pkce().1)
    };
    let refused = api.authorize_page(&evil).await.unwrap();
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.location().is_none());
    // A wrong password: the page again, no code
    let wrong = api
        .authorize(&sign_in(&pkce().1, "wrong-password-123"))
        .await
        .unwrap();
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text().contains("Wrong e-mail or password"));
    // PKCE plain is refused at the authorization request, back to the client
    let plain = AuthorizeRequest {
        code_challenge: Some("plain-verifier-as-challenge".into()),
        code_challenge_method: Some("plain".into()),
        ..sign_in("", ADMIN_PASSWORD)
    };
    let back = api.authorize(&plain).await.unwrap();
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(
        query_param(back.location().unwrap(), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn given_ui_locales_ru_when_signing_in_then_the_pages_and_refusals_are_russian() {
    let ts = iam().await;
    let api = anonymous(&ts);
    // Discovery says which languages the pages are in
    let discovery = api.discovery().await.unwrap();
    assert_eq!(
        discovery["ui_locales_supported"],
        serde_json::json!(["en", "ru"])
    );
    let russian = |request: AuthorizeRequest| AuthorizeRequest {
        ui_locales: Some("ru".into()),
        ..request
    };
    // The sign-in page is Russian and carries its language to the form
    let page = api
        .authorize_page(&russian(request(&pkce().1)))
        .await
        .unwrap();
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains(r#"<html lang="ru">"#), "{html}");
    assert!(html.contains("<h1>Вход в MCF</h1>"));
    assert!(html.contains(r#"name="lang" value="ru""#));
    // Without it, English
    let page = api.authorize_page(&request(&pkce().1)).await.unwrap();
    assert!(page.text().contains(r#"<html lang="en">"#));
    // A wrong password posted with the form's lang: the page again, still Russian
    let wrong = AuthorizeRequest {
        lang: Some("ru".into()),
        ..sign_in(&pkce().1, "wrong-password-123")
    };
    let wrong = api.authorize(&wrong).await.unwrap();
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let html = wrong.text();
    assert!(html.contains(r#"<html lang="ru">"#));
    assert!(html.contains("Неверная эл. почта или пароль."), "{html}");
    // A refused request's page too
    let evil = AuthorizeRequest {
        redirect_uri: Some("http://evil.test/callback".into()),
        ..russian(request(&pkce().1))
    };
    let refused = api.authorize_page(&evil).await.unwrap();
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .contains("redirect_uri не зарегистрирован для этого клиента")
    );
}

#[tokio::test]
async fn given_a_code_when_redeemed_without_or_with_a_wrong_verifier_then_the_grant_is_refused() {
    let ts = iam().await;
    let api = anonymous(&ts);
    let redeem = |code: &str, verifier: Option<String>| TokenRequest {
        grant_type: Some("authorization_code".into()),
        client_id: Some("mcf-web".into()),
        redirect_uri: Some(REDIRECT.into()),
        code: Some(code.into()),
        code_verifier: verifier,
        ..TokenRequest::default()
    };
    let code = |reply: client::Reply| query_param(reply.location().unwrap(), "code").unwrap();
    // Given a code
    let (verifier, challenge) = pkce();
    let first = code(
        api.authorize(&sign_in(&challenge, ADMIN_PASSWORD))
            .await
            .unwrap(),
    );
    // When redeemed without the verifier, then refused
    let missing = api.token(&redeem(&first, None)).await.unwrap_err();
    assert_eq!(missing.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(oauth_error(&missing).unwrap().error, "invalid_grant");
    // Given a fresh code, when redeemed with a wrong verifier, then refused, and spent
    let (verifier2, challenge2) = pkce();
    let second = code(
        api.authorize(&sign_in(&challenge2, ADMIN_PASSWORD))
            .await
            .unwrap(),
    );
    let wrong = api
        .token(&redeem(&second, Some(pkce().0)))
        .await
        .unwrap_err();
    assert_eq!(oauth_error(&wrong).unwrap().error, "invalid_grant");
    let spent = api
        .token(&redeem(&second, Some(verifier2)))
        .await
        .unwrap_err();
    assert_eq!(oauth_error(&spent).unwrap().error, "invalid_grant");
    // Given a third code, when redeemed right, then tokens
    let (verifier3, challenge3) = pkce();
    let third = code(
        api.authorize(&sign_in(&challenge3, ADMIN_PASSWORD))
            .await
            .unwrap(),
    );
    let tokens = api.token(&redeem(&third, Some(verifier3))).await.unwrap();
    assert_eq!(tokens.token_type, "Bearer");
    assert!(tokens.id_token.is_some() && tokens.refresh_token.is_some());
    drop(verifier);
}

#[tokio::test]
async fn given_the_token_and_revoke_endpoints_when_asked_wrong_then_they_answer_oauth_errors() {
    let ts = iam().await;
    let api = anonymous(&ts);
    let cases = [
        (
            TokenRequest::default(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            TokenRequest {
                grant_type: Some("password".into()),
                ..TokenRequest::default()
            },
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            TokenRequest {
                grant_type: Some("client_credentials".into()),
                client_id: Some("svc-nobody".into()),
                client_secret: Some("nope".into()),
                ..TokenRequest::default()
            },
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            TokenRequest {
                grant_type: Some("refresh_token".into()),
                client_id: Some("mcf-web".into()),
                refresh_token: Some("made-up".into()),
                ..TokenRequest::default()
            },
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
    ];
    for (form, status, error) in cases {
        let refused = api.token(&form).await.unwrap_err();
        assert_eq!(refused.status(), Some(status), "{error}");
        assert_eq!(oauth_error(&refused).unwrap().error, error);
    }
    let refused = api
        .revoke(&RevokeRequest {
            client_id: Some("mcf-web".into()),
            ..RevokeRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(oauth_error(&refused).unwrap().error, "invalid_request");
    // An unknown token is revoked as far as anyone can tell (RFC 7009)
    api.revoke(&RevokeRequest {
        client_id: Some("mcf-web".into()),
        token: Some("never-issued".into()),
        ..RevokeRequest::default()
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn given_a_logout_that_cannot_be_trusted_to_redirect_then_it_is_a_page() {
    let ts = iam().await;
    let api = anonymous(&ts);
    let unknown = api
        .logout_page(&LogoutRequest {
            client_id: Some("nobody".into()),
            post_logout_redirect_uri: Some("http://evil.test/".into()),
            ..LogoutRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.location().is_none());
    let plain = api.logout_page(&LogoutRequest::default()).await.unwrap();
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.text().contains("signed out"));
    // Without an upstream provider there is no federation
    let none = api.federation_start(&request(&pkce().1)).await.unwrap();
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_document_says_who_may_call_what() {
    let ts = iam().await;
    let doc = ts.openapi().await;
    assert_eq!(
        doc["paths"]["/token"]["post"]["security"],
        serde_json::json!([])
    );
    assert_eq!(
        doc["paths"]["/accounts"]["get"]["x-roles"],
        serde_json::json!(["admin"])
    );
    assert!(
        doc["paths"]["/token"]["post"]["requestBody"]["content"]
            ["application/x-www-form-urlencoded"]
            .is_object()
    );
}

#[tokio::test]
async fn given_the_web_apps_sign_out_when_the_client_is_unknown_then_it_is_a_problem() {
    let ts = iam().await;
    let reply = anonymous(&ts)
        .logout(&LogoutRequest {
            client_id: Some("nobody".into()),
            refresh_token: Some("whatever".into()),
            ..LogoutRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.problem().map(|p| p.code),
        Some("invalid_client".into())
    );
    let known = anonymous(&ts)
        .logout(&LogoutRequest {
            client_id: Some("mcf-web".into()),
            refresh_token: Some("whatever".into()),
            ..LogoutRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(
        known.status,
        StatusCode::OK,
        "the same answer for any token"
    );
}
