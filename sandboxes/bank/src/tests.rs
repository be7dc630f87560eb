//! The bank served on a real socket and called over HTTP, so the faults of the connection
//! (a timeout, a reset) are seen as a caller sees them.

use serde_json::{Value, json};

use super::*;

/// A bank on a free port, its URL, a caller that gives up after 10 s, a client's payment
/// method and a worker's account.
struct Given {
    bank: Sandbox,
    url: String,
    http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
    card: String,
    account: String,
}

impl Drop for Given {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn given_a_bank(faults: Faults) -> Given {
    let bank = Sandbox::new(Settings { faults });
    let (addr, task) = bank.clone().start("127.0.0.1:0").await.unwrap();
    let card = bank.register_payment_method("Tom", false).token;
    let account = bank.open_account("Felix").number;
    Given {
        bank,
        url: format!("http://{addr}"),
        http: reqwest::Client::builder()
            // Generous: a loaded CI machine (the slow fault's test sets its own, shorter).
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        task,
        card,
        account,
    }
}

impl Given {
    /// POSTs `body` to `path` under `key`: the status and body, or the transport error.
    async fn post(
        &self,
        path: &str,
        key: Option<&str>,
        body: Value,
    ) -> Result<(u16, Value), String> {
        let mut request = self.http.post(format!("{}{path}", self.url)).json(&body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.map_err(|e| format!("{e:?}"))?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or_default()))
    }

    async fn collect(&self, key: &str, amount: i64) -> Result<(u16, Value), String> {
        let body = json!({"payment_method": self.card, "amount": amount, "reference": "inv-1"});
        self.post("/collections", Some(key), body).await
    }

    async fn pay_out(&self, key: &str, amount: i64) -> Result<(u16, Value), String> {
        let body = json!({"account": self.account, "amount": amount, "reference": "inv-2"});
        self.post("/payouts", Some(key), body).await
    }

    fn executed(&self, key: &str) -> Vec<Operation> {
        self.bank.statement(&StatementQuery {
            key: Some(key.into()),
            ..StatementQuery::default()
        })
    }
}

fn once(faults: Faults) -> Faults {
    Faults {
        times: Some(1),
        ..faults
    }
}

#[tokio::test]
async fn given_the_same_key_and_body_twice_then_one_operation_and_the_same_answer() {
    let g = given_a_bank(Faults::default()).await;
    // When the same payout is sent twice
    let (first, a) = g.pay_out("payout-1", 500).await.unwrap();
    let (second, b) = g.pay_out("payout-1", 500).await.unwrap();
    // Then it was executed once and answered the same
    assert_eq!((first, second), (201, 201));
    assert_eq!(a, b);
    assert_eq!(g.executed("payout-1").len(), 1);
    assert_eq!(g.bank.account(&g.account).unwrap().balance, 500);
    // And the same key with another body is refused, nothing executed
    let (status, refused) = g.pay_out("payout-1", 501).await.unwrap();
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    // And without a key nothing is executed
    let body = json!({"account": g.account, "amount": 5, "reference": "x"});
    let (status, refused) = g.post("/payouts", None, body).await.unwrap();
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("idempotency_key_missing"))
    );
    assert_eq!(g.bank.statement(&StatementQuery::default()).len(), 1);
    assert_eq!(g.bank.account(&g.account).unwrap().balance, 500);
}

#[tokio::test]
async fn given_a_timeout_after_executing_then_the_money_moved_and_the_retry_answers_it() {
    let mut g = given_a_bank(once(Faults {
        slow_ms: 20_000,
        ..Faults::default()
    }))
    .await;
    // A caller giving up after 2 s (the bank answers 10 times later)
    g.http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    // When the caller gives up before the answer
    let lost = g.collect("invoice-1", 1_200).await;
    // Then it saw a timeout, though the bank executed the collection (maybe only after the
    // caller gave up, on a loaded CI machine)
    assert!(
        lost.as_ref()
            .is_err_and(|e| e.contains("TimedOut") || e.contains("timed out")),
        "{lost:?}"
    );
    testing::eventually(Duration::from_secs(10), "the collection executed", || {
        !g.executed("invoice-1").is_empty()
    })
    .await;
    assert_eq!(g.executed("invoice-1").len(), 1);
    // And the retry under the same key answers the same operation, executing nothing new
    let (status, op) = g.collect("invoice-1", 1_200).await.unwrap();
    assert_eq!(status, 201);
    assert_eq!(
        op["operation_id"].as_str(),
        Some(g.executed("invoice-1")[0].operation_id.as_str())
    );
    assert_eq!(g.bank.payment_method(&g.card).unwrap().collected, 1_200);
}

#[tokio::test]
async fn given_a_500_after_executing_then_the_retry_answers_the_executed_operation() {
    let g = given_a_bank(once(Faults {
        error_after_work: true,
        ..Faults::default()
    }))
    .await;
    let (failed, problem) = g.pay_out("payout-1", 700).await.unwrap();
    assert_eq!((failed, problem["code"].as_str()), (500, Some("internal")));
    assert_eq!(g.executed("payout-1").len(), 1);
    let (ok, _) = g.pay_out("payout-1", 700).await.unwrap();
    assert_eq!(ok, 201);
    assert_eq!(g.executed("payout-1").len(), 1);
    assert_eq!(g.bank.account(&g.account).unwrap().balance, 700);
}

#[tokio::test]
async fn given_a_reset_after_executing_then_the_connection_closes_and_the_money_moved() {
    let g = given_a_bank(once(Faults {
        reset: true,
        ..Faults::default()
    }))
    .await;
    let lost = g.pay_out("payout-1", 900).await;
    // A closed connection, not a timeout
    assert!(
        lost.as_ref().is_err_and(|e| !e.contains("TimedOut")),
        "{lost:?}"
    );
    assert_eq!(g.executed("payout-1").len(), 1);
    let (ok, _) = g.pay_out("payout-1", 900).await.unwrap();
    assert_eq!(ok, 201);
    assert_eq!(g.bank.account(&g.account).unwrap().balance, 900);
}

#[tokio::test]
async fn given_a_503_before_executing_then_nothing_moved_and_the_key_may_be_tried_again() {
    let g = given_a_bank(once(Faults {
        unavailable: true,
        ..Faults::default()
    }))
    .await;
    let (status, problem) = g.collect("invoice-1", 300).await.unwrap();
    assert_eq!(
        (status, problem["code"].as_str()),
        (503, Some("unavailable"))
    );
    assert!(g.executed("invoice-1").is_empty());
    let (ok, _) = g.collect("invoice-1", 300).await.unwrap();
    assert_eq!(ok, 201);
    assert_eq!(g.executed("invoice-1").len(), 1);
}

#[tokio::test]
async fn given_a_declining_payment_method_or_the_decline_flag_then_nothing_is_collected() {
    let g = given_a_bank(Faults::default()).await;
    // Given a card that declines
    let empty = g.bank.register_payment_method("Kim", true).token;
    let body = json!({"payment_method": empty, "amount": 100, "reference": "inv-9"});
    let (status, problem) = g
        .post("/collections", Some("invoice-9"), body)
        .await
        .unwrap();
    assert_eq!((status, problem["code"].as_str()), (402, Some("declined")));
    // When collections are declined by flag, for collections only
    g.bank.set_faults(once(Faults {
        decline: true,
        ..Faults::default()
    }));
    let (paid, _) = g.pay_out("payout-1", 100).await.unwrap();
    let (declined, _) = g.collect("invoice-1", 100).await.unwrap();
    assert_eq!((paid, declined), (201, 402));
    // Then nothing was collected, and the key is free for a later try
    assert!(g.executed("invoice-1").is_empty() && g.executed("invoice-9").is_empty());
    let (ok, _) = g.collect("invoice-1", 100).await.unwrap();
    assert_eq!(ok, 201);
}

#[tokio::test]
async fn given_faults_only_for_payouts_then_collections_pass() {
    let g = given_a_bank(Faults {
        unavailable: true,
        only: Some(OperationKind::Payout),
        ..Faults::default()
    })
    .await;
    let (collected, _) = g.collect("invoice-1", 100).await.unwrap();
    let (refused, _) = g.pay_out("payout-1", 100).await.unwrap();
    assert_eq!((collected, refused), (201, 503));
}

#[tokio::test]
async fn bad_input_is_refused_with_a_code_and_nothing_executes() {
    let g = given_a_bank(Faults::default()).await;
    let cases = [
        (
            "/payouts",
            json!({"account": g.account, "amount": 0, "reference": "r"}),
            "invalid_amount",
        ),
        (
            "/payouts",
            json!({"account": g.account, "amount": MAX_AMOUNT + 1, "reference": "r"}),
            "invalid_amount",
        ),
        (
            "/payouts",
            json!({"account": g.account, "amount": 5, "reference": " "}),
            "invalid_reference",
        ),
        (
            "/payouts",
            json!({"account": "GH000", "amount": 5, "reference": "r"}),
            "unknown_account",
        ),
        (
            "/payouts",
            json!({"account": g.account, "amount": "5", "reference": "r"}),
            "invalid_body",
        ),
        (
            "/collections",
            json!({"payment_method": "pm_x", "amount": 5, "reference": "r"}),
            "unknown_payment_method",
        ),
        (
            "/collections",
            json!({"payment_method": g.card, "amount": -5, "reference": "r"}),
            "invalid_amount",
        ),
        ("/accounts", json!({"holder": ""}), "invalid_holder"),
        ("/faults", json!({"reset": "yes"}), "invalid_body"),
    ];
    for (i, (path, body, code)) in cases.into_iter().enumerate() {
        let (status, problem) = if path == "/faults" {
            let r = g
                .http
                .put(format!("{}{path}", g.url))
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        } else {
            g.post(path, Some(&format!("k-{i}")), body).await.unwrap()
        };
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some(code)),
            "{path} {i}"
        );
    }
    assert!(g.bank.statement(&StatementQuery::default()).is_empty());
    assert_eq!(g.bank.faults(), Faults::default());
}

#[tokio::test]
async fn the_statement_filters_by_time_key_and_kind() {
    let g = given_a_bank(Faults::default()).await;
    g.collect("invoice-1", 100).await.unwrap();
    let between = Utc::now();
    g.pay_out("payout-1", 60).await.unwrap();
    let get = |query: &str| {
        let url = format!("{}/statement{query}", g.url);
        let http = g.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let keys = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| o["key"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = get("").await;
    assert_eq!(keys(&all), ["invoice-1", "payout-1"]);
    let since = between.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (_, later) = get(&format!("?since={}", since.replace('+', "%2B"))).await;
    assert_eq!(keys(&later), ["payout-1"]);
    let (_, earlier) = get(&format!("?until={since}")).await;
    assert_eq!(keys(&earlier), ["invoice-1"]);
    let (_, by_key) = get("?key=payout-1").await;
    assert_eq!(by_key[0]["account"].as_str(), Some(g.account.as_str()));
    let (_, collections) = get("?kind=collection").await;
    assert_eq!(keys(&collections), ["invoice-1"]);
    let (status, problem) = get("?since=yesterday").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("invalid_query"))
    );
}

/// A caller that does not follow redirects: the hosted pages' answers as the browser gets
/// them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `pairs` as a form body (`application/x-www-form-urlencoded`), as a browser posts it.
fn form(http: &reqwest::Client, url: String, pairs: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let body = pages::with_query("", pairs);
    http.post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.trim_start_matches('?').to_owned())
}

/// The query of a `Location`'s address, as pairs.
fn returned_query(location: &str) -> std::collections::HashMap<String, String> {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[tokio::test]
async fn a_person_adds_a_card_on_the_banks_page_and_returns_with_its_token() {
    let g = given_a_bank(Faults::default()).await;
    let http = browser();
    let back = "http://shop.test/money/bank?from=bank";
    // When the shop sends the browser to the card page with a name and a state
    let page = http
        .get(pages::with_query(
            &format!("{}/hosted/card", g.url),
            &[
                ("holder", "Tom <Cat>"),
                ("return_to", back),
                ("state", "s&1"),
            ],
        ))
        .send()
        .await
        .unwrap();
    // Then the form is shown, the name filled in and escaped, the state and address kept
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("value=\"Tom &lt;Cat&gt;\""), "{html}");
    assert!(html.contains("name=\"state\" value=\"s&amp;1\""), "{html}");
    assert!(
        html.contains("http://shop.test/money/bank?from=bank&amp;canceled=true&amp;state=s%261")
    );
    // When the person adds a card that declines
    let added = form(
        &http,
        format!("{}/hosted/card", g.url),
        &[
            ("holder", "Tom"),
            ("declines", "on"),
            ("return_to", back),
            ("state", "s&1"),
        ],
    )
    .send()
    .await
    .unwrap();
    // Then the browser returns to the shop with the new token and the state as it came
    assert_eq!(added.status(), 303);
    let location = added.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("http://shop.test/money/bank?from=bank&payment_method=pm_"));
    let query = returned_query(&location);
    assert_eq!(query["state"], "s%261");
    let method = g.bank.payment_method(&query["payment_method"]).unwrap();
    assert_eq!((method.holder.as_str(), method.declines), ("Tom", true));
}

#[tokio::test]
async fn a_worker_opens_an_account_on_the_banks_page_and_returns_with_its_number() {
    let g = given_a_bank(Faults::default()).await;
    let opened = form(
        &browser(),
        format!("{}/hosted/account", g.url),
        &[
            ("holder", " Felix "),
            ("return_to", "https://shop.test/money/bank"),
            ("state", "abc"),
        ],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(opened.status(), 303);
    let query = returned_query(opened.headers()["location"].to_str().unwrap());
    assert_eq!(query["state"], "abc");
    let account = g.bank.account(&query["payout_account"]).unwrap();
    assert_eq!((account.holder.as_str(), account.balance), ("Felix", 0));
}

#[tokio::test]
async fn the_banks_pages_refuse_an_empty_name_next_to_it_and_a_link_without_a_way_back() {
    let g = given_a_bank(Faults::default()).await;
    let http = browser();
    let before = g.bank.book().payment_methods.len();
    // When the name is left empty
    let refused = form(
        &http,
        format!("{}/hosted/card", g.url),
        &[
            ("holder", "  "),
            ("return_to", "http://shop.test/"),
            ("state", "x"),
        ],
    )
    .send()
    .await
    .unwrap();
    // Then the form comes back with the reason next to the name, and no card is added
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("aria-describedby=\"holder-error\""), "{html}");
    assert!(html.contains("id=\"holder-error\""), "{html}");
    assert_eq!(g.bank.book().payment_methods.len(), before);
    // And a link that does not say where to return to (or names a script) is refused
    for back in [
        "",
        "javascript:alert(1)",
        "/relative",
        "http://shop.test/\"><x",
    ] {
        for path in ["/hosted/card", "/hosted/account"] {
            let answer = form(
                &http,
                format!("{}{path}", g.url),
                &[("holder", "Tom"), ("return_to", back)],
            )
            .send()
            .await
            .unwrap();
            assert_eq!(answer.status(), 400, "{path} {back}");
        }
    }
    assert_eq!(g.bank.book().payment_methods.len(), before);
}
