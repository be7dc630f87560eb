//! Schema-driven fuzzing of every service, in both modes (issue 11: "finds no 5xx").
//!
//! Two fuzzers, because the OpenAPI documents describe request bodies only for the routes
//! declared with `auth::Route` (the others: paths, methods, path parameters and security):
//!
//! - schemathesis (scripts/setup installs it) against each service's `/openapi.json`, as the
//!   admin, checking `not_a_server_error`, `ignored_auth` (every route declaring a bearer
//!   token refuses a request without one) and `unsupported_method` (undeclared methods are
//!   405);
//! - a seeded body fuzz here: every route that takes a body gets generated bodies (the
//!   route's own field names with hostile values, arbitrary JSON, deep nesting, non-JSON,
//!   wrong content types), path parameters that are real ids, fresh UUIDs or junk, random
//!   query strings, as the role that may call the route, as other roles, without a token and
//!   with forged ones. No answer may be a 5xx, every refusal must be
//!   `application/problem+json` (OAuth endpoints and HTML pages excepted, see
//!   [`refusal_format_ok`]) and every 401 must carry `WWW-Authenticate`.
//!
//! Both are bounded and seeded so CI runs them in about a minute per mode;
//! `E2E_FUZZ_SEED` and `E2E_FUZZ_ROUNDS` vary the body fuzz locally, `E2E_FUZZ_EXAMPLES`
//! schemathesis' examples per operation.

use std::time::{Duration, Instant};

use quality::domain::sample::SplitMix64;
use serde_json::{Map, Value, json};

use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, Cluster, Mode};
use crate::hiring::PHOTO;

/// Every service with an HTTP API: every registered one.
const SERVICES: &[&str] = mcf::system::SERVICES;

/// schemathesis' checks that mean something without body schemas: response conformance
/// checks would compare against a document that declares no bodies.
const CHECKS: &str = "not_a_server_error,ignored_auth,unsupported_method";

/// Validates the OpenAPI document at `argv[1]` against OpenAPI 3.1's JSON Schema (the copy
/// schemathesis 4 ships), printing every violation.
const VALIDATE_OPENAPI_31: &str = r#"
import json, sys, urllib.request, jsonschema
from schemathesis.specs.openapi.definitions import OPENAPI_31
doc = json.load(urllib.request.urlopen(sys.argv[1]))
errors = [f"{list(e.absolute_path)}: {e.message}"
          for e in jsonschema.Draft202012Validator(OPENAPI_31).iter_errors(doc)]
ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
if len(ids) != len(set(ids)):
    errors.append("operationId values are not unique")
print("\n".join(errors))
sys.exit(1 if errors else 0)
"#;

pub async fn schemathesis_finds_no_server_error(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let mut reports = Vec::new();
    // schemathesis keeps a cache (crashes it saw) in its working directory: a throw-away
    // one keeps runs independent and the checkout clean.
    let workdir = tempfile::tempdir().unwrap();
    let examples = std::env::var("E2E_FUZZ_EXAMPLES").unwrap_or_else(|_| "25".into());
    for &service in SERVICES {
        // A token per service: tokens live 5 minutes, one service's run stays far below that.
        let token = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.access;
        let api = c.api(service);
        // A document schemathesis can read is not necessarily valid: check it first.
        let document = format!("{api}/openapi.json");
        let check = tokio::task::spawn_blocking(move || {
            std::process::Command::new("python3")
                .args(["-c", VALIDATE_OPENAPI_31, &document])
                .output()
        })
        .await
        .unwrap()
        .expect("python3 runs");
        assert!(
            check.status.success(),
            "{service}'s /openapi.json is not valid OpenAPI 3.1 (or schemathesis is missing: \
             scripts/setup):\n{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let started = Instant::now();
        let examples = examples.clone();
        let cwd = workdir.path().to_owned();
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new("python3")
                .current_dir(cwd)
                .args(["-m", "schemathesis.cli", "run"])
                .arg(format!("{api}/openapi.json"))
                .args(["--url", &api])
                .args(["--header", &format!("Authorization: Bearer {token}")])
                .args(["--checks", CHECKS])
                .args(["--max-examples", &examples, "--seed", "20261129"])
                .args(["--generation-database", "none", "--workers", "1"])
                .args(["--request-timeout", "20", "--no-color", "--warnings", "off"])
                .output()
        })
        .await
        .unwrap()
        .expect("python3 runs (scripts/setup installs schemathesis)");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("No module named schemathesis"),
            "schemathesis is missing: run scripts/setup\n{stderr}"
        );
        eprintln!(
            "schemathesis {service} ({mode:?}): {} in {:?}",
            output.status,
            started.elapsed()
        );
        if !output.status.success() {
            reports.push(format!(
                "===== {service}: schemathesis {}\n{stdout}\n{stderr}",
                output.status
            ));
        }
    }
    assert!(
        reports.is_empty(),
        "schemathesis found faults ({mode:?}):\n{}",
        reports.join("\n")
    );
}

/// A small seeded generator (Quality's SplitMix64): reproducible runs without a dependency.
struct Rng(SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next()
    }

    fn below(&mut self, n: usize) -> usize {
        // Under `n`, a usize: it fits.
        usize::try_from(self.0.below(n.max(1) as u64)).unwrap_or(0)
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        uuid::Uuid::from_u64_pair(a, b).to_string()
    }
}

/// Strings that have broken services before: NUL and other controls (PostgreSQL refuses
/// NUL), bidi overrides and emoji, separators, SQL and path syntax, long and huge values.
fn hostile_string(rng: &mut Rng) -> String {
    match rng.below(16) {
        0 => String::new(),
        1 => "\u{0}".into(),
        2 => "dishes\u{0}and more".into(),
        3 => "a\u{1}\u{8}\u{1b}[2J\u{7f}b".into(),
        4 => "line\r\nBcc: all@cats.test".into(),
        5 => "\u{202e}txt.exe\u{2028}\u{2029}\u{85}".into(),
        6 => "🐈‍⬛🐾😺\u{fe0f}\u{200d}".into(),
        7 => "x".repeat(100 * 1024),
        8 => "é".repeat(5000),
        9 => "' OR 1=1 --; DROP TABLE orders;".into(),
        10 => "../../../etc/passwd%00".into(),
        11 => "   ".into(),
        12 => "\u{fffd}\u{feff}\u{ffff}".into(),
        13 => "9223372036854775808".into(),
        14 => "2026-02-30T25:61:61Z".into(),
        _ => format!("fuzz-{}", rng.next()),
    }
}

/// Numbers at the edges, and floats where integers are expected.
fn hostile_number(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => json!(i64::MAX),
        1 => json!(i64::MIN),
        2 => json!(u64::MAX),
        3 => json!(1e308),
        4 => json!(-1e308),
        5 => json!(-0.0),
        6 => json!(0.5),
        7 => json!(0),
        8 => json!(-1),
        9 => json!(9_007_199_254_740_993_i64),
        10 => json!(i64::from(i32::MAX) + 1),
        _ => json!(5e-324),
    }
}

/// Any JSON value, nested at most `depth` levels.
fn arbitrary(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.chance(2)),
        2 => hostile_number(rng),
        3 | 4 => json!(hostile_string(rng)),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| arbitrary(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(4) {
                let key = hostile_string(rng).chars().take(40).collect::<String>();
                m.insert(key, arbitrary(rng, depth - 1));
            }
            Value::Object(m)
        }
    }
}

/// Arrays nested `depth` deep (the JSON parser's recursion limit, the stack).
fn deep(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Objects the fuzz reaches through real ids, so path parameters hit rows that exist.
struct Fixtures {
    service_type: String,
    /// A client's token, for the routes only clients may call (ordering an order).
    client_token: String,
    /// The token of the worker the fixture orders go to (check-in and complete).
    worker_token: String,
    ids: Vec<String>,
}

impl Fixtures {
    async fn create(c: &mut Cluster) -> Fixtures {
        let service_type = c.service_type().await;
        // The only worker, with an account, so the orders go to her and her check-in and
        // completion get past the role and assignment checks to the photos.
        let worker_token = c.token_for("wanda", "worker").await;
        let worker = crate::harness::account_id(&worker_token);
        let (status, sample) = c
            .post(
                "matching",
                "/normal-samples",
                json!({"id": worker, "name": "Wanda", "skills": {"cleaning": 80}}),
            )
            .await;
        assert_eq!(status, 201, "{sample}");
        let client_token = c.token_for("fuzzy", "client").await;
        let client = crate::harness::account_id(&client_token);
        // Soon enough that check-in is open (it opens 30 minutes before).
        let soon = (chrono::Utc::now() + chrono::Duration::minutes(20)).to_rfc3339();
        let mut orders = Vec::new();
        for i in 0..2 {
            let (status, order) = c
                .post_as(
                    &client_token,
                    "ordering",
                    "/orders",
                    json!({"service_type_id": service_type, "description": format!("job {i}"),
                        "scheduled_at": soon}),
                )
                .await;
            assert_eq!(status, 201, "{order}");
            orders.extend(order["id"].as_str().map(str::to_owned));
        }
        let (status, test) = c
            .post(
                "hiring",
                "/tests",
                json!({"name": "Dishes", "characteristic": "cleaning", "pass_mark": 50,
                    "questions": [{"text": "Hot?", "choices": ["no", "yes"], "answer": 1}]}),
            )
            .await;
        assert_eq!(status, 201, "{test}");
        let mut ids = vec![service_type.clone(), worker, client];
        ids.extend(orders);
        ids.extend(test["id"].as_str().map(str::to_owned));
        Fixtures {
            service_type,
            client_token,
            worker_token,
            ids,
        }
    }
}

/// A declared request body: its field names, and whether it is form-encoded.
type DeclaredBody = (Vec<String>, bool);

/// The field names and form-ness of the request body an operation declares (`requestBody`:
/// JSON or form-encoded, its schema's properties, through a `$ref` into
/// `components/schemas`); `None` for a route that declares no body, or none with fields.
fn declared_body(doc: &Value, op: &Value) -> Option<DeclaredBody> {
    let content = op["requestBody"]["content"].as_object()?;
    let (media_type, media) = content.iter().next()?;
    let mut schema = &media["schema"];
    if let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        schema = &doc["components"]["schemas"][name];
    }
    let names: Vec<String> = schema["properties"].as_object()?.keys().cloned().collect();
    (!names.is_empty()).then(|| (names, media_type == "application/x-www-form-urlencoded"))
}

/// A value that passes the field's validation, so one hostile field at a time gets tested
/// behind otherwise valid bodies.
fn plausible(field: &str, rng: &mut Rng, fx: &Fixtures) -> Value {
    let n = rng.next() % 1_000_000;
    match field {
        "service_type_id" => json!(fx.service_type),
        "id" | "test_id" => json!(rng.uuid()),
        "description" | "reason" => json!("dishes, then the windows"),
        "scheduled_at" => json!(crate::harness::future(1 + rng.below(50))),
        "name" | "breed" | "coat_colour" => json!(format!("Fuzz {n}")),
        "skill" | "characteristic" => json!("cleaning"),
        "price" => json!(120),
        "duration_minutes" => json!(60),
        "photo" | "report_photo" => json!(PHOTO),
        "seconds" => json!(60),
        "available" => json!(true),
        "skills" => json!({"cleaning": 60, "ironing": 10}),
        "level" | "pass_mark" => json!(50),
        "delta" => json!(-5),
        "age" => json!(3),
        "email" | "to" => json!(format!("fuzz{n}@cats.test")),
        "test_ids" => json!([rng.uuid()]),
        "answers" => json!([0, 1]),
        "questions" => json!([{"text": "Hot?", "choices": ["no", "yes"], "answer": 1}]),
        "roles" => json!(["client"]),
        "status" => json!("active"),
        "audiences" => json!(["ordering"]),
        "password" | "current_password" | "new_password" => json!(format!("a-long-password-{n}")),
        "template" => json!("application_received"),
        "variables" => json!({"name": "Tom"}),
        "idempotency_key" => json!(format!("fuzz-{n}")),
        "grant_type" => json!(*rng.pick(&["authorization_code", "refresh_token", "password"])),
        "client_id" => json!("mcf-web"),
        "response_type" => json!("code"),
        "code_challenge_method" => json!("S256"),
        "scope" => json!("openid"),
        "redirect_uri" | "post_logout_redirect_uri" => json!(crate::harness::REDIRECT),
        _ => json!(format!("v{n}")),
    }
}

/// A hostile value for one field: strings, edge numbers, wrong types, nesting.
fn hostile(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 | 1 => json!(hostile_string(rng)),
        2 => hostile_number(rng),
        3 => Value::Null,
        4 => json!([hostile_string(rng), hostile_number(rng)]),
        _ => arbitrary(rng, 3),
    }
}

/// One generated request body: its content type (none: no header) and bytes.
fn body(
    rng: &mut Rng,
    fx: &Fixtures,
    fields: &[&str],
    form: bool,
) -> (Option<&'static str>, Vec<u8>) {
    // A mostly valid object with one or two hostile fields, sometimes an unknown one.
    let object = |rng: &mut Rng| {
        let mut m = Map::new();
        for f in fields {
            if !rng.chance(6) {
                m.insert((*f).to_owned(), plausible(f, rng, fx));
            }
        }
        // Now and then a valid body, so objects get created and later requests meet them.
        let hostiles = if rng.chance(8) { 0 } else { 1 + rng.below(2) };
        for _ in 0..hostiles {
            let f = *rng.pick(fields);
            m.insert(f.to_owned(), hostile(rng));
        }
        if rng.chance(5) {
            let key = if rng.chance(2) {
                hostile_string(rng).chars().take(64).collect()
            } else {
                format!("extra_{}", rng.below(100))
            };
            m.insert(key, arbitrary(rng, 2));
        }
        m
    };
    let json_ct = Some("application/json");
    let form_ct = Some("application/x-www-form-urlencoded");
    match rng.below(10) {
        0..=4 if form => {
            let pairs: Vec<(String, String)> = object(rng)
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect();
            let encoded = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", web::percent_encode(k), web::percent_encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            (form_ct, encoded.into_bytes())
        }
        0..=4 => (json_ct, Value::Object(object(rng)).to_string().into_bytes()),
        5 => (json_ct, arbitrary(rng, 4).to_string().into_bytes()),
        6 => {
            // Bodies no JSON parser should accept, or should accept and then refuse.
            let raw: &[&[u8]] = &[
                b"",
                b"{",
                b"null",
                b"[]",
                b"\"\\u0000\"",
                b"{\"name\":\"\\ud800\"}",
                b"\xff\xfe\x00{}",
                b"{\"price\": 1e999999}",
                b"{\"price\": -0}",
                b"{\"a\":1,\"a\":2}",
                b"NaN",
                b"\x00",
            ];
            (json_ct, rng.pick(raw).to_vec())
        }
        7 => (json_ct, deep(*rng.pick(&[64, 200, 5000])).into_bytes()),
        8 => {
            // Every field named, each hostile.
            let m: Map<String, Value> = fields
                .iter()
                .map(|f| ((*f).to_owned(), hostile(rng)))
                .collect();
            (json_ct, Value::Object(m).to_string().into_bytes())
        }
        _ => {
            // A body with the wrong (or no) content type.
            let ct = *rng.pick(&[
                None,
                Some("text/plain"),
                Some("application/json; charset=latin1"),
                Some("multipart/form-data; boundary=x"),
                Some("application/x-www-form-urlencoded"),
                Some("application/json"),
            ]);
            let bytes = if rng.chance(2) {
                Value::Object(object(rng)).to_string().into_bytes()
            } else {
                format!(
                    "a={}&b=%00&c=%FF",
                    web::percent_encode(&hostile_string(rng))
                )
                .into_bytes()
            };
            (ct, bytes)
        }
    }
}

/// A path parameter: a real id, a fresh UUID, or junk (percent-encoded).
fn path_value(rng: &mut Rng, fx: &Fixtures) -> String {
    match rng.below(4) {
        0 => rng.pick(&fx.ids).clone(),
        1 => rng.uuid(),
        2 => web::percent_encode(&hostile_string(rng).chars().take(300).collect::<String>()),
        _ => rng
            .pick(&[
                "%00",
                "a%0Ab",
                "%FF%FE",
                "..",
                "%2F",
                "0",
                "-1",
                "00000000-0000-0000-0000-000000000000",
            ])
            .to_string(),
    }
}

/// A random query string (or none): known parameter names and junk, hostile values.
fn query(rng: &mut Rng) -> String {
    if !rng.chance(3) {
        return String::new();
    }
    let names = [
        "limit",
        "page",
        "per_page",
        "status",
        "to",
        "client_id",
        "after",
        "include_retired",
        "token",
        "state",
        "x",
    ];
    let pairs: Vec<String> = (0..1 + rng.below(3))
        .map(|_| {
            let value = match rng.below(3) {
                0 => hostile_number(rng).to_string(),
                1 => hostile_string(rng).chars().take(200).collect(),
                _ => "%00%zz".into(),
            };
            let value = if value == "%00%zz" {
                value
            } else {
                web::percent_encode(&value)
            };
            format!("{}={value}", rng.pick(&names))
        })
        .collect();
    format!("?{}", pairs.join("&"))
}

/// An `Authorization` header that must be refused: malformed, another scheme, `alg: none`,
/// a real token with its signature or payload tampered with, huge.
fn forged(rng: &mut Rng, real: &str) -> String {
    let parts: Vec<&str> = real.split('.').collect();
    match rng.below(8) {
        0 => "Bearer".into(),
        1 => "Bearer ".into(),
        2 => format!("Basic {}", web::percent_encode("admin:admin")),
        3 => "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiIsInJvbGVzIjpbImFkbWluIl19.".into(),
        4 if parts.len() == 3 => format!("Bearer {}.{}.{}x", parts[0], parts[1], parts[2]),
        5 if parts.len() == 3 => format!("Bearer {}.e30.{}", parts[0], parts[2]),
        6 => format!("Bearer {}", "a".repeat(1 + rng.below(20_000))),
        _ => format!("bearer {}.{}", rng.next(), rng.next()),
    }
}

/// Whether a 4xx answer's format is acceptable for this route: problem+json everywhere,
/// except where a standard or a browser dictates the format (OAuth error JSON at the token
/// and revocation endpoints, RFC 6749 5.2 / RFC 7009; HTML pages that re-render a form).
fn refusal_format_ok(service: &str, path: &str, content_type: &str) -> bool {
    if content_type.starts_with("application/problem+json") {
        return true;
    }
    service == "iam"
        && match path {
            "/token" | "/revoke" => content_type.starts_with("application/json"),
            "/authorize" | "/password" | "/logout" | "/federation/callback" => {
                content_type.starts_with("text/html")
            }
            _ => false,
        }
}

fn shorten(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    if s.chars().count() > 400 {
        format!(
            "{}… ({} bytes)",
            s.chars().take(400).collect::<String>(),
            bytes.len()
        )
    } else {
        format!("{s:?}")
    }
}

/// The admin's token, renewed with the refresh token when it is about to expire or was
/// refused (a fuzzed request may rotate keys). Refreshing instead of signing in again
/// matters: the fuzz's wrong passwords at `POST /authorize` get this source throttled.
struct Admin {
    token: String,
    refresh: String,
    since: Instant,
}

impl Admin {
    async fn sign_in(c: &mut Cluster) -> Admin {
        let t = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        Admin {
            token: t.access,
            refresh: t.refresh,
            since: Instant::now(),
        }
    }

    async fn ensure(&mut self, c: &mut Cluster, refused: bool) {
        if !refused && self.since.elapsed() < Duration::from_secs(200) {
            return;
        }
        let (status, t) = c
            .token(&[
                ("grant_type", "refresh_token"),
                ("client_id", "mcf-web"),
                ("refresh_token", &self.refresh),
            ])
            .await;
        assert_eq!(status, 200, "the admin's refresh: {t}");
        self.token = t["access_token"].as_str().unwrap().to_owned();
        self.refresh = t["refresh_token"].as_str().unwrap().to_owned();
        self.since = Instant::now();
    }
}

/// Service, path, token (none: public), body and `Idempotency-Key` of a creating request.
type Duplicate<'a> = (&'a str, &'a str, Option<&'a str>, Value, Option<&'a str>);

/// The same creating request sent eight times at once, spread over the replicas: a
/// duplicate must be refused or answered with the first result (unique names and e-mails,
/// idempotency keys), never a 5xx from a lost race between check and insert.
async fn parallel_duplicates(
    c: &mut Cluster,
    fx: &Fixtures,
    admin: &str,
    failures: &mut Vec<String>,
) {
    let worker = crate::harness::account_id(&fx.worker_token);
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(25)).to_rfc3339();
    let sample = uuid::Uuid::new_v4().to_string();
    let adjustments = format!("/normal-samples/{worker}/adjustments");
    let cases: Vec<Duplicate> = vec![
        (
            "iam",
            "/accounts",
            Some(admin),
            json!({"email": "twin@cats.test", "name": "Twin", "roles": ["client"]}),
            None,
        ),
        (
            "iam",
            "/service-accounts",
            Some(admin),
            json!({"name": "twin-service"}),
            None,
        ),
        (
            "ordering",
            "/service-types",
            Some(admin),
            json!({"name": "Twins", "price": 10, "duration_minutes": 30}),
            None,
        ),
        (
            "ordering",
            "/orders",
            Some(&fx.client_token),
            json!({"service_type_id": fx.service_type, "description": "twins",
                "scheduled_at": soon}),
            Some("twin-order"),
        ),
        (
            "matching",
            "/normal-samples",
            Some(admin),
            json!({"id": sample, "name": "Twin", "skills": {"cleaning": 10}}),
            None,
        ),
        (
            "matching",
            &adjustments,
            Some(admin),
            json!({"skill": "cleaning", "delta": 1, "reason": "twins"}),
            Some("twin-adjustment"),
        ),
        (
            "mail",
            "/messages",
            Some(admin),
            json!({"to": "twin@cats.test", "template": "application_received",
                "variables": {"name": "Twin"}, "idempotency_key": "twin"}),
            None,
        ),
        (
            "hiring",
            "/applications",
            None,
            json!({"name": "Twin", "age": 3, "breed": "Siamese", "coat_colour": "cream",
                "email": "twin-applicant@cats.test", "photo": PHOTO}),
            None,
        ),
        (
            "hiring",
            "/tests",
            Some(admin),
            json!({"name": "Twin test", "characteristic": "cleaning", "pass_mark": 50,
                "questions": [{"text": "Hot?", "choices": ["no", "yes"], "answer": 1}]}),
            None,
        ),
    ];
    for (service, path, token, body, key) in cases {
        let apis = c.apis(service);
        let requests = (0..8).map(|i| {
            let mut r = c
                .http
                .post(format!("{}{path}", apis[i % apis.len()]))
                .json(&body);
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            if let Some(k) = key {
                r = r.header("idempotency-key", k);
            }
            async move {
                let r = r.send().await.map_err(|e| e.to_string())?;
                let status = r.status().as_u16();
                Ok::<_, String>((status, r.text().await.unwrap_or_default()))
            }
        });
        let answers = futures::future::join_all(requests).await;
        let statuses: Vec<String> = answers
            .iter()
            .map(|a| match a {
                Ok((status, _)) => status.to_string(),
                Err(e) => e.clone(),
            })
            .collect();
        eprintln!("8 x POST {service} {path} at once: {statuses:?}");
        for answer in answers {
            match answer {
                Ok((status, _)) if status < 500 => {}
                Ok((status, text)) => failures.push(format!(
                    "server error: 8 x POST {service} {path} {body} at once\n  -> {status}: {}",
                    shorten(text.as_bytes())
                )),
                Err(e) => failures.push(format!(
                    "8 x POST {service} {path} {body} at once\n  -> no answer: {e}"
                )),
            }
        }
    }
}

pub async fn generated_bodies_get_no_server_error(mode: Mode) {
    // Hiring's public routes get fuzzed, not its per-source limit (tested in hiring.rs).
    let limits = [
        (
            "MCF_HIRING__PUBLIC_LIMITS__PER_SOURCE_PER_MINUTE",
            "1000000",
        ),
        ("MCF_HIRING__PUBLIC_LIMITS__GLOBAL_PER_SECOND", "1000000"),
    ];
    let env = limits.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec();
    let mut c = Cluster::start_with(mode, env, None).await;
    let fx = Fixtures::create(&mut c).await;
    let seed = std::env::var("E2E_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_F022_u64);
    let rounds: usize = std::env::var("E2E_FUZZ_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let mut rng = Rng(SplitMix64(seed));
    let mut admin = Admin::sign_in(&mut c).await;
    let mut failures: Vec<String> = Vec::new();
    let mut sent = 0usize;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let started = Instant::now();
    for &service in SERVICES {
        let api = c.api(service);
        let doc: Value = c.anonymous(service).get("/openapi.json").await.unwrap();
        // Each route with the caller who gets furthest: the admin, or for routes the admin
        // may not call, the client or the worker (`x-roles`).
        let mut routes: Vec<(String, String, &str, Option<DeclaredBody>)> = Vec::new();
        for (path, ops) in doc["paths"].as_object().expect("paths") {
            for (method, op) in ops.as_object().expect("operations") {
                let roles = op["x-roles"].as_array().cloned().unwrap_or_default();
                let may = |role: &str| roles.is_empty() || roles.iter().any(|r| r == role);
                let caller = ["admin", "client", "worker"]
                    .into_iter()
                    .find(|r| may(r))
                    .unwrap_or("admin");
                routes.push((
                    method.to_uppercase(),
                    path.clone(),
                    caller,
                    declared_body(&doc, op),
                ));
            }
        }
        routes.sort();
        for (method, path, best, declared) in &routes {
            let takes_body = matches!(method.as_str(), "POST" | "PUT" | "PATCH");
            // Routes without a body still get junk path values and query strings.
            let n = if takes_body { rounds } else { rounds / 6 };
            // The body the route declares in its document; a route that takes none still gets
            // junk JSON with a few common field names.
            let (route_fields, form): (Vec<&str>, bool) = match declared {
                Some((names, form)) => (names.iter().map(String::as_str).collect(), *form),
                None => (vec!["reason", "id", "name"], false),
            };
            let mut refused = false;
            // What this route answered, to judge how deep the fuzz got.
            let mut route_statuses = std::collections::BTreeMap::<u16, usize>::new();
            for _ in 0..n {
                admin.ensure(&mut c, refused).await;
                let concrete: String = path
                    .split('/')
                    .map(|seg| {
                        if seg.starts_with('{') {
                            path_value(&mut rng, &fx)
                        } else {
                            seg.to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                let url = format!("{api}{concrete}{}", query(&mut rng));
                // Mostly the route's best caller; some requests as another role and some
                // without a token or with a forged one.
                let caller = match rng.below(9) {
                    0 => "nobody",
                    8 => "forger",
                    1 => *rng.pick(&["admin", "client", "worker"]),
                    _ => best,
                };
                let as_admin = caller == "admin";
                let (content_type, bytes) = if takes_body {
                    body(&mut rng, &fx, &route_fields, form)
                } else {
                    (None, Vec::new())
                };
                let mut request = c
                    .http
                    .request(method.parse().unwrap(), &url)
                    .body(bytes.clone());
                if let Some(ct) = content_type {
                    request = request.header("content-type", ct);
                }
                match caller {
                    "admin" => request = request.bearer_auth(&admin.token),
                    "client" => request = request.bearer_auth(&fx.client_token),
                    "worker" => request = request.bearer_auth(&fx.worker_token),
                    "forger" => {
                        request = request.header("authorization", forged(&mut rng, &admin.token))
                    }
                    _ => {}
                }
                if rng.chance(4) {
                    let key = if rng.chance(2) {
                        format!("k-{}", rng.next())
                    } else {
                        "k".repeat(1 + rng.below(10_000))
                    };
                    request = request.header("idempotency-key", key);
                }
                sent += 1;
                let describe = || {
                    format!(
                        "{method} {} as {} content-type {content_type:?} body {}",
                        shorten(url.as_bytes()),
                        caller,
                        shorten(&bytes)
                    )
                };
                let response = match request.send().await {
                    Ok(r) => r,
                    Err(e) => {
                        failures.push(format!("{}\n  -> no answer: {e}", describe()));
                        continue;
                    }
                };
                let status = response.status().as_u16();
                let answer_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let challenged = response.headers().contains_key("www-authenticate");
                let answer = response.bytes().await.unwrap_or_default();
                *statuses.entry(status).or_default() += 1;
                *route_statuses.entry(status).or_default() += 1;
                refused = as_admin && status == 401;
                let fault = if status >= 500 {
                    Some("server error")
                } else if status >= 400 && !refusal_format_ok(service, path, &answer_type) {
                    Some("refusal is not problem+json")
                } else if status == 401 && !challenged {
                    // RFC 6750 3 / RFC 6749 5.2: a 401 names the scheme to use.
                    Some("401 without WWW-Authenticate")
                } else {
                    None
                };
                if let Some(fault) = fault {
                    failures.push(format!(
                        "{fault}: {}\n  -> {status} {answer_type}: {}",
                        describe(),
                        shorten(&answer)
                    ));
                }
            }
            eprintln!("{service} {method} {path}: {route_statuses:?}");
        }
    }
    eprintln!(
        "body fuzz ({mode:?}, seed {seed}): {sent} requests in {:?} (statuses {statuses:?}), {} faults",
        started.elapsed(),
        failures.len()
    );
    admin.ensure(&mut c, true).await;
    parallel_duplicates(&mut c, &fx, &admin.token, &mut failures).await;
    // Every process is still up.
    for p in &mut c.procs {
        assert!(!p.exited(), "{} died during the fuzz", p.role);
    }
    assert!(
        failures.is_empty(),
        "the body fuzz (seed {seed}) found {} faults ({mode:?}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_declared_body_gives_its_fields_and_its_form() {
    let doc = json!({
        "components": {"schemas": {"NewThing": {"type": "object", "properties": {
            "name": {"type": "string"}, "size": {"type": "integer"}}}}},
        "paths": {
            "/things": {"post": {"requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/NewThing"}}}}}},
            "/token": {"post": {"requestBody": {"content": {
                "application/x-www-form-urlencoded": {"schema": {"type": "object",
                    "properties": {"grant_type": {"type": "string"}}}}}}}},
            "/old": {"post": {"responses": {}}},
        },
    });
    let op = |path: &str| doc["paths"][path]["post"].clone();
    assert_eq!(
        declared_body(&doc, &op("/things")),
        Some((vec!["name".to_owned(), "size".to_owned()], false))
    );
    assert_eq!(
        declared_body(&doc, &op("/token")),
        Some((vec!["grant_type".to_owned()], true))
    );
    assert_eq!(declared_body(&doc, &op("/old")), None);
}
