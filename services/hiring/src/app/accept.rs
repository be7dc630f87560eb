use contracts::hiring::WorkerHired;
use contracts::{ApplicationId, Envelope, WorkerId};
use service::Refused;
use storage::AnyConnection;

use crate::App;
use crate::domain::{Application, Hired};
use crate::error::HiringError;
use crate::store;

/// A manager accepts: the results become characteristics and the candidate is hired
/// (WorkerHired: IAM makes the account, Matching the normal sample).
pub async fn accept(app: &App, id: ApplicationId) -> Result<(Application, Hired), HiringError> {
    let mut work = app.ctx.begin().await?;
    let a = store::application(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("application"))?;
    let results: Vec<(String, i64)> = store::assignments(&mut work, id)
        .await?
        .into_iter()
        .filter_map(|t| t.score.map(|s| (t.characteristic, s)))
        .collect();
    let worker_id = worker_id_for(&mut work, &a.email).await?;
    let (accepted, hired) = a.accept(&results, worker_id)?;
    if !store::decide(&mut work, &accepted, app.now()).await? {
        return Err(HiringError::closed());
    }
    let event = WorkerHired {
        worker_id,
        application_id: id,
        name: accepted.name.clone(),
        age: accepted.age,
        breed: accepted.breed.clone(),
        coat_colour: accepted.coat_colour.clone(),
        email: accepted.email.clone(),
        photo_url: format!("{}/applications/{id}/photo", app.ctx.public_url),
        characteristics: hired.characteristics.clone(),
        strengths: hired.strengths.clone(),
        weaknesses: hired.weaknesses.clone(),
        language: accepted.language.clone(),
    };
    work.publish(&Envelope::new(&event, accepted.version, None))
        .await?;
    work.commit().await?;
    Ok((accepted, hired))
}

/// The id the hired candidate works under. One person has one identity across contexts: a
/// candidate who already has an account (a client, say) is hired under that account's id,
/// so the jobs Matching assigns to the worker are the jobs she sees when she signs in. Else
/// a new id, which IAM gives the account it then creates. Should the account appear after
/// Hiring last heard from IAM, IAM refuses the hire rather than split the person in two.
async fn worker_id_for(conn: &mut AnyConnection, email: &str) -> Result<WorkerId, HiringError> {
    Ok(store::account_by_email(conn, email)
        .await?
        .map_or_else(WorkerId::new, WorkerId::from))
}
