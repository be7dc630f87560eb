//! Pages rendered with made-up data: what a person sees, in both languages, with text from
//! the services escaped, refusals next to their fields and every form carrying the CSRF
//! token.

use auth::Role;
use chrono::{TimeZone, Utc};
use ordering::client::OrderView;

use crate::i18n::Lang;
use crate::pages::client::OrderPage;
use crate::session::{Session, User};
use crate::web::{Current, FormState, Refusal};

fn signed_in(roles: &[Role], lang: Lang) -> Current {
    Current {
        session: Session {
            user: Some(User {
                id: "0190c0de-0000-7000-8000-000000000001".into(),
                name: "Tom <the cat>".into(),
                email: "tom@cats.test".into(),
                roles: roles.to_vec(),
                access_token: "a".into(),
                refresh_token: "r".into(),
                expires_at: i64::MAX,
            }),
            ..Session::new()
        },
        lang,
        path: "/orders/x".into(),
    }
}

/// An order as Ordering answers it, in `status`.
fn order(status: &str) -> OrderView {
    let at = |h| Utc.with_ymd_and_hms(2026, 11, 3, h, 5, 0).unwrap();
    serde_json::from_value(serde_json::json!({
        "id": "0190c0de-0000-7000-8000-0000000000aa",
        "client_id": "0190c0de-0000-7000-8000-000000000001",
        "service_type_id": "0190c0de-0000-7000-8000-0000000000bb",
        "service_type_name": "Cleaning",
        "skill": "cleaning",
        "description": "<script>alert(1)</script> the dishes",
        "scheduled_at": at(14),
        "duration_minutes": 60,
        "status": status,
        "price": 123456,
        "approximate_price": 120000,
        "version": 2,
        "requested_at": at(9),
        "excluded_workers": [],
        "check_in_deadline": at(15),
        "history": [
            {"version": 1, "status": "requested", "at": at(9)},
            {"version": 2, "status": status, "at": at(10), "note": "by <b>matching</b>"}
        ],
        "kit_issued": false
    }))
    .expect("an order view")
}

fn render(page: &OrderPage) -> String {
    askama::Template::render(page).unwrap()
}

#[test]
fn a_clients_active_order_shows_its_price_history_and_cancel_form_escaped() {
    // Given a client's active order whose texts carry markup
    let current = signed_in(&[Role::Client], Lang::En);
    let page = OrderPage::of(
        current.chrome("orders.title"),
        order("active"),
        false,
        FormState::default(),
    );
    // When its page is drawn
    let html = render(&page);
    // Then the price is units with two decimals, the times are English, the markup is text
    assert!(html.contains("1,234.56"), "{html}");
    assert!(html.contains("3 Nov 2026, 14:05 UTC"));
    assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<b>matching"));
    assert!(html.contains("Tom &#60;the cat&#62;") || html.contains("Tom &lt;the cat&gt;"));
    // And only the client's actions are offered, each form with the session's token
    assert!(html.contains("/orders/0190c0de-0000-7000-8000-0000000000aa/cancel"));
    assert!(!html.contains("check-in"));
    assert!(!html.contains("id=\"rebook\""));
    let forms = html.matches("method=\"post\"").count();
    let tokens = html
        .matches(&format!("name=\"csrf\" value=\"{}\"", current.session.csrf))
        .count();
    assert_eq!(forms, tokens, "every form carries the CSRF token");
    // And the menus are the client's only
    assert!(html.contains("href=\"/orders/new\""));
    assert!(!html.contains("href=\"/admin/accounts\""));
    assert!(!html.contains("href=\"/jobs\""));
}

#[test]
fn a_failed_order_offers_the_rebook_form_with_its_refusal_next_to_the_date_in_russian() {
    // Given a client's failed order, and Ordering's refusal of the date typed
    let current = signed_in(&[Role::Client], Lang::Ru);
    let refusal = Refusal {
        field: Some("scheduled_at".into()),
        message: "must be in the future".into(),
    };
    let typed = [("scheduled_at".to_owned(), "2020-01-01T10:00".to_owned())].into();
    let page = OrderPage::of(
        current.chrome("orders.title"),
        order("failed"),
        false,
        FormState::refused(typed, &refusal),
    );
    // When its page is drawn
    let html = render(&page);
    // Then it is Russian, offers the rebook form, and says what is wrong next to the field
    assert!(html.contains("lang=\"ru\""));
    // (its switch offers English, marked as English)
    assert!(html.contains("hx-boost=\"false\" lang=\"en\">English</a>"));
    assert!(html.contains("Сорван"));
    assert!(html.contains("1\u{a0}234,56"));
    assert!(html.contains("03.11.2026, 14:05 UTC"));
    assert!(html.contains("id=\"rebook\""));
    assert!(html.contains("aria-describedby=\"scheduled_at-error\""));
    assert!(html.contains("id=\"scheduled_at-error\">must be in the future</p>"));
    assert!(html.contains("value=\"2020-01-01T10:00\""));
    assert!(!html.contains("/cancel\""));
}

#[test]
fn a_workers_job_offers_the_camera_for_check_in_and_nothing_of_the_clients() {
    // Given the worker's active job, its kit not issued yet
    let current = signed_in(&[Role::Worker], Lang::En);
    let page = OrderPage::of(
        current.chrome("page.jobs"),
        order("active"),
        true,
        FormState::default(),
    );
    // When its page is drawn
    let html = render(&page);
    // Then the check-in form takes a photo from the phone's camera, and the worker is told
    // to pick up the kit first; no client action is offered
    assert!(html.contains("/jobs/0190c0de-0000-7000-8000-0000000000aa/check-in"));
    assert!(html.contains("enctype=\"multipart/form-data\""));
    assert!(html.contains("accept=image/* capture=environment"));
    assert!(html.contains("The supply kit is not issued yet"));
    assert!(!html.contains("/cancel"));
    assert!(!html.contains("/complete"));
    assert!(html.contains("href=\"/jobs\""));
}

#[test]
fn a_managers_menu_links_the_register_samples_awards_statements_and_summary() {
    let html = {
        let current = signed_in(&[Role::Manager], Lang::Ru);
        let page = crate::pages::books::StatementPage {
            c: current.chrome("menu.statements"),
            name: "Tom <cat>".into(),
            account: "worker:0190c0de-0000-7000-8000-000000000001".into(),
            balance: "-36,06".into(),
            rows: Vec::new(),
        };
        askama::Template::render(&page).unwrap()
    };
    for href in [
        "/hypotheses",
        "/samples",
        "/awards",
        "/statements",
        "/summary",
    ] {
        assert!(html.contains(&format!("href=\"{href}\"")), "{href}");
    }
    assert!(html.contains("Выписки"));
    assert!(!html.contains("Tom <cat>"));
    // A client sees none of them
    let client = signed_in(&[Role::Client], Lang::En).chrome("menu.money");
    assert!(
        !client
            .menu
            .iter()
            .any(|m| m.href == "/awards" || m.href == "/hypotheses")
    );
}

#[test]
fn an_award_refused_shows_the_reason_next_to_its_field_keeping_the_worker_chosen() {
    let current = signed_in(&[Role::Manager], Lang::En);
    let refusal = Refusal {
        field: Some("amount".into()),
        message: "must be 1 to 100000 minor units".into(),
    };
    let typed = [
        ("worker_id".to_owned(), "w-2".to_owned()),
        ("amount".to_owned(), "5000".to_owned()),
    ]
    .into();
    let page = crate::pages::books::AwardsPage {
        c: current.chrome("menu.awards"),
        workers: vec![("w-1".into(), "Felix".into()), ("w-2".into(), "Leo".into())],
        rows: Vec::new(),
        form: FormState::refused(typed, &refusal).keyed(),
    };
    let html = askama::Template::render(&page).unwrap();
    assert!(html.contains("id=\"amount-error\">must be 1 to 100000 minor units</p>"));
    assert!(
        html.contains("<option value=\"w-2\" selected>Leo</option>"),
        "{html}"
    );
    assert!(html.contains("name=\"key\" value=\""));
    assert!(!html.contains("name=\"key\" value=\"\""));
    assert!(html.contains(&format!("name=\"csrf\" value=\"{}\"", current.session.csrf)));
}

#[test]
fn a_sample_refused_says_why_next_to_the_size_and_draws_keep_their_seed() {
    let current = signed_in(&[Role::Manager], Lang::En);
    let refusal = Refusal {
        field: Some("size".into()),
        message: "1 to 100".into(),
    };
    let page = crate::pages::register::SamplesPage {
        c: current.chrome("menu.samples"),
        rows: vec![crate::pages::register::DrawRow {
            when: "3 Nov 2026, 14:05 UTC".into(),
            seed: -42,
            size: 2,
            candidates: 5,
            orders: vec!["0190c0de-0000-7000-8000-0000000000aa".into()],
        }],
        form: FormState::refused([("size".to_owned(), "500".to_owned())].into(), &refusal),
    };
    let html = askama::Template::render(&page).unwrap();
    assert!(html.contains("id=\"size-error\">1 to 100</p>"));
    assert!(html.contains("<code>-42</code>"));
    assert!(html.contains("href=\"/quality/orders/0190c0de-0000-7000-8000-0000000000aa\""));
}
