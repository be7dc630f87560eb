//! The typed client of Mail's API, for tests, the portal and other contexts' calls.
//!
//! ```no_run
//! # async fn run() -> Result<(), client::ClientError> {
//! use mail::client::{MailClient, Submission};
//! let mail = MailClient(client::Client::new("http://127.0.0.1:8080/api/mail").with_token("t"));
//! let queued = mail
//!     .submit(&Submission {
//!         to: "tom@cats.test".into(),
//!         template: "application_received".into(),
//!         variables: serde_json::json!({"name": "Tom"}).as_object().unwrap().clone(),
//!         idempotency_key: "application-tom".into(),
//!         language: None,
//!     })
//!     .await?;
//! println!("{}", mail.message(&queued.id.to_string()).await?.status.as_str());
//! # Ok(()) }
//! ```

use client::{Client, ClientError};

pub use crate::domain::Status;
pub use crate::routes::messages::{MessageOut, SearchQuery, Submission, Submitted};
pub use crate::routes::templates::TemplateOut;

/// Mail's routes over a [`Client`] whose base is Mail's API (`.../api/mail`).
#[derive(Debug, Clone)]
pub struct MailClient(pub Client);

impl MailClient {
    /// `POST /messages`: queues a message (202); the same key again answers the same one.
    pub async fn submit(&self, submission: &Submission) -> Result<Submitted, ClientError> {
        self.0.post("/messages", submission).await
    }

    /// `GET /messages`: admins search, newest first.
    pub async fn search(&self, query: &SearchQuery) -> Result<Vec<MessageOut>, ClientError> {
        self.0.get_query("/messages", query).await
    }

    /// `GET /messages/{id}` (any text: one that is no message id is a 404 like any other).
    pub async fn message(&self, id: &str) -> Result<MessageOut, ClientError> {
        self.0.get(&format!("/messages/{id}")).await
    }

    /// `POST /messages/{id}/retry`: a dead message goes back in the queue (204).
    pub async fn retry(&self, id: &str) -> Result<(), ClientError> {
        self.0.post_empty(&format!("/messages/{id}/retry")).await
    }

    /// `GET /templates`.
    pub async fn templates(&self) -> Result<Vec<TemplateOut>, ClientError> {
        self.0.get("/templates").await
    }
}
