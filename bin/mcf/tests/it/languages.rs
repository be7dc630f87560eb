//! Mails in the recipient's language, end to end: a candidate who applied in Russian gets
//! Hiring's mails and, once hired, IAM's invite in Russian; a client who chose Russian gets
//! Ordering's confirmation in Russian, its date and price as Russian writes them; a client
//! who said nothing gets English.

use std::time::{Duration, Instant};

use base64::Engine;
use contracts::{Money, TestId};
use iam::client::{IamClient, LanguageChoice};
use mail::client::{MailClient, MessageOut, SearchQuery};
use mail::templates::Language;

use crate::harness::{Cluster, Mode};
use crate::hiring::{answers, candidate, cleaning_test, form, hiring_as};

/// The message of `template` to `to` once Mail holds it (as an admin searches).
async fn message(c: &mut Cluster, to: &str, template: &str) -> MessageOut {
    let mail = MailClient(c.admin_client("mail").await);
    let start = Instant::now();
    loop {
        let query = SearchQuery {
            to: Some(to.into()),
            ..SearchQuery::default()
        };
        if let Some(m) = mail
            .search(&query)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.template == template)
        {
            return m;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no {template} mail to {to}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The text part of the `.eml` file Mail wrote for `message`, decoded (base64 or
/// quoted-printable, as the transport chose for it).
async fn text_of(c: &Cluster, message: &MessageOut) -> String {
    let suffix = format!("_{}.eml", message.id);
    let start = Instant::now();
    let eml = loop {
        let found = std::fs::read_dir(c.mail_dir()).ok().and_then(|dir| {
            dir.filter_map(Result::ok)
                .find(|f| f.file_name().to_string_lossy().ends_with(&suffix))
        });
        if let Some(file) = found {
            break std::fs::read_to_string(file.path()).unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{message:?} not delivered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let part = eml
        .split("Content-Type: text/plain")
        .nth(1)
        .unwrap_or_else(|| panic!("no text part: {eml}"));
    let (headers, body) = part.split_once("\r\n\r\n").unwrap();
    let body = body.split("\r\n--").next().unwrap();
    if headers.contains("base64") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body.split_whitespace().collect::<String>())
            .unwrap();
        String::from_utf8(bytes).unwrap()
    } else {
        quoted_printable(body)
    }
}

/// Quoted-printable (RFC 2045 6.7) back to text: soft line breaks dropped, `=XX` bytes.
fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "").replace("\r\n", "\n");
    let mut bytes = Vec::new();
    let raw = joined.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        match (raw[i], raw.get(i + 1..i + 3)) {
            (b'=', Some(hex)) => {
                let hex = std::str::from_utf8(hex).unwrap();
                bytes.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            (b, _) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(bytes).unwrap()
}

pub async fn a_russian_speaker_is_mailed_in_russian(mode: Mode) {
    // Given a manager's test and a service to order
    let mut c = Cluster::start(mode).await;
    let boss = c.token_for("boss", "manager").await;
    let test_id: TestId = cleaning_test(&mut c, &boss, "Dishes")
        .await
        .parse()
        .unwrap();
    let service_type = c.service_type().await.parse().unwrap();

    // When Lev applies with the form in Russian
    let mut lev = form("Лев", "lev@cats.test");
    lev.language = Some("ru".into());
    let application = candidate(&mut c).apply(&lev, None).await.unwrap().id;
    // Then Hiring's acknowledgement is in Russian
    let received = message(&mut c, "lev@cats.test", "application_received").await;
    assert_eq!(received.subject, "Мы получили вашу анкету, Лев");
    // And so is his tests' mail, whose link opens the portal
    let manager = hiring_as(&mut c, &boss);
    manager.assign_tests(application, &[test_id]).await.unwrap();
    let tests = message(&mut c, "lev@cats.test", "tests_assigned").await;
    assert_eq!(tests.subject, "Ваши тесты MCF готовы");
    let text = text_of(&c, &tests).await;
    assert!(text.starts_with("Здравствуйте, Лев!"), "{text}");
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/take?token="))
        .unwrap_or_else(|| panic!("no link: {text}"));
    assert!(!link.contains("/api/"), "{link}");
    let token = link.split("token=").nth(1).unwrap();
    candidate(&mut c)
        .take(&answers(token, test_id, &[1, 1]))
        .await
        .unwrap();
    // When he is hired, then IAM's invite (his new account's first mail) is in Russian
    manager.accept(application).await.unwrap();
    let invite = message(&mut c, "lev@cats.test", "set_password_invite").await;
    assert_eq!(
        invite.subject,
        "Добро пожаловать в MCF, Лев: выберите пароль"
    );
    let text = text_of(&c, &invite).await;
    assert!(text.starts_with("Здравствуйте, Лев!"), "{text}");

    // Given two clients, Kim who chose Russian (as the portal's switch does) and Tom who
    // never said (an unknown language is refused), and a worker to send
    let kim = c.token_for("kim", "client").await;
    let chosen = IamClient(c.client("iam", &kim))
        .set_language(&LanguageChoice {
            language: "ru-RU".into(),
        })
        .await
        .unwrap();
    assert_eq!(chosen.language, "ru");
    let tom = c.token_for("tom", "client").await;
    let e = IamClient(c.client("iam", &tom))
        .set_language(&LanguageChoice {
            language: "klingon".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (e.status().map(|s| s.as_u16()), e.field()),
        (Some(422), Some("language"))
    );
    c.register_worker("max", 90).await;

    // When each orders, at 14:05 UTC tomorrow
    let at = (chrono::Utc::now() + chrono::Duration::days(1))
        .date_naive()
        .and_hms_opt(14, 5, 0)
        .unwrap()
        .and_utc();
    let kims = crate::lifecycle::order(&mut c, &kim, service_type, at).await;
    let toms = crate::lifecycle::order(&mut c, &tom, service_type, at).await;
    let price = |order: serde_json::Value| Money::from_minor(order["price"].as_i64().unwrap());
    let kims = price(crate::lifecycle::wait_status(&mut c, kims, "active").await);
    let toms = price(crate::lifecycle::wait_status(&mut c, toms, "active").await);

    // Then Kim's confirmation is in Russian, with the date and the price as Russian writes
    // them; Tom's in English
    let confirmed = message(&mut c, "kim@cats.test", "order_activated").await;
    assert_eq!(confirmed.subject, "Ваш заказ «Cleaning» подтверждён");
    let text = text_of(&c, &confirmed).await;
    let day = at.format("%d.%m.%Y").to_string();
    assert!(
        text.contains(&format!(
            "придёт {day}, 14:05 UTC. Цена: {}.",
            Language::Ru.money(kims)
        )),
        "{text}"
    );
    let confirmed = message(&mut c, "tom@cats.test", "order_activated").await;
    assert_eq!(confirmed.subject, "Your order for Cleaning is confirmed");
    let text = text_of(&c, &confirmed).await;
    let day = at.format("%-d %b %Y").to_string();
    assert!(
        text.contains(&format!(
            "will come on {day}, 14:05 UTC. Price: {}.",
            Language::En.money(toms)
        )),
        "{text}"
    );
}
