//! Hiring's `WorkerHired`, applied by IAM's consumer.

use auth::Role;
use contracts::hiring::WorkerHired;
use contracts::{AccountId, ApplicationId, Envelope, WorkerId};
use messaging::{Handler, HandlerError};

use super::app;
use crate::App;
use crate::domain::account::{Account, Status};
use crate::events::OnWorkerHired;
use crate::{app as use_case, store};

fn hired(worker_id: WorkerId, email: &str) -> Envelope {
    let hired = WorkerHired {
        worker_id,
        application_id: ApplicationId::new(),
        name: "Zoe".into(),
        age: 3,
        breed: "Siamese".into(),
        coat_colour: "cream".into(),
        email: email.into(),
        photo_url: "http://hiring.test/applications/x/photo".into(),
        characteristics: [("cleaning".to_owned(), 100)].into(),
        strengths: vec!["cleaning".into()],
        weaknesses: vec![],
        language: None,
    };
    Envelope::new(&hired, 2, None)
}

async fn handle(app: &App, event: &Envelope) -> Result<(), HandlerError> {
    let mut work = app.ctx.begin().await.unwrap();
    let result = OnWorkerHired { app: app.clone() }
        .handle(&mut work, event)
        .await;
    work.commit().await.unwrap();
    result
}

#[tokio::test]
async fn a_hire_under_another_id_than_the_existing_account_is_rejected_naming_both() {
    // Given Zoe, a client
    let (app, _test) = app().await;
    let zoe = Account {
        id: AccountId::new(),
        email: "zoe@cats.test".into(),
        name: "Zoe".into(),
        roles: vec![Role::Client],
        status: Status::Active,
        language: None,
    };
    let mut work = app.ctx.begin().await.unwrap();
    use_case::add_account(&app, &mut work, &zoe, None)
        .await
        .unwrap();
    work.commit().await.unwrap();

    // When she is hired under a new id (the account appeared after Hiring last heard)
    let other = WorkerId::new();
    match handle(&app, &hired(other, "Zoe@Cats.test")).await {
        // Then the hire is rejected, naming both ids
        Err(HandlerError::Rejected(message)) => {
            assert!(
                message.contains(&other.to_string()) && message.contains(&zoe.id.to_string()),
                "{message}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let account = store::account(&mut conn, zoe.id).await.unwrap().unwrap();
    assert_eq!(account.roles, vec![Role::Client], "nothing changed");
    assert!(
        store::account(&mut conn, other.into())
            .await
            .unwrap()
            .is_none()
    );
    drop(conn);

    // When hired under her own account's id, then she keeps it and becomes a worker too
    handle(&app, &hired(zoe.id.into(), "zoe@cats.test"))
        .await
        .unwrap();
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let account = store::account(&mut conn, zoe.id).await.unwrap().unwrap();
    assert!(account.roles.contains(&Role::Worker), "{:?}", account.roles);
    assert!(account.roles.contains(&Role::Client), "{:?}", account.roles);
}

#[tokio::test]
async fn a_new_worker_gets_an_account_and_an_invite_in_the_same_work() {
    // Given nobody with Mia's e-mail
    let (app, _test) = app().await;
    let worker = WorkerId::new();
    // When she is hired
    handle(&app, &hired(worker, "mia@cats.test")).await.unwrap();
    // Then her account has the worker's id, and the invite is in the outbox beside it
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let account = store::account(&mut conn, worker.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.roles, vec![Role::Worker]);
    let types: Vec<String> = storage::query_scalar("SELECT event_type FROM outbox ORDER BY seq")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    assert!(
        types.iter().any(|t| t == "iam.account.created")
            && types.iter().any(|t| t == "iam.mail.requested"),
        "{types:?}"
    );
}
