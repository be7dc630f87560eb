//! The language a person reads: chosen by them (`PUT /me/language`), or taken from the
//! application they were hired from; announced to the contexts that mail them, and given
//! with IAM's own mails.

use auth::Role;
use contracts::hiring::WorkerHired;
use contracts::{ApplicationId, Envelope, WorkerId};
use messaging::Handler;

use super::{admin, app, as_account, iam, person};
use crate::client::{ForgotForm, LanguageChoice};
use crate::events::OnWorkerHired;
use crate::store;

/// What `app` published of `event_type` (whole envelopes), oldest first.
async fn outbox(app: &crate::App, event_type: &str) -> Vec<serde_json::Value> {
    use storage::Row;
    storage::query("SELECT body FROM outbox WHERE event_type = $1 ORDER BY seq")
        .bind(event_type)
        .fetch_all(app.ctx.db.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str(&r.get::<String, _>("body")).unwrap())
        .collect()
}

fn choice(tag: &str) -> LanguageChoice {
    LanguageChoice {
        language: tag.into(),
    }
}

#[tokio::test]
async fn a_person_chooses_russian_once_and_iam_announces_and_mails_in_it() {
    // Given Kim, a client who never chose a language
    let ts = iam().await;
    let kim = admin(&ts)
        .create_account(&person("kim", &["client"]), None)
        .await
        .unwrap();
    assert_eq!(kim.language, None);
    let me = as_account(&ts, kim.id, &[Role::Client]);

    // When she chooses Russian (a regional tag), then twice more the same
    assert_eq!(
        me.set_language(&choice("ru-RU")).await.unwrap().language,
        "ru"
    );
    assert_eq!(me.set_language(&choice("RU")).await.unwrap().language, "ru");
    // And a language nobody writes is refused, naming the field
    let e = me.set_language(&choice("fr")).await.unwrap_err();
    assert_eq!(
        (e.status().map(|s| s.as_u16()), e.field()),
        (Some(422), Some("language"))
    );

    // Then the change was announced once, with her whole state and the language
    let changed = ts.published("iam.account.changed").await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["data"]["language"], "ru");
    assert_eq!(changed[0]["data"]["email"], "kim@cats.test");
    // And admins see it
    let account = admin(&ts).account(&kim.id.to_string()).await.unwrap();
    assert_eq!(account.language.as_deref(), Some("ru"));
    // And IAM's own mail to her says it (the forgotten password's link)
    let ask = ForgotForm {
        email: Some("kim@cats.test".into()),
        lang: None,
    };
    super::anonymous(&ts).forgot_password(&ask).await.unwrap();
    let mails = ts.published("iam.mail.requested").await;
    let reset = mails
        .iter()
        .find(|m| m["data"]["request"]["template"] == "password_reset")
        .unwrap_or_else(|| panic!("{mails:?}"));
    assert_eq!(reset["data"]["request"]["language"], "ru");
    // And its link opens the set-password page in Russian
    let link = reset["data"]["request"]["variables"]["link"]
        .as_str()
        .unwrap();
    let (token, lang) = link
        .split_once("?token=")
        .and_then(|(_, rest)| rest.split_once("&lang="))
        .unwrap_or_else(|| panic!("{link}"));
    assert_eq!(lang, "ru");
    let page = super::anonymous(&ts)
        .password_page(token, Some(lang))
        .await
        .unwrap();
    assert_eq!(page.status, axum::http::StatusCode::OK);
    let html = page.text();
    assert!(html.contains(r#"<html lang="ru">"#), "{html}");
    assert!(html.contains("<h1>Выберите пароль</h1>"));
    // And a too short password posted from it is refused in Russian
    let short = crate::client::SetPasswordForm {
        token: Some(token.to_owned()),
        password: Some("short".into()),
        lang: Some(lang.to_owned()),
    };
    let refused = super::anonymous(&ts).set_password(&short).await.unwrap();
    assert_eq!(refused.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .contains("Пароль должен содержать от 12 до 200 символов."),
        "{}",
        refused.text()
    );
}

#[tokio::test]
async fn a_worker_hired_from_a_russian_application_is_invited_in_russian() {
    // Given Hiring hired Zoe, who applied in Russian
    let (app, _test) = app().await;
    let worker_id = WorkerId::new();
    let hired = WorkerHired {
        worker_id,
        application_id: ApplicationId::new(),
        name: "Зоя".into(),
        age: 3,
        breed: "Siamese".into(),
        coat_colour: "cream".into(),
        email: "zoe@cats.test".into(),
        photo_url: "http://hiring.test/applications/x/photo".into(),
        characteristics: [("cleaning".to_owned(), 100)].into(),
        strengths: vec!["cleaning".into()],
        weaknesses: vec![],
        language: Some("ru".into()),
    };
    // When IAM hears of it
    let mut work = app.ctx.begin().await.unwrap();
    OnWorkerHired { app: app.clone() }
        .handle(&mut work, &Envelope::new(&hired, 2, None))
        .await
        .unwrap();
    work.commit().await.unwrap();

    // Then her account reads Russian, announced so, and the invite is asked for in Russian
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let account = store::account(&mut conn, worker_id.into())
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert_eq!(account.language.as_deref(), Some("ru"));
    let created = outbox(&app, "iam.account.created").await;
    let zoe = created
        .iter()
        .find(|e| e["data"]["email"] == "zoe@cats.test")
        .unwrap_or_else(|| panic!("{created:?}"));
    assert_eq!(zoe["data"]["language"], "ru");
    let mails = outbox(&app, "iam.mail.requested").await;
    let invite = mails
        .iter()
        .find(|m| m["data"]["request"]["template"] == "set_password_invite")
        .unwrap_or_else(|| panic!("{mails:?}"));
    assert_eq!(invite["data"]["request"]["language"], "ru");
    // And its link opens IAM's page in Russian
    let link = invite["data"]["request"]["variables"]["link"]
        .as_str()
        .unwrap();
    assert!(link.ends_with("&lang=ru"), "{link}");
}
