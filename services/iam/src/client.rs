//! The typed client of IAM's API, for tests, the portal and other services: one method per
//! route, the same DTOs the routes declare.
//!
//! The OAuth endpoints answer their refusals as RFC 6749 JSON, not problem+json: read them
//! with [`oauth_error`]. Pages and redirects come back as the raw [`Reply`] (status,
//! `Location`, HTML).

use axum::http::Method;
use client::{Client, ClientError, Reply};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The cookie holding a browser's language choice (`en`, `ru`): the portal's switch sets
/// it, IAM's own pages read it when the browser sends it (IAM on the portal's host).
pub const LANGUAGE_COOKIE: &str = "mcf_lang";
use serde_json::Value;

pub use crate::domain::account::{Account, Status};
pub use crate::error::OAuthError;
pub use crate::routes::accounts::{AccountChange, NewAccount, PasswordLink};
pub use crate::routes::keys::{Kids, RotatedKeys};
pub use crate::routes::me::{LanguageChoice, PasswordChange, PasswordChanged};
pub use crate::routes::oidc::{
    AuthorizeRequest, FederationCallback, TokenRequest, TokenResponse, UserInfo,
};
pub use crate::routes::password::{ForgotForm, LinkQuery, SetPasswordForm};
pub use crate::routes::service_accounts::{NewServiceAccount, ServiceAccount};
pub use crate::routes::session::{LogoutRequest, RevokeRequest, Revoked, SignedOut};

/// IAM's API over a [`Client`] (base URL `.../api/iam`, with the caller's token if any).
#[derive(Clone)]
pub struct IamClient(pub Client);

/// The OAuth error (`{error, error_description}`) a refused OAuth call answered, if it did.
pub fn oauth_error(e: &ClientError) -> Option<OAuthError> {
    serde_json::from_slice(&e.reply()?.body).ok()
}

impl IamClient {
    /// `GET /.well-known/openid-configuration`.
    pub async fn discovery(&self) -> Result<Value, ClientError> {
        self.0.get("/.well-known/openid-configuration").await
    }

    /// `GET /jwks.json`.
    pub async fn jwks(&self) -> Result<Value, ClientError> {
        self.0.get("/jwks.json").await
    }

    /// `GET /authorize`: the sign-in page (or a refusal page, or a redirect back).
    pub async fn authorize_page(&self, request: &AuthorizeRequest) -> Result<Reply, ClientError> {
        self.page("/authorize", request).await
    }

    /// `POST /authorize`: the sign-in form; 303 to the client with a code, or a page.
    pub async fn authorize(&self, form: &AuthorizeRequest) -> Result<Reply, ClientError> {
        self.submit("/authorize", form).await
    }

    /// `POST /token`. Refusals: [`oauth_error`].
    pub async fn token(&self, form: &TokenRequest) -> Result<TokenResponse, ClientError> {
        self.oauth("/token", form).await
    }

    /// `POST /revoke`. Refusals: [`oauth_error`].
    pub async fn revoke(&self, form: &RevokeRequest) -> Result<Revoked, ClientError> {
        self.oauth("/revoke", form).await
    }

    /// `GET /logout` (RP-Initiated Logout): a page or a redirect.
    pub async fn logout_page(&self, request: &LogoutRequest) -> Result<Reply, ClientError> {
        self.page("/logout", request).await
    }

    /// `POST /logout`: with a refresh token the web apps' sign-out (JSON), else a page or
    /// a redirect.
    pub async fn logout(&self, form: &LogoutRequest) -> Result<Reply, ClientError> {
        self.submit("/logout", form).await
    }

    /// `GET /federation/start`: 303 to the upstream provider.
    pub async fn federation_start(&self, request: &AuthorizeRequest) -> Result<Reply, ClientError> {
        self.page("/federation/start", request).await
    }

    /// `GET /federation/callback`: the upstream's answer; 303 to the client, or a page.
    pub async fn federation_callback(
        &self,
        answer: &FederationCallback,
    ) -> Result<Reply, ClientError> {
        self.page("/federation/callback", answer).await
    }

    /// `GET /userinfo`.
    pub async fn userinfo(&self) -> Result<UserInfo, ClientError> {
        self.0.get("/userinfo").await
    }

    /// `POST /userinfo`.
    pub async fn userinfo_post(&self) -> Result<UserInfo, ClientError> {
        self.0.post_empty("/userinfo").await
    }

    /// `POST /me/password`.
    pub async fn change_password(
        &self,
        change: &PasswordChange,
    ) -> Result<PasswordChanged, ClientError> {
        self.0.post("/me/password", change).await
    }

    /// `PUT /me/language`.
    pub async fn set_language(
        &self,
        choice: &LanguageChoice,
    ) -> Result<LanguageChoice, ClientError> {
        self.0.put("/me/language", choice).await
    }

    /// `POST /accounts`, with an idempotency key if given.
    pub async fn create_account(
        &self,
        new: &NewAccount,
        key: Option<&str>,
    ) -> Result<Account, ClientError> {
        self.0.post_keyed("/accounts", new, key).await
    }

    /// `GET /accounts`.
    pub async fn accounts(&self) -> Result<Vec<Account>, ClientError> {
        self.0.get("/accounts").await
    }

    /// `GET /accounts/{id}`.
    pub async fn account(&self, id: &str) -> Result<Account, ClientError> {
        self.0.get(&format!("/accounts/{id}")).await
    }

    /// `PATCH /accounts/{id}`.
    pub async fn change_account(
        &self,
        id: &str,
        change: &AccountChange,
    ) -> Result<Account, ClientError> {
        self.0.patch(&format!("/accounts/{id}"), change).await
    }

    /// `POST /accounts/{id}/password-link`.
    pub async fn password_link(&self, id: &str) -> Result<PasswordLink, ClientError> {
        self.0
            .post_empty(&format!("/accounts/{id}/password-link"))
            .await
    }

    /// `POST /service-accounts`.
    pub async fn create_service_account(
        &self,
        new: &NewServiceAccount,
    ) -> Result<ServiceAccount, ClientError> {
        self.0.post("/service-accounts", new).await
    }

    /// `POST /keys/rotate`.
    pub async fn rotate_keys(&self) -> Result<RotatedKeys, ClientError> {
        self.0.post_empty("/keys/rotate").await
    }

    /// `GET /password?token=&lang=`: the set-password page (410 when the link does not
    /// work), in `lang` if given.
    pub async fn password_page(
        &self,
        token: &str,
        lang: Option<&str>,
    ) -> Result<Reply, ClientError> {
        let link = LinkQuery {
            token: Some(token.to_owned()),
            lang: lang.map(str::to_owned),
        };
        self.page("/password", &link).await
    }

    /// `POST /password`: the set-password form; a page whatever happens.
    pub async fn set_password(&self, form: &SetPasswordForm) -> Result<Reply, ClientError> {
        self.submit("/password", form).await
    }

    /// `POST /password/forgot`: a page whatever the address (429 when asked too often).
    pub async fn forgot_password(&self, form: &ForgotForm) -> Result<Reply, ClientError> {
        self.submit("/password/forgot", form).await
    }

    /// `GET path?query` as answered, whatever the status: a page or a redirect.
    async fn page(&self, path: &str, query: &impl Serialize) -> Result<Reply, ClientError> {
        self.0
            .request(Method::GET, path)
            .query(query)
            .send_raw()
            .await
    }

    /// `POST path` with `form` as answered, whatever the status: a page or a redirect.
    async fn submit(&self, path: &str, form: &impl Serialize) -> Result<Reply, ClientError> {
        self.0
            .request(Method::POST, path)
            .form(form)
            .send_raw()
            .await
    }

    /// `POST path` with `form` to an OAuth endpoint, answered with a `T` (refusals: see
    /// [`oauth_error`]).
    async fn oauth<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &impl Serialize,
    ) -> Result<T, ClientError> {
        self.0
            .request(Method::POST, path)
            .form(form)
            .send()
            .await?
            .json()
    }
}
