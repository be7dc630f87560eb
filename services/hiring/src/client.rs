//! The typed client of Hiring's API (tests, the portal, other services' sync calls).

use client::{Client, ClientError, Method};
use contracts::{ApplicationId, TestId};

use crate::app::Applied;
use crate::domain::{ApplicationForm, Test, TestSpec};
use crate::routes::{
    Accepted, ApplicationDetail, ApplicationPage, Assigned, Decided, Decline, PageQuery, Recorded,
    TakePage, TestAnswers, TestSet, TokenQuery,
};

/// Hiring's API over a [`Client`] (its base is Hiring's, e.g. `…/api/hiring`).
#[derive(Clone)]
pub struct HiringClient(pub Client);

/// A candidate's photo as served.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoFile {
    pub media_type: String,
    pub bytes: Vec<u8>,
}

impl HiringClient {
    /// `POST /tests`; with `key` as `Idempotency-Key`.
    pub async fn create_test(
        &self,
        spec: &TestSpec,
        key: Option<&str>,
    ) -> Result<Test, ClientError> {
        self.0.post_keyed("/tests", spec, key).await
    }

    /// `GET /tests`.
    pub async fn tests(&self) -> Result<Vec<Test>, ClientError> {
        self.0.get("/tests").await
    }

    /// `PUT /tests/{id}`.
    pub async fn edit_test(&self, id: TestId, spec: &TestSpec) -> Result<Test, ClientError> {
        self.0.put(&format!("/tests/{id}"), spec).await
    }

    /// `POST /tests/{id}/retire`.
    pub async fn retire_test(&self, id: TestId) -> Result<(), ClientError> {
        self.0.post_empty(&format!("/tests/{id}/retire")).await
    }

    /// `POST /applications` (public); with `key` as `Idempotency-Key`.
    pub async fn apply(
        &self,
        form: &ApplicationForm,
        key: Option<&str>,
    ) -> Result<Applied, ClientError> {
        self.0.post_keyed("/applications", form, key).await
    }

    /// `GET /applications`.
    pub async fn applications(&self, query: &PageQuery) -> Result<ApplicationPage, ClientError> {
        self.0.get_query("/applications", query).await
    }

    /// `GET /applications/{id}`.
    pub async fn application(&self, id: ApplicationId) -> Result<ApplicationDetail, ClientError> {
        self.0.get(&format!("/applications/{id}")).await
    }

    /// `GET /applications/{id}/photo`.
    pub async fn photo(&self, id: ApplicationId) -> Result<PhotoFile, ClientError> {
        let reply = self
            .0
            .request(Method::GET, &format!("/applications/{id}/photo"))
            .send()
            .await?;
        Ok(PhotoFile {
            media_type: reply
                .header(client::header::CONTENT_TYPE.as_str())
                .unwrap_or_default()
                .to_owned(),
            bytes: reply.body.to_vec(),
        })
    }

    /// `POST /applications/{id}/tests`.
    pub async fn assign_tests(
        &self,
        id: ApplicationId,
        test_ids: &[TestId],
    ) -> Result<Assigned, ClientError> {
        let set = TestSet {
            test_ids: test_ids.to_vec(),
        };
        self.0
            .post(&format!("/applications/{id}/tests"), &set)
            .await
    }

    /// `POST /applications/{id}/accept`.
    pub async fn accept(&self, id: ApplicationId) -> Result<Accepted, ClientError> {
        self.0
            .post_empty(&format!("/applications/{id}/accept"))
            .await
    }

    /// `POST /applications/{id}/decline`.
    pub async fn decline(&self, id: ApplicationId, reason: &str) -> Result<Decided, ClientError> {
        let decline = Decline {
            reason: reason.to_owned(),
        };
        self.0
            .post(&format!("/applications/{id}/decline"), &decline)
            .await
    }

    /// `GET /take?token=` (public).
    pub async fn take_page(&self, token: &str) -> Result<TakePage, ClientError> {
        let query = TokenQuery {
            token: token.to_owned(),
        };
        self.0.get_query("/take", &query).await
    }

    /// `POST /take` (public).
    pub async fn take(&self, answers: &TestAnswers) -> Result<Recorded, ClientError> {
        self.0.post("/take", answers).await
    }
}
