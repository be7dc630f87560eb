//! A worker's pages (phone first): jobs by status, a job's page, checking in with a photo
//! from the phone's camera, finishing with the photo of the signed form.

use auth::Role;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use contracts::OrderId;
use ordering::client::{CheckInRequest, CompleteRequest, JobsQuery, OrderingClient};
use ordering::domain::order::{Order, Status};

use crate::Portal;
use crate::form::Fields;
use crate::i18n::Speak;
use crate::pages::client::{OrderPage, OrderRow, OrdersPage, StatusQuery, chosen_status, tabs};
use crate::web::{
    Current, FormState, PageResult, Refusal, path_id, render, render_with, see_other, submit,
};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/jobs", get(jobs))
        .route("/jobs/{id}", get(job))
        .route("/jobs/{id}/check-in", post(check_in))
        .route("/jobs/{id}/complete", post(complete))
}

const WORKER: &[Role] = &[Role::Worker];

/// The statuses a worker's list offers.
const JOB_TABS: [Status; 4] = [
    Status::Active,
    Status::InProgress,
    Status::Completed,
    Status::Canceled,
];

/// `GET /jobs?status=`.
async fn jobs(
    State(portal): State<Portal>,
    current: Current,
    Query(q): Query<StatusQuery>,
) -> PageResult {
    let user = current.require(WORKER)?;
    let chosen = chosen_status(&q);
    let jobs = OrderingClient(portal.api("ordering", user)?)
        .jobs(&JobsQuery {
            status: chosen.map(str::to_owned),
            limit: None,
        })
        .await?;
    let c = current.chrome("menu.jobs");
    render(&OrdersPage {
        tabs: tabs(&c, "/jobs", &JOB_TABS, chosen),
        rows: jobs.iter().map(|o| OrderRow::of(&c, o, "/jobs")).collect(),
        heading: "menu.jobs",
        c,
    })
}

/// The job's page, with `form`'s refusal if there is one.
async fn job_page(
    portal: &Portal,
    current: &Current,
    id: OrderId,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(WORKER)?;
    let view = OrderingClient(portal.api("ordering", user)?)
        .order(id)
        .await?;
    render_with(
        status,
        &OrderPage::of(current.chrome("page.jobs"), view, true, form),
    )
}

/// `GET /jobs/{id}`.
async fn job(State(portal): State<Portal>, current: Current, Path(id): Path<String>) -> PageResult {
    job_page(
        &portal,
        &current,
        path_id::<OrderId>(&id)?,
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

/// The photo sent in `field`, or the refusal saying it is missing.
fn photo(current: &Current, form: &Fields, field: &str) -> Result<String, Refusal> {
    form.files
        .get(field)
        .map(|f| f.base64())
        .ok_or_else(|| Refusal::of(field, current.lang.t("error.photo")))
}

/// A step of the job taken with a photo (in the form's `field`, sent as `step` wants it):
/// then the job's page, or the form again with the refusal.
async fn photo_step<Fut>(
    (portal, current): (&Portal, &Current),
    id: &str,
    (form, field): (&Fields, &str),
    step: impl FnOnce(OrderingClient, OrderId, String) -> Fut,
) -> PageResult
where
    Fut: std::future::Future<Output = Result<Order, client::ClientError>>,
{
    let user = current.require(WORKER)?;
    let id = path_id::<OrderId>(id)?;
    let ordering = OrderingClient(portal.api("ordering", user)?);
    let asked = photo(current, form, field);
    match submit(asked, |photo| step(ordering, id, photo)).await? {
        Ok(_) => Ok(see_other(&format!("/jobs/{id}"))),
        Err(refused) => {
            let state = FormState::refused(Default::default(), &refused);
            job_page(portal, current, id, state, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `POST /jobs/{id}/check-in` (multipart: the photo from the camera).
async fn check_in(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    photo_step(
        (&portal, &current),
        &id,
        (&form, "photo"),
        |api, id, photo| async move { api.check_in(id, &CheckInRequest { photo }).await },
    )
    .await
}

/// `POST /jobs/{id}/complete` (multipart: the photo of the signed form).
async fn complete(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    photo_step(
        (&portal, &current),
        &id,
        (&form, "report_photo"),
        |api, id, report_photo| async move {
            api.complete(id, &CompleteRequest { report_photo }).await
        },
    )
    .await
}
