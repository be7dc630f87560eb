//! IAM's own pages (sign in, choose a password, forgot password, messages): plain
//! server-rendered HTML, no scripts, in English or Russian like the portal.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};

use crate::client::LANGUAGE_COOKIE;

/// A language IAM's pages are written in: the platform's one type (the portal's and Mail's);
/// what only IAM's pages do with it is [`Pages`].
pub type Lang = contracts::language::Language;

/// What IAM's pages do with a language beyond the shared type (a trait because [`Lang`]
/// is defined in `contracts`): choose it for a request, and say IAM's refusals in it.
pub trait Pages: Sized {
    /// The language of a page for a request with parameters `p` (query or form) and
    /// `headers`, first found of: OpenID Connect's `ui_locales` (space-separated, in order
    /// of preference), `lang` (mailed links and the forms carry it), the portal's language
    /// cookie, `Accept-Language` (highest `q`, ties in order), else English.
    fn pick(p: &BTreeMap<String, String>, headers: &HeaderMap) -> Self;

    /// `message` (an English refusal of the use cases) in this language; one not in the
    /// table stays English rather than being lost.
    fn message(self, message: &str) -> String;

    /// The refusal of a sign-in blocked `seconds` more.
    fn too_many_sign_ins(self, seconds: i64) -> String;

    /// The refusal of a source blocked `seconds` more on the password pages.
    fn too_many_attempts(self, seconds: i64) -> String;

    /// A password refused: `rule` is the use case's English reason ("must be …").
    fn password_refused(self, rule: &str) -> String;

    /// The upstream provider answered `error` (its own code, shown as is).
    fn upstream_failed(self, error: &str) -> String;

    /// The federated sign-in could not be finished (`description` is the OAuth one).
    fn not_finished(self, description: &str) -> String;

    /// "This link was already used or has expired…"
    fn link_gone(self) -> &'static str;

    /// "This account is disabled."
    fn account_disabled(self) -> &'static str;
}

impl Pages for Lang {
    fn pick(p: &BTreeMap<String, String>, headers: &HeaderMap) -> Lang {
        let ui_locales = p
            .get("ui_locales")
            .and_then(|l| l.split_whitespace().find_map(Lang::parse));
        let lang = p.get("lang").and_then(|l| Lang::parse(l));
        ui_locales
            .or(lang)
            .or_else(|| cookie(headers).and_then(Lang::parse))
            .or_else(|| accept_language(headers))
            .unwrap_or_default()
    }

    fn message(self, message: &str) -> String {
        match self {
            Lang::En => message.to_owned(),
            Lang::Ru => MESSAGES
                .iter()
                .find(|(en, _)| *en == message)
                .map_or(message, |(_, ru)| ru)
                .to_owned(),
        }
    }

    fn too_many_sign_ins(self, seconds: i64) -> String {
        match self {
            Lang::En => format!("Too many failed sign-ins. Try again in {seconds} s."),
            Lang::Ru => {
                format!("Слишком много неудачных попыток входа. Повторите через {seconds} с.")
            }
        }
    }

    fn too_many_attempts(self, seconds: i64) -> String {
        match self {
            Lang::En => format!("Too many attempts from here. Try again in {seconds} s."),
            Lang::Ru => format!("Слишком много попыток отсюда. Повторите через {seconds} с."),
        }
    }

    fn password_refused(self, rule: &str) -> String {
        match self {
            Lang::En => format!("The password {rule}."),
            Lang::Ru => format!("Пароль {}.", self.message(rule)),
        }
    }

    fn upstream_failed(self, error: &str) -> String {
        match self {
            Lang::En => format!("The upstream sign-in failed: {error}"),
            Lang::Ru => format!("Вход через внешнего провайдера не удался: {error}"),
        }
    }

    fn not_finished(self, description: &str) -> String {
        match self {
            Lang::En => format!("The sign-in could not be finished: {description}"),
            Lang::Ru => format!("Не удалось завершить вход: {description}"),
        }
    }

    fn link_gone(self) -> &'static str {
        texts(self).link_gone
    }

    fn account_disabled(self) -> &'static str {
        texts(self).account_disabled
    }
}

/// The texts of the pages in `lang`.
fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::En => &EN,
        Lang::Ru => &RU,
    }
}

/// The value of the portal's language cookie, if the browser sent it.
fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == LANGUAGE_COOKIE).then_some(value.trim_matches('"'))
        })
}

/// The best language of `Accept-Language` (RFC 9110 12.5.4) IAM writes, if any.
fn accept_language(headers: &HeaderMap) -> Option<Lang> {
    let value = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    Lang::from_accept_language(value)
}

/// The texts of the pages in one language (a struct, so a missing translation does not
/// compile).
struct Texts {
    sign_in_title: &'static str,
    email: &'static str,
    password: &'static str,
    sign_in: &'static str,
    forgot_link: &'static str,
    sign_in_with: &'static str,
    your_provider: &'static str,
    error_title: &'static str,
    cannot_sign_in: &'static str,
    set_title: &'static str,
    set_heading: &'static str,
    new_password: &'static str,
    set_button: &'static str,
    forgot_title: &'static str,
    forgot_heading: &'static str,
    forgot_text: &'static str,
    forgot_button: &'static str,
    check_mail_title: &'static str,
    check_mail_text: &'static str,
    password_set_title: &'static str,
    password_set_text: &'static str,
    link_gone: &'static str,
    account_disabled: &'static str,
    signed_out_title: &'static str,
    signed_out_text: &'static str,
}

const EN: Texts = Texts {
    sign_in_title: "Sign in to MCF",
    email: "E-mail",
    password: "Password",
    sign_in: "Sign in",
    forgot_link: "Forgot your password?",
    sign_in_with: "Sign in with",
    your_provider: "your provider",
    error_title: "Sign-in error",
    cannot_sign_in: "Cannot sign in",
    set_title: "Choose your MCF password",
    set_heading: "Choose your password",
    new_password: "New password (at least 12 characters)",
    set_button: "Set password",
    forgot_title: "Forgot your MCF password?",
    forgot_heading: "Forgot your password?",
    forgot_text: "Give the address of your account: we mail it a link to choose a new password.",
    forgot_button: "Send the link",
    check_mail_title: "Check your mail",
    check_mail_text: "If an account has this address, a link to choose a new password is on its way \
                      (it works once, for 72 hours).",
    password_set_title: "Password set",
    password_set_text: "Your password is set. You can now sign in.",
    link_gone: "This link was already used or has expired. Ask for a new one.",
    account_disabled: "This account is disabled.",
    signed_out_title: "Signed out",
    signed_out_text: "You are signed out of MCF.",
};

const RU: Texts = Texts {
    sign_in_title: "Вход в MCF",
    email: "Эл. почта",
    password: "Пароль",
    sign_in: "Войти",
    forgot_link: "Забыли пароль?",
    sign_in_with: "Войти через",
    your_provider: "вашего провайдера",
    error_title: "Ошибка входа",
    cannot_sign_in: "Войти не удалось",
    set_title: "Выберите пароль MCF",
    set_heading: "Выберите пароль",
    new_password: "Новый пароль (не короче 12 символов)",
    set_button: "Сохранить пароль",
    forgot_title: "Забыли пароль MCF?",
    forgot_heading: "Забыли пароль?",
    forgot_text: "Укажите адрес своей учётной записи: мы пришлём на него ссылку для выбора нового пароля.",
    forgot_button: "Отправить ссылку",
    check_mail_title: "Проверьте почту",
    check_mail_text: "Если у этого адреса есть учётная запись, ссылка для выбора нового пароля \
                      уже в пути (она действует один раз, 72 часа).",
    password_set_title: "Пароль сохранён",
    password_set_text: "Пароль сохранён. Теперь можно войти.",
    link_gone: "Эта ссылка уже использована или устарела. Запросите новую.",
    account_disabled: "Эта учётная запись отключена.",
    signed_out_title: "Вы вышли",
    signed_out_text: "Вы вышли из MCF.",
};

/// The English refusals the use cases give for a browser's page, and their Russian (a test
/// checks the page shows each translated).
const MESSAGES: &[(&str, &str)] = &[
    (
        "Wrong e-mail or password.",
        "Неверная эл. почта или пароль.",
    ),
    ("unknown client_id", "неизвестный client_id"),
    (
        "redirect_uri is not registered for this client",
        "redirect_uri не зарегистрирован для этого клиента",
    ),
    (
        "The id_token_hint is not an ID token we issued.",
        "id_token_hint — не выданный нами ID-токен.",
    ),
    (
        "The client_id does not match the id_token_hint.",
        "client_id не совпадает с id_token_hint.",
    ),
    ("Unknown client_id.", "Неизвестный client_id."),
    (
        "A post_logout_redirect_uri needs a client_id or an id_token_hint.",
        "Для post_logout_redirect_uri нужен client_id или id_token_hint.",
    ),
    (
        "The post_logout_redirect_uri is not registered for this client.",
        "post_logout_redirect_uri не зарегистрирован для этого клиента.",
    ),
    (
        "must be 12 to 200 characters",
        "должен содержать от 12 до 200 символов",
    ),
];

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

/// The hidden field that carries the page's language through a form post, so a page drawn
/// again with a refusal stays in the same language.
fn lang_field(lang: Lang) -> String {
    format!(
        r#"<input type="hidden" name="lang" value="{}">"#,
        lang.tag()
    )
}

/// The form, carrying the authorization request's parameters as hidden fields.
pub fn sign_in(
    lang: Lang,
    params: &BTreeMap<String, String>,
    email: &str,
    error: Option<&str>,
    upstream: Option<&str>,
) -> String {
    let t = texts(lang);
    // `lang` is the page's own field (below), whatever the request carried.
    let carried = || {
        params.iter().filter(|(k, _)| {
            k.as_str() != "email" && k.as_str() != "password" && k.as_str() != "lang"
        })
    };
    let upstream = upstream
        .map(|name| {
            let query: Vec<String> = carried()
                .map(|(k, v)| format!("{}={}", web::percent_encode(k), web::percent_encode(v)))
                .collect();
            format!(
                r#"<p><a href="federation/start?{}">{} {}</a></p>"#,
                escape(&query.join("&")),
                t.sign_in_with,
                escape(if name.is_empty() {
                    t.your_provider
                } else {
                    name
                })
            )
        })
        .unwrap_or_default();
    let hidden: String = carried()
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
<html lang="{tag}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{STYLE}
</head><body class="iam"><main>
<h1>{title}</h1>
{error}
<form method="post" action="authorize">
{hidden}
{lang_field}
<label for="email">{email_label}</label><input id="email" name="email" type="email" autocomplete="username" required value="{email}">
<label for="password">{password}</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{sign_in}</button>
</form>
<p><a href="password/forgot?lang={tag}">{forgot}</a></p>
{upstream}
</main></body></html>"#,
        tag = lang.tag(),
        title = t.sign_in_title,
        lang_field = lang_field(lang),
        email_label = t.email,
        email = escape(email),
        password = t.password,
        sign_in = t.sign_in,
        forgot = t.forgot_link,
    )
}

/// An error page for requests that cannot be sent back to the client (bad client or
/// redirect URI: redirecting would make IAM an open redirector). `message` is already in
/// `lang`.
pub fn error(lang: Lang, message: &str) -> String {
    let t = texts(lang);
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title>{STYLE}</head>\
         <body class=\"iam\"><main><h1>{}</h1><p>{}</p></main></body></html>",
        lang.tag(),
        t.error_title,
        t.cannot_sign_in,
        escape(message)
    )
}

/// The set-password form.
pub fn set_password(lang: Lang, token: &str, error: Option<&str>) -> String {
    let t = texts(lang);
    let error = alert(error);
    format!(
        r#"<!doctype html>
<html lang="{tag}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{STYLE}
</head><body class="iam"><main>
<h1>{heading}</h1>
{error}
<form method="post" action="password">
<input type="hidden" name="token" value="{token}">
{lang_field}
<label for="password">{label}</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required>
<button type="submit">{button}</button>
</form></main></body></html>"#,
        tag = lang.tag(),
        title = t.set_title,
        heading = t.set_heading,
        token = escape(token),
        lang_field = lang_field(lang),
        label = t.new_password,
        button = t.set_button,
    )
}

/// The "forgot your password?" form.
pub fn forgot(lang: Lang) -> String {
    let t = texts(lang);
    format!(
        r#"<!doctype html>
<html lang="{tag}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{STYLE}
</head><body class="iam"><main>
<h1>{heading}</h1>
<p>{text}</p>
<form method="post" action="forgot">
{lang_field}
<label for="email">{email}</label><input id="email" name="email" type="email" autocomplete="username" required>
<button type="submit">{button}</button>
</form></main></body></html>"#,
        tag = lang.tag(),
        title = t.forgot_title,
        heading = t.forgot_heading,
        text = t.forgot_text,
        lang_field = lang_field(lang),
        email = t.email,
        button = t.forgot_button,
    )
}

/// "Check your mail": the answer to the forgot-password form, whether or not the address
/// has an account.
pub fn check_mail(lang: Lang) -> String {
    let t = texts(lang);
    message(lang, t.check_mail_title, t.check_mail_text)
}

/// "Password set".
pub fn password_set(lang: Lang) -> String {
    let t = texts(lang);
    message(lang, t.password_set_title, t.password_set_text)
}

/// "Signed out".
pub fn signed_out(lang: Lang) -> String {
    let t = texts(lang);
    message(lang, t.signed_out_title, t.signed_out_text)
}

/// A plain message page.
fn message(lang: Lang, title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{t}</title>{STYLE}</head>\
         <body class=\"iam\"><main><h1>{t}</h1><p>{}</p></main></body></html>",
        lang.tag(),
        escape(text),
        t = escape(title)
    )
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn headers(cookie: Option<&str>, accept: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(c) = cookie {
            h.insert(header::COOKIE, HeaderValue::from_str(c).unwrap());
        }
        if let Some(a) = accept {
            h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(a).unwrap());
        }
        h
    }

    #[test]
    fn values_are_escaped() {
        let params = BTreeMap::from([("state".to_owned(), "\"><script>x</script>".to_owned())]);
        for lang in [Lang::En, Lang::Ru] {
            let html = sign_in(lang, &params, "a@b.c", Some("<b>"), Some("Happy <Cat> Box"));
            assert!(!html.contains("<script>"));
            assert!(html.contains("&lt;b&gt;"));
            assert!(html.contains("Happy &lt;Cat&gt; Box"));
        }
        let html = sign_in(Lang::En, &params, "a@b.c", None, Some("Happy <Cat> Box"));
        assert!(html.contains("Sign in with Happy &lt;Cat&gt; Box"));
        let html = set_password(Lang::Ru, "\"><i>", Some("<b>"));
        assert!(!html.contains("<i>") && html.contains("&lt;b&gt;"));
        assert!(!error(Lang::Ru, "<script>").contains("<script>"));
    }

    #[test]
    fn each_source_alone_gives_a_russian_page() {
        let none = HeaderMap::new();
        let sources = [
            (params(&[("ui_locales", "ru")]), none.clone()),
            (params(&[("ui_locales", "fr ru-RU en")]), none.clone()),
            (params(&[("lang", "ru")]), none.clone()),
            (params(&[]), headers(Some("theme=dark; mcf_lang=ru"), None)),
            (
                params(&[]),
                headers(None, Some("de;q=1, ru-RU;q=0.9, en;q=0.8")),
            ),
        ];
        for (p, h) in sources {
            let lang = Lang::pick(&p, &h);
            assert_eq!(lang, Lang::Ru, "{p:?} {h:?}");
            let html = sign_in(lang, &p, "", None, None);
            assert!(html.contains(r#"<html lang="ru">"#));
            assert!(html.contains("<h1>Вход в MCF</h1>"));
            assert!(html.contains(r#"<input type="hidden" name="lang" value="ru">"#));
            assert!(html.contains(r#"href="password/forgot?lang=ru""#));
        }
        for html in [
            set_password(Lang::Ru, "t", None),
            forgot(Lang::Ru),
            check_mail(Lang::Ru),
            password_set(Lang::Ru),
            signed_out(Lang::Ru),
            error(Lang::Ru, Lang::Ru.link_gone()),
        ] {
            assert!(html.contains(r#"<html lang="ru">"#), "{html}");
        }
        assert!(set_password(Lang::Ru, "t", None).contains(r#"name="lang" value="ru""#));
        assert!(forgot(Lang::Ru).contains(r#"name="lang" value="ru""#));
    }

    #[test]
    fn ui_locales_then_lang_then_cookie_then_accept_language_then_english() {
        let all = headers(Some("mcf_lang=en"), Some("ru"));
        // ui_locales wins over everything.
        let p = params(&[("ui_locales", "ru"), ("lang", "en")]);
        assert_eq!(Lang::pick(&p, &all), Lang::Ru);
        let p = params(&[("ui_locales", "en"), ("lang", "ru")]);
        assert_eq!(
            Lang::pick(&p, &headers(Some("mcf_lang=ru"), Some("ru"))),
            Lang::En
        );
        // ui_locales naming nothing IAM writes falls through to lang.
        let p = params(&[("ui_locales", "fr de"), ("lang", "ru")]);
        assert_eq!(Lang::pick(&p, &all), Lang::Ru);
        // lang over the cookie; the cookie over Accept-Language.
        let p = params(&[("lang", "en")]);
        assert_eq!(
            Lang::pick(&p, &headers(Some("mcf_lang=ru"), Some("ru"))),
            Lang::En
        );
        assert_eq!(Lang::pick(&params(&[]), &all), Lang::En);
        // A cookie of another name, or an unknown value, is not the switch.
        let h = headers(Some("xmcf_lang=en; mcf_lang=xx"), Some("ru"));
        assert_eq!(Lang::pick(&params(&[]), &h), Lang::Ru);
        // Accept-Language by weight, q=0 refused; nothing at all is English.
        let h = headers(None, Some("ru;q=0, en;q=0.5"));
        assert_eq!(Lang::pick(&params(&[]), &h), Lang::En);
        let h = headers(None, Some("en;q=0.4, ru;q=0.6"));
        assert_eq!(Lang::pick(&params(&[]), &h), Lang::Ru);
        let h = headers(None, Some("fr, de"));
        assert_eq!(Lang::pick(&params(&[]), &h), Lang::En);
        assert_eq!(Lang::pick(&params(&[]), &HeaderMap::new()), Lang::En);
    }

    #[test]
    fn refusals_are_translated_and_unknown_ones_kept() {
        for (en, ru) in MESSAGES {
            assert_eq!(Lang::Ru.message(en), *ru);
            assert_eq!(Lang::En.message(en), *en);
        }
        assert_eq!(
            Lang::Ru.password_refused("must be 12 to 200 characters"),
            "Пароль должен содержать от 12 до 200 символов."
        );
        assert_eq!(
            Lang::En.password_refused("must be 12 to 200 characters"),
            "The password must be 12 to 200 characters."
        );
        assert_eq!(Lang::Ru.message("something new"), "something new");
        let html = sign_in(
            Lang::Ru,
            &params(&[]),
            "",
            Some(&Lang::Ru.too_many_sign_ins(30)),
            None,
        );
        assert!(html.contains("Повторите через 30 с."));
    }

    #[test]
    fn the_texts_differ_between_the_languages() {
        // A Russian page that still says an English text was not translated.
        let (en, ru) = (&EN, &RU);
        let pairs = [
            (en.sign_in_title, ru.sign_in_title),
            (en.forgot_text, ru.forgot_text),
            (en.check_mail_text, ru.check_mail_text),
            (en.link_gone, ru.link_gone),
            (en.new_password, ru.new_password),
        ];
        for (e, r) in pairs {
            assert_ne!(e, r);
            assert!(!r.is_ascii(), "{r}");
        }
    }
}
