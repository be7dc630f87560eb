//! The HTTP surface of every service, probed as a fuzzer, an attacker and a keep-alive client
//! would: every refusal is problem+json naming the field (bad query strings and path ids,
//! missing parameters, unknown routes, wrong methods, oversized bodies), NUL and control
//! characters are refused the same way on SQLite and PostgreSQL, paging cannot overflow,
//! refusals keep keep-alive connections honest, and pages and files carry security headers.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Cluster, Mode, REDIRECT};
use crate::hiring::PHOTO;

/// Asserts a problem+json refusal with `status`, and `field` when given; returns the body.
fn assert_problem(what: &str, r: &Answer, status: u16, field: Option<&str>) -> Value {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert_eq!(
        r.content_type, "application/problem+json",
        "{what}: {}",
        r.body
    );
    let problem: Value = serde_json::from_str(&r.body)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", r.body));
    assert!(
        problem["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{what}: no code: {problem}"
    );
    if let Some(field) = field {
        assert_eq!(problem["field"], field, "{what}: {problem}");
    }
    problem
}

/// What came back, as a client sees it.
struct Answer {
    status: u16,
    content_type: String,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn answer(r: reqwest::Response) -> Answer {
    Answer {
        status: r.status().as_u16(),
        content_type: r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap_or_default(),
    }
}

/// `GET {base}{path}` with the raw (already percent-encoded) path, as the admin when `token`.
async fn get(c: &Cluster, base: &str, path: &str, token: Option<&str>) -> Answer {
    let mut r = c.http.get(format!("{base}{path}"));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    answer(r.send().await.unwrap()).await
}

async fn send(c: &Cluster, method: reqwest::Method, url: &str, token: &str) -> Answer {
    answer(
        c.http
            .request(method, url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn post_json(c: &Cluster, url: &str, token: Option<&str>, body: &Value) -> Answer {
    let mut r = c.http.post(url).json(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    answer(r.send().await.unwrap()).await
}

async fn post_form(c: &Cluster, url: &str, body: &'static str) -> Answer {
    answer(
        c.http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub async fn every_refusal_is_a_problem_naming_the_field(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let admin = c.admin_token().await;
    let client = c.token_for("zoe", "client").await;
    let base = c.procs[0].base.clone();
    let api = |c: &mut Cluster, s: &str| c.api(s);
    let (ordering, hiring, matching, mail, iam) = (
        api(&mut c, "ordering"),
        api(&mut c, "hiring"),
        api(&mut c, "matching"),
        api(&mut c, "mail"),
        api(&mut c, "iam"),
    );

    // Query strings and path values that do not parse, or are missing.
    for (url, field) in [
        (format!("{ordering}/orders?limit=abc"), "limit"),
        (
            format!("{ordering}/orders?limit=99999999999999999999"),
            "limit",
        ),
        (
            format!("{ordering}/service-types?include_retired=maybe"),
            "include_retired",
        ),
        (format!("{ordering}/orders?bogus=1"), "bogus"),
        (format!("{hiring}/applications?page=abc"), "page"),
        (format!("{hiring}/applications?per_page=1e3"), "per_page"),
        (format!("{matching}/normal-samples/not-a-uuid"), "id"),
        (
            format!("{matching}/reference-samples/not-a-uuid"),
            "order_id",
        ),
        (format!("{hiring}/take"), "token"),
        (format!("{mail}/messages?limit=x"), "limit"),
    ] {
        let r = get(&c, &url, "", Some(&admin)).await;
        assert_problem(&url, &r, 422, Some(field));
    }

    // Paging cannot overflow (PostgreSQL: negative OFFSET, 500; SQLite: page 1 mislabelled).
    for (query, field) in [
        ("page=9223372036854775807&per_page=200", "page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("per_page=0", "per_page"),
        ("per_page=9223372036854775807", "per_page"),
    ] {
        let url = format!("{hiring}/applications?{query}");
        let r = get(&c, &url, "", Some(&admin)).await;
        assert_problem(&url, &r, 422, Some(field));
    }
    let r = get(
        &c,
        &hiring,
        "/applications?page=500000&per_page=200",
        Some(&admin),
    )
    .await;
    assert_eq!(r.status, 200, "the last page may be asked for: {}", r.body);
    let page: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(page["items"], json!([]));
    for (url, field) in [
        (
            format!("{ordering}/orders?limit=9223372036854775807"),
            "limit",
        ),
        (format!("{ordering}/orders?limit=0"), "limit"),
        (
            format!("{mail}/messages?limit=-9223372036854775808"),
            "limit",
        ),
    ] {
        let r = get(&c, &url, "", Some(&admin)).await;
        assert_problem(&url, &r, 422, Some(field));
    }

    // NUL and control characters in query and path values, signed in or not (these were
    // 500s on PostgreSQL and stored on SQLite).
    for (url, token, field) in [
        (format!("{iam}/authorize?client_id=%00"), None, "client_id"),
        (
            format!("{iam}/authorize?client_id=mcf-web&state=a%1Bb"),
            None,
            "state",
        ),
        (format!("{iam}/password?token=%00"), None, "token"),
        (format!("{hiring}/take?token=%00"), None, "token"),
        (format!("{hiring}/applications/%00"), Some(&admin), "id"),
        (
            format!("{hiring}/applications?status=open%00"),
            Some(&admin),
            "status",
        ),
        (format!("{mail}/messages?to=%00"), Some(&admin), "to"),
        (format!("{mail}/messages/%00"), Some(&admin), "id"),
        (format!("{mail}/messages/a%0Ab"), Some(&admin), "id"),
        (format!("{ordering}/orders/%00"), Some(&admin), "id"),
        (
            format!("{ordering}/orders?client_id=%00"),
            Some(&admin),
            "client_id",
        ),
        (format!("{ordering}/orders/a%C2%85b"), Some(&admin), "id"),
    ] {
        let r = get(&c, &url, "", token.map(String::as_str)).await;
        assert_problem(&url, &r, 422, Some(field));
    }
    for (path, body, field) in [
        (
            "/token",
            "grant_type=authorization_code&client_id=mcf-web%00",
            "client_id",
        ),
        (
            "/authorize",
            "client_id=mcf-web&email=a%00b&password=x",
            "email",
        ),
        ("/logout", "id_token_hint=%00", "id_token_hint"),
        (
            "/password",
            "token=abc&password=%00%00%00%00%00%00%00%00%00%00",
            "password",
        ),
    ] {
        let url = format!("{iam}{path}");
        let r = post_form(&c, &url, body).await;
        assert_problem(&format!("POST {url} {body}"), &r, 422, Some(field));
    }

    // NUL anywhere in a JSON body is named by its path; names are one line.
    let service_type = c.service_type().await;
    for (url, token, body, field) in [
        (
            format!("{ordering}/orders"),
            &client,
            json!({"service_type_id": service_type, "description": "dishes\u{0}",
                "scheduled_at": crate::harness::future(1)}),
            "description",
        ),
        (
            format!("{ordering}/orders"),
            &client,
            json!({"service_type_id": service_type, "description": "dishes \u{1b}[2J",
                "scheduled_at": crate::harness::future(1)}),
            "description",
        ),
        (
            format!("{ordering}/service-types"),
            &admin,
            json!({"name": "Clean\u{0}", "price": 10, "duration_minutes": 30}),
            "name",
        ),
        (
            format!("{ordering}/service-types"),
            &admin,
            json!({"name": "Clean\ning", "price": 10, "duration_minutes": 30}),
            "name",
        ),
        (
            format!("{ordering}/service-types"),
            &admin,
            json!({"name": "Ironing", "description": "a\u{0}", "price": 10,
                "duration_minutes": 30}),
            "description",
        ),
        (
            format!("{iam}/accounts"),
            &admin,
            json!({"email": "nul@cats.test", "name": "Tom\u{0}", "roles": ["client"],
                "password": "a-long-password"}),
            "name",
        ),
        (
            format!("{iam}/accounts"),
            &admin,
            json!({"email": "crlf@cats.test", "name": "Tom\r\nBcc: all@cats.test",
                "roles": ["client"], "password": "a-long-password"}),
            "name",
        ),
        (
            format!("{matching}/normal-samples"),
            &admin,
            json!({"name": "Felix\u{0}", "skills": {"cleaning": 80}}),
            "name",
        ),
        (
            format!("{matching}/normal-samples"),
            &admin,
            json!({"name": "Fe\u{2028}lix", "skills": {"cleaning": 80}}),
            "name",
        ),
        (
            format!("{matching}/normal-samples"),
            &admin,
            json!({"name": "Felix", "skills": {"clean\ting": 80}}),
            "skills",
        ),
        (
            format!("{hiring}/tests"),
            &admin,
            json!({"name": "Dishes\u{0}", "characteristic": "cleaning", "pass_mark": 50,
                "questions": [{"text": "Hot?", "choices": ["no", "yes"], "answer": 1}]}),
            "name",
        ),
        (
            format!("{hiring}/tests"),
            &admin,
            json!({"name": "Dis\u{85}hes", "characteristic": "cleaning", "pass_mark": 50,
                "questions": [{"text": "Hot?", "choices": ["no", "yes"], "answer": 1}]}),
            "name",
        ),
        (
            format!("{hiring}/tests"),
            &admin,
            json!({"name": "Dishes", "characteristic": "cleaning", "pass_mark": 50,
                "questions": [{"text": "Hot\nor cold?", "choices": ["no", "yes"], "answer": 1}]}),
            "questions[0].text",
        ),
        (
            format!("{hiring}/tests"),
            &admin,
            json!({"name": "Dishes", "characteristic": "cleaning", "pass_mark": 50,
                "questions": [{"text": "Hot?", "choices": ["no", "y\u{0}es"], "answer": 1}]}),
            "questions[0].choices[1]",
        ),
    ] {
        let r = post_json(&c, &url, Some(token), &body).await;
        assert_problem(&format!("POST {url} {body}"), &r, 422, Some(field));
    }
    // Nothing refused was stored.
    let r = get(
        &c,
        &ordering,
        "/service-types?include_retired=true",
        Some(&admin),
    )
    .await;
    assert_eq!(r.status, 200);
    let types: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(types.as_array().unwrap().len(), 1, "{types}");
    let r = get(&c, &ordering, "/orders", Some(&admin)).await;
    assert_eq!(r.body, "[]");

    // Unknown routes and wrong methods, inside and outside the services.
    for url in [
        format!("{ordering}/nope"),
        format!("{iam}/nope/deeper"),
        format!("{base}/api/nope"),
        format!("{base}/nope"),
    ] {
        let r = get(&c, &url, "", Some(&admin)).await;
        assert_problem(&url, &r, 404, None);
    }
    // `/` is the web portal where `mcf up` serves it (embedded); a process serving only
    // services has nothing there.
    let r = get(&c, &format!("{base}/"), "", None).await;
    match mode {
        Mode::Embedded => assert!(
            r.status == 200 && r.content_type.starts_with("text/html"),
            "the portal at /: {} {}",
            r.status,
            r.content_type
        ),
        Mode::Distributed => {
            assert_problem("/ without the portal", &r, 404, None);
        }
    }
    for (method, url) in [
        (reqwest::Method::DELETE, format!("{ordering}/service-types")),
        (reqwest::Method::PUT, format!("{iam}/token")),
        (reqwest::Method::PATCH, format!("{base}/health")),
        (reqwest::Method::POST, format!("{base}/metrics")),
    ] {
        let r = send(&c, method.clone(), &url, &admin).await;
        let problem = assert_problem(&format!("{method} {url}"), &r, 405, None);
        assert_eq!(problem["code"], "method_not_allowed");
    }

    // Oversized bodies: 413 problems, JSON and forms alike.
    // Just over the 2 MiB default limit, so little is left unread when the server stops.
    let huge = "x".repeat(2 * 1024 * 1024 + 1024);
    let r = post_json(
        &c,
        &format!("{ordering}/service-types"),
        Some(&admin),
        &json!({"name": "Big", "description": huge, "price": 10, "duration_minutes": 30}),
    )
    .await;
    let problem = assert_problem("oversized JSON", &r, 413, None);
    assert_eq!(problem["code"], "payload_too_large");
    let r = answer(
        c.http
            .post(format!("{iam}/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type=password&client_id={huge}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let problem = assert_problem("oversized form", &r, 413, None);
    assert_eq!(problem["code"], "payload_too_large");

    // Headers: pages cannot be framed, nothing is sniffed.
    let r = get(
        &c,
        &iam,
        &format!(
            "/authorize?response_type=code&client_id=mcf-web&redirect_uri={}&state=s\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGEzTU-cVM&code_challenge_method=S256\
             &scope=openid",
            web::percent_encode(REDIRECT)
        ),
        None,
    )
    .await;
    assert!(
        r.content_type.starts_with("text/html"),
        "{}",
        r.content_type
    );
    assert_eq!(r.headers["x-frame-options"], "DENY");
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src"), "{csp}");
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    let r = get(&c, &iam, "/password?token=no-such-link", None).await;
    assert!(
        r.content_type.starts_with("text/html"),
        "{}",
        r.content_type
    );
    assert_eq!(r.headers["x-frame-options"], "DENY");
    for url in [
        format!("{ordering}/service-types"),
        format!("{ordering}/nope"),
    ] {
        let r = get(&c, &url, "", Some(&admin)).await;
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{url}");
    }
}

/// One HTTP/1.1 response read off a raw connection.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Reads one response (headers and its content-length or chunked body) from `stream`.
async fn read_response(stream: &mut (impl AsyncReadExt + Unpin), buf: &mut Vec<u8>) -> Option<Raw> {
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let raw = Raw { status, headers };
    buf.drain(..head_end);
    if let Some(len) = raw.header("content-length") {
        let len: usize = len.parse().ok()?;
        while buf.len() < len {
            match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => return None,
            }
        }
        buf.drain(..len);
    } else if raw
        .header("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        // Until the last chunk's "0\r\n\r\n" (the bodies here carry no trailers).
        loop {
            if let Some(i) = buf.windows(5).position(|w| w == b"0\r\n\r\n") {
                buf.drain(..i + 5);
                break;
            }
            match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => return None,
            }
        }
    }
    Some(raw)
}

fn host_of(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// After a refusal that left the request body unread (the rate limit, a too-large body), a
/// keep-alive client is either told `Connection: close` or can go on using the connection;
/// it never finds the connection silently dropped.
pub async fn refusals_keep_keep_alive_connections_honest(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let hiring = c.api("hiring");
    let host = host_of(hiring.trim_end_matches("/api/hiring"));
    let form = |i: usize, name: &str| {
        json!({"name": name, "age": 2, "breed": "b", "coat_colour": "grey",
            "email": format!("k{i}@keepalive.test"), "photo": PHOTO})
        .to_string()
    };
    let request = |body: &str| {
        format!(
            "POST /api/hiring/applications HTTP/1.1\r\nhost: {host}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let health = format!("GET /api/hiring/health HTTP/1.1\r\nhost: {host}\r\n\r\n");

    // A name that is not one line: refused (and counted by the public limit).
    let r = post_json(
        &c,
        &format!("{hiring}/applications"),
        None,
        &serde_json::from_str(&form(0, "Le\no")).unwrap(),
    )
    .await;
    assert_problem("application name", &r, 422, Some("name"));

    // Too large: 413, refused before the whole body is read.
    let mut stream = TcpStream::connect(&host).await.unwrap();
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let (mut rd, mut wr) = stream.split();
    let head = format!(
        "POST /api/hiring/applications HTTP/1.1\r\nhost: {host}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        big.len()
    );
    let mut buf = Vec::new();
    let (_, refused) = tokio::join!(
        async {
            // The server may stop reading (and close) part way: a write error is expected.
            let _ = wr.write_all(head.as_bytes()).await;
            let _ = wr.write_all(big.as_bytes()).await;
        },
        read_response(&mut rd, &mut buf)
    );
    let refused = refused.expect("an answer to the too-large body");
    assert_eq!(refused.status, 413);
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    assert!(
        refused.closes(),
        "a refusal with an unread body says Connection: close: {:?}",
        refused.headers
    );

    // A flood on one keep-alive connection: every answer either keeps the connection
    // working or says it closes; the first 429 is followed by a request on the same
    // connection when it stays open.
    let mut stream = TcpStream::connect(&host).await.unwrap();
    let mut buf = Vec::new();
    let mut saw_429 = false;
    for i in 1..=20 {
        stream
            .write_all(request(&form(i, "Bot")).as_bytes())
            .await
            .unwrap();
        let r = read_response(&mut stream, &mut buf)
            .await
            .unwrap_or_else(|| panic!("request {i}: the connection was dropped without an answer"));
        assert!(matches!(r.status, 202 | 429), "request {i}: {}", r.status);
        if r.status == 429 {
            saw_429 = true;
            assert_eq!(r.header("content-type"), Some("application/problem+json"));
        }
        if r.closes() {
            stream = TcpStream::connect(&host).await.unwrap();
            buf.clear();
        }
        if saw_429 {
            // The very next request on the connection the client was left with works.
            stream.write_all(health.as_bytes()).await.unwrap();
            let r = read_response(&mut stream, &mut buf)
                .await
                .expect("the connection still answers after a 429");
            assert_eq!(r.status, 200);
            break;
        }
    }
    assert!(saw_429, "the public limit was reached");
}
