//! A worker's pages (phone first): jobs by status, a job's page, checking in with a photo
//! from the phone's camera, finishing with the photo of the signed form.

use auth::Role;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use contracts::OrderId;
use ordering::client::{CheckInRequest, CompleteRequest, JobsQuery, OrderingClient};
use ordering::domain::order::Status;

use crate::Portal;
use crate::form::Fields;
use crate::pages::client::{
    OrderPage, OrderRow, OrdersPage, StatusQuery, chosen_status, order_id, tabs,
};
use crate::web::{
    Current, FormState, PageResult, Refusal, refusal, render, render_with, see_other,
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
        order_id(&id)?,
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
        .ok_or_else(|| Refusal {
            field: Some(field.into()),
            message: current.lang.t("error.photo").into(),
        })
}

/// After a photo was taken: the job's page, or the form again with the refusal.
async fn after(
    portal: &Portal,
    current: &Current,
    id: OrderId,
    result: Result<(), Refusal>,
) -> PageResult {
    match result {
        Ok(()) => Ok(see_other(&format!("/jobs/{id}"))),
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
    let user = current.require(WORKER)?;
    let id = order_id(&id)?;
    let result = match photo(&current, &form, "photo") {
        Ok(photo) => refusal(
            OrderingClient(portal.api("ordering", user)?)
                .check_in(id, &CheckInRequest { photo })
                .await,
        )?
        .map(drop),
        Err(refused) => Err(refused),
    };
    after(&portal, &current, id, result).await
}

/// `POST /jobs/{id}/complete` (multipart: the photo of the signed form).
async fn complete(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(WORKER)?;
    let id = order_id(&id)?;
    let result = match photo(&current, &form, "report_photo") {
        Ok(report_photo) => refusal(
            OrderingClient(portal.api("ordering", user)?)
                .complete(id, &CompleteRequest { report_photo })
                .await,
        )?
        .map(drop),
        Err(refused) => Err(refused),
    };
    after(&portal, &current, id, result).await
}
