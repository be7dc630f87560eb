//! The sign-in page: plain server-rendered HTML, no scripts.

use std::collections::BTreeMap;

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

/// The look the portal's pages have (its one stylesheet, served beside the API at a stable
/// path), so signing in does not feel like another site; a few inline rules keep the form
/// usable where the portal is not served on IAM's host.
const STYLE: &str = r#"<link rel="stylesheet" href="/static/mcf.css">
<style>body{font-family:system-ui,sans-serif}main{max-width:26rem;margin:2rem auto;padding:0 1rem}label,input,button{display:block;width:100%;margin:.4rem 0;box-sizing:border-box}.error{color:#a3161c}</style>"#;

/// The refusal a form shows above itself, if any (announced to screen readers).
fn alert(error: Option<&str>) -> String {
    error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default()
}

/// The form, carrying the authorization request's parameters as hidden fields.
pub fn sign_in(
    params: &BTreeMap<String, String>,
    email: &str,
    error: Option<&str>,
    upstream: Option<&str>,
) -> String {
    let upstream = upstream
        .map(|name| {
            let query: Vec<String> = params
                .iter()
                .filter(|(k, _)| k.as_str() != "email" && k.as_str() != "password")
                .map(|(k, v)| format!("{}={}", web::percent_encode(k), web::percent_encode(v)))
                .collect();
            format!(
                r#"<p><a href="federation/start?{}">Sign in with {}</a></p>"#,
                escape(&query.join("&")),
                escape(if name.is_empty() {
                    "your provider"
                } else {
                    name
                })
            )
        })
        .unwrap_or_default();
    let hidden: String = params
        .iter()
        .filter(|(k, _)| k.as_str() != "email" && k.as_str() != "password")
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(k),
                escape(v)
            )
        })
        .collect();
    let error = alert(error);
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to MCF</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{STYLE}
</head><body class="iam"><main>
<h1>Sign in to MCF</h1>
{error}
<form method="post" action="authorize">
{hidden}
<label for="email">E-mail</label><input id="email" name="email" type="email" autocomplete="username" required value="{email}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p><a href="password/forgot">Forgot your password?</a></p>
{upstream}
</main></body></html>"#,
        email = escape(email),
    )
}

/// An error page for requests that cannot be sent back to the client (bad client or
/// redirect URI: redirecting would make IAM an open redirector).
pub fn error(message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in error</title>{STYLE}</head>\
         <body class=\"iam\"><main><h1>Cannot sign in</h1><p>{}</p></main></body></html>",
        escape(message)
    )
}

/// The set-password form.
pub fn set_password(token: &str, error: Option<&str>) -> String {
    let error = alert(error);
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Choose your MCF password</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{STYLE}
</head><body class="iam"><main>
<h1>Choose your password</h1>
{error}
<form method="post" action="password">
<input type="hidden" name="token" value="{token}">
<label for="password">New password (at least 12 characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required>
<button type="submit">Set password</button>
</form></main></body></html>"#,
        token = escape(token),
    )
}

/// The "forgot your password?" form.
pub fn forgot() -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Forgot your MCF password?</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{STYLE}
</head><body class="iam"><main>
<h1>Forgot your password?</h1>
<p>Give the address of your account: we mail it a link to choose a new password.</p>
<form method="post" action="forgot">
<label for="email">E-mail</label><input id="email" name="email" type="email" autocomplete="username" required>
<button type="submit">Send the link</button>
</form></main></body></html>"#
    )
}

/// A plain message page.
pub fn message(title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>{STYLE}</head>\
         <body class=\"iam\"><main><h1>{t}</h1><p>{}</p></main></body></html>",
        escape(text),
        t = escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let params = BTreeMap::from([("state".to_owned(), "\"><script>x</script>".to_owned())]);
        let html = sign_in(&params, "a@b.c", Some("<b>"), Some("Happy <Cat> Box"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;b&gt;"));
        assert!(html.contains("Sign in with Happy &lt;Cat&gt; Box"));
    }
}
