//! Mails in the recipient's language: the sender's word, else the language IAM announced
//! for the address, else English.

use std::sync::Arc;

use auth::Role;
use contracts::iam::{AccountChanged, AccountCreated};
use contracts::{AccountId, Envelope};
use messaging::Consumer;
use service::testing::{TestService, deliver};

use super::{as_, mail, payout};
use crate::client::MailClient;
use crate::events::{ON_ACCOUNT, OnAccount};

fn on_account(ts: &TestService) -> Consumer {
    ts.ctx().consumer(ON_ACCOUNT, Arc::new(OnAccount))
}

/// IAM's announcement of Tom's account at `version`, reading `language`.
fn tom(id: AccountId, version: i64, language: Option<&str>) -> Envelope {
    let language = language.map(str::to_owned);
    if version == 1 {
        let created = AccountCreated {
            account_id: id,
            email: "tom@cats.test".into(),
            name: "Tom".into(),
            roles: vec!["worker".into()],
            language,
        };
        return Envelope::new(&created, 1, None);
    }
    let changed = AccountChanged {
        account_id: id,
        email: "tom@cats.test".into(),
        name: "Tom".into(),
        roles: vec!["worker".into()],
        status: "active".into(),
        language,
    };
    Envelope::new(&changed, version, None)
}

/// The subject of the payout notice asked for under `key`, in `language` if given.
async fn subject(service: &MailClient, key: &str, language: Option<&str>) -> String {
    let mut asked = payout(key);
    asked.language = language.map(str::to_owned);
    let queued = service.submit(&asked).await.unwrap();
    service
        .message(&queued.id.to_string())
        .await
        .unwrap()
        .subject
}

#[tokio::test]
async fn a_mail_is_written_in_the_language_iam_announced_for_its_recipient() {
    let ts = mail().await;
    let service = as_(&ts, &[Role::Service]);
    let consumer = on_account(&ts);
    let id = AccountId::new();
    // Given nothing is known of Tom: English
    assert_eq!(
        subject(&service, "k1", None).await,
        "Your MCF payout for May"
    );
    // When IAM announces he reads Russian (version 2)
    deliver(&consumer, &tom(id, 2, Some("ru"))).await;
    // Then a mail to him (any case of his address) without a language is in Russian
    assert_eq!(
        subject(&service, "k2", None).await,
        "Ваша выплата MCF за May"
    );
    // And the sender's word wins, while a language Mail does not write counts as unsaid
    assert_eq!(
        subject(&service, "k3", Some("en")).await,
        "Your MCF payout for May"
    );
    assert_eq!(
        subject(&service, "k4", Some("fr")).await,
        "Ваша выплата MCF за May"
    );
    // When the older announcement (version 1, English) arrives late, then nothing changes
    deliver(&consumer, &tom(id, 1, Some("en"))).await;
    assert_eq!(
        subject(&service, "k5", None).await,
        "Ваша выплата MCF за May"
    );
    // And a newer change without a language (he never chose again) keeps his choice
    deliver(&consumer, &tom(id, 3, None)).await;
    assert_eq!(
        subject(&service, "k6", None).await,
        "Ваша выплата MCF за May"
    );
    // When he switches to English, then his next mail is in English
    deliver(&consumer, &tom(id, 4, Some("en-GB"))).await;
    assert_eq!(
        subject(&service, "k7", None).await,
        "Your MCF payout for May"
    );
}
