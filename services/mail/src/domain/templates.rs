//! The notifications the platform sends, owned here: subject, text and HTML, with
//! `{{variable}}` placeholders. Rendering checks that every variable is given and that the
//! variables are bounded, and puts each value only where it is safe: in the subject (a
//! header) line breaks and other control characters become spaces, so no value can inject a
//! header and none is refused for it (a name accepted elsewhere must never cost a
//! notification); the text keeps line breaks; the HTML is escaped.

use std::collections::BTreeMap;

use serde_json::Value;

/// One notification.
pub struct Template {
    pub name: &'static str,
    pub subject: &'static str,
    pub text: &'static str,
    pub html: &'static str,
}

/// Every template, by name.
pub const TEMPLATES: &[Template] = &[
    Template {
        name: "set_password_invite",
        subject: "Welcome to MCF, {{name}}: choose your password",
        text: "Hello {{name}},\n\nan MCF account was made for you. Choose your password here (the link works once, for 72 hours):\n{{link}}\n\nMCF",
        html: "<p>Hello {{name}},</p><p>an MCF account was made for you. <a href=\"{{link}}\">Choose your password</a> (the link works once, for 72 hours).</p><p>MCF</p>",
    },
    Template {
        name: "password_reset",
        subject: "Choose a new MCF password, {{name}}",
        text: "Hello {{name}},\n\nsomeone (we hope you) asked for a new password for your MCF account. Choose it here (the link works once, for 72 hours):\n{{link}}\n\nIf it was not you, ignore this mail: your password stays as it is.\n\nMCF",
        html: "<p>Hello {{name}},</p><p>someone (we hope you) asked for a new password for your MCF account. <a href=\"{{link}}\">Choose it here</a> (the link works once, for 72 hours).</p><p>If it was not you, ignore this mail: your password stays as it is.</p><p>MCF</p>",
    },
    Template {
        name: "application_received",
        subject: "We received your application, {{name}}",
        text: "Hello {{name}},\n\nthank you for applying to MCF. We will send you your tests soon.\n\nMCF hiring",
        html: "<p>Hello {{name}},</p><p>thank you for applying to MCF. We will send you your tests soon.</p><p>MCF hiring</p>",
    },
    Template {
        name: "tests_assigned",
        subject: "Your MCF tests are ready",
        text: "Hello {{name}},\n\nyour tests are ready. Take them here:\n{{link}}\n\nMCF hiring",
        html: "<p>Hello {{name}},</p><p>your tests are ready. <a href=\"{{link}}\">Take them here</a>.</p><p>MCF hiring</p>",
    },
    Template {
        name: "candidate_declined",
        subject: "Your application to MCF",
        text: "Hello {{name}},\n\nthank you for your time. We will not continue with your application: {{reason}}\n\nMCF hiring",
        html: "<p>Hello {{name}},</p><p>thank you for your time. We will not continue with your application: {{reason}}</p><p>MCF hiring</p>",
    },
    Template {
        name: "order_activated",
        subject: "Your order for {{service}} is confirmed",
        text: "Hello {{name}},\n\n{{worker}} will come on {{when}}. Price: {{price}}.\n\nMCF",
        html: "<p>Hello {{name}},</p><p>{{worker}} will come on {{when}}. Price: {{price}}.</p><p>MCF</p>",
    },
    Template {
        name: "kit_to_assemble",
        subject: "Kit to assemble for order {{order}}",
        text: "Hello {{name}},\n\nplease assemble the supply kit for order {{order}} ({{service}}, {{when}}):\n{{link}}\n\nPrint its job acceptance form and give it to the worker with the kit:\n{{form}}\n\nMCF supplies",
        html: "<p>Hello {{name}},</p><p>please assemble <a href=\"{{link}}\">the supply kit</a> for order {{order}} ({{service}}, {{when}}).</p><p>Print <a href=\"{{form}}\">its job acceptance form</a> and give it to the worker with the kit.</p><p>MCF supplies</p>",
    },
    Template {
        name: "invoice_issued",
        subject: "Your MCF invoice for {{period}}: {{total}}",
        text: "Hello {{name}},\n\nyour invoice for {{period}} is {{total}}. We collect it from your payment method at the bank; you will hear from us if that fails.\n{{link}}\n\nMCF billing",
        html: "<p>Hello {{name}},</p><p>your <a href=\"{{link}}\">invoice for {{period}}</a> is {{total}}. We collect it from your payment method at the bank; you will hear from us if that fails.</p><p>MCF billing</p>",
    },
    Template {
        name: "invoice_failed",
        subject: "We could not settle your MCF invoice for {{period}}",
        text: "Hello {{name}},\n\nyour invoice for {{period}} ({{total}}) could not be settled at the bank: {{reason}}. We will try again; please check the details you gave us.\n{{link}}\n\nMCF billing",
        html: "<p>Hello {{name}},</p><p>your <a href=\"{{link}}\">invoice for {{period}}</a> ({{total}}) could not be settled at the bank: {{reason}}. We will try again; please check the details you gave us.</p><p>MCF billing</p>",
    },
    Template {
        name: "payment_notice",
        subject: "Your MCF payment notice for {{period}}",
        text: "Hello {{name}},\n\nyour statement for {{period}} comes to {{total}} ({{status}}): a positive amount is paid to your bank account, a negative one is carried over to next month.\n{{link}}\n\nMCF billing",
        html: "<p>Hello {{name}},</p><p>your <a href=\"{{link}}\">statement for {{period}}</a> comes to {{total}} ({{status}}): a positive amount is paid to your bank account, a negative one is carried over to next month.</p><p>MCF billing</p>",
    },
    Template {
        name: "low_stock",
        subject: "Low stock: {{consumable}}",
        text: "Hello {{name}},\n\n{{consumable}} is low: {{on_hand}} {{unit}} on hand, below its mark of {{threshold}}. Please order more.\n{{link}}\n\nMCF supplies",
        html: "<p>Hello {{name}},</p><p>{{consumable}} is low: {{on_hand}} {{unit}} on hand, below its mark of {{threshold}}. Please <a href=\"{{link}}\">order more</a>.</p><p>MCF supplies</p>",
    },
    Template {
        name: "no_show_rebook",
        subject: "We are sorry: your order did not take place",
        text: "Hello {{name}},\n\nthe worker did not come for your order on {{when}}. Pick a new date and we will send someone else:\n{{link}}\n\nMCF",
        html: "<p>Hello {{name}},</p><p>the worker did not come for your order on {{when}}. <a href=\"{{link}}\">Pick a new date</a> and we will send someone else.</p><p>MCF</p>",
    },
    Template {
        name: "order_not_matched",
        subject: "We could not find anyone for your order",
        text: "Hello {{name}},\n\nwe found no worker for your order on {{when}}. Pick a new date and we will try again:\n{{link}}\n\nMCF",
        html: "<p>Hello {{name}},</p><p>we found no worker for your order on {{when}}. <a href=\"{{link}}\">Pick a new date</a> and we will try again.</p><p>MCF</p>",
    },
    Template {
        name: "order_kit_not_ready",
        subject: "We are sorry: your order could not take place",
        text: "Hello {{name}},\n\nwe could not get the supplies for your order on {{when}} ready in time, so it could not take place. Pick a new date and we will come:\n{{link}}\n\nMCF",
        html: "<p>Hello {{name}},</p><p>we could not get the supplies for your order on {{when}} ready in time, so it could not take place. <a href=\"{{link}}\">Pick a new date</a> and we will come.</p><p>MCF</p>",
    },
    Template {
        name: "payout_sent",
        subject: "Your MCF payout for {{period}}",
        text: "Hello {{name}},\n\nwe paid you {{amount}} for {{period}}.\n\nMCF billing",
        html: "<p>Hello {{name}},</p><p>we paid you {{amount}} for {{period}}.</p><p>MCF billing</p>",
    },
];

/// At most this many variables in one message.
pub const MAX_VARIABLES: usize = 50;
/// At most this many bytes in one variable's value (its text, or its JSON otherwise).
pub const MAX_VALUE_BYTES: usize = 8 * 1024;
/// At most this many bytes of names and values in all.
pub const MAX_TOTAL_BYTES: usize = 64 * 1024;
/// At most this many bytes in a variable's name.
pub const MAX_NAME_BYTES: usize = 64;
/// A longer subject is cut (ending in `...`, ASCII, so the header stays readable unencoded):
/// every value is whole in the body anyway, and mail clients show no more than this.
pub const MAX_SUBJECT_CHARS: usize = 200;

/// A rendered message.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a template could not be rendered. Each names the offending field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error("unknown template {0:?}")]
    UnknownTemplate(String),
    #[error("variable {0:?} is missing")]
    Missing(String),
    #[error("variable {0:?} must be a string or a number")]
    NotText(String),
    #[error("variable {0:?} is longer than {MAX_VALUE_BYTES} bytes")]
    TooLong(String),
    #[error(
        "at most {MAX_VARIABLES} variables, names of at most {MAX_NAME_BYTES} bytes, \
         {MAX_TOTAL_BYTES} bytes in all"
    )]
    TooMany,
}

impl RenderError {
    /// The request field to name in the error.
    pub fn field(&self) -> String {
        match self {
            RenderError::UnknownTemplate(_) => "template".into(),
            RenderError::Missing(v) | RenderError::NotText(v) | RenderError::TooLong(v) => {
                format!("variables.{v}")
            }
            RenderError::TooMany => "variables".into(),
        }
    }
}

/// The names used in `text` as `{{name}}`.
fn placeholders(text: &str) -> Vec<&str> {
    text.split("{{")
        .skip(1)
        .filter_map(|s| s.split_once("}}").map(|(name, _)| name.trim()))
        .collect()
}

/// Variables a template needs, sorted.
pub fn variables_of(t: &Template) -> Vec<&'static str> {
    let mut names: Vec<&str> = [t.subject, t.text, t.html]
        .iter()
        .flat_map(|part| placeholders(part))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The size a value counts for: its text, or its JSON.
fn value_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        other => other.to_string().len(),
    }
}

/// Refuses variables beyond the bounds, naming the first offending one.
fn check_bounds(variables: &serde_json::Map<String, Value>) -> Result<(), RenderError> {
    if variables.len() > MAX_VARIABLES {
        return Err(RenderError::TooMany);
    }
    let mut total = 0usize;
    for (name, value) in variables {
        if name.len() > MAX_NAME_BYTES {
            return Err(RenderError::TooMany);
        }
        let bytes = value_bytes(value);
        if bytes > MAX_VALUE_BYTES {
            return Err(RenderError::TooLong(name.clone()));
        }
        // Each term is bounded above, so the sum of at most 50 cannot overflow.
        total += name.len() + bytes;
    }
    if total > MAX_TOTAL_BYTES {
        return Err(RenderError::TooMany);
    }
    Ok(())
}

/// A value for a header: each run of control characters (CR, LF, NUL, DEL, C1 and the
/// Unicode line and paragraph separators) becomes one space, so it stays on its line.
fn header_safe(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_run = false;
    for ch in value.chars() {
        if is_break_or_control(ch) {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            out.push(ch);
            in_run = false;
        }
    }
    out
}

/// A value for a body: line breaks are kept (as `\n`, whatever their form) and tabs too;
/// any other control character becomes a space (NUL, for one, cannot even be stored on
/// PostgreSQL).
fn body_safe(value: &str) -> String {
    let normalized = value.replace("\r\n", "\n").replace('\r', "\n");
    normalized
        .chars()
        .map(|ch| match ch {
            '\n' | '\t' => ch,
            '\u{2028}' | '\u{2029}' => '\n',
            ch if ch.is_control() => ' ',
            ch => ch,
        })
        .collect()
}

fn is_break_or_control(ch: char) -> bool {
    ch.is_control() || matches!(ch, '\u{2028}' | '\u{2029}')
}

/// `subject` cut to [`MAX_SUBJECT_CHARS`] characters.
fn bounded_subject(subject: String) -> String {
    match subject.char_indices().nth(MAX_SUBJECT_CHARS) {
        None => subject,
        Some((cut, _)) => format!("{}...", subject[..cut].trim_end()),
    }
}

fn fill(text: &str, values: &BTreeMap<&str, String>, escape: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let value = &values[after[..end].trim()];
        out.push_str(&if escape {
            escape_html(value)
        } else {
            value.clone()
        });
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Renders template `name` with `variables`.
pub fn render(
    name: &str,
    variables: &serde_json::Map<String, Value>,
) -> Result<Rendered, RenderError> {
    let t = TEMPLATES
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| RenderError::UnknownTemplate(name.to_owned()))?;
    check_bounds(variables)?;
    let mut values = BTreeMap::new();
    for var in variables_of(t) {
        let value = match variables.get(var) {
            None | Some(Value::Null) => return Err(RenderError::Missing(var.to_owned())),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => return Err(RenderError::NotText(var.to_owned())),
        };
        values.insert(var, value);
    }
    let in_header: BTreeMap<&str, String> =
        values.iter().map(|(k, v)| (*k, header_safe(v))).collect();
    let in_body: BTreeMap<&str, String> = values.iter().map(|(k, v)| (*k, body_safe(v))).collect();
    Ok(Rendered {
        subject: bounded_subject(fill(t.subject, &in_header, false)),
        text: fill(t.text, &in_body, false),
        html: fill(t.html, &in_body, true),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars(v: serde_json::Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn renders_text_and_escaped_html() {
        let r = render(
            "set_password_invite",
            &vars(json!({"name": "Tom <3", "link": "https://mcf/p?token=a&b"})),
        )
        .unwrap();
        assert_eq!(r.subject, "Welcome to MCF, Tom <3: choose your password");
        assert!(r.text.contains("https://mcf/p?token=a&b"));
        assert!(r.html.contains("Tom &lt;3"));
        assert!(r.html.contains("token=a&amp;b"));
    }

    #[test]
    fn every_template_renders_with_its_variables() {
        for t in TEMPLATES {
            let v: serde_json::Map<String, Value> = variables_of(t)
                .into_iter()
                .map(|n| (n.to_owned(), json!("x")))
                .collect();
            render(t.name, &v).unwrap_or_else(|e| panic!("{}: {e}", t.name));
        }
        assert_eq!(TEMPLATES.len(), 15);
    }

    #[test]
    fn refusals_name_the_field() {
        let e = render("nope", &vars(json!({}))).unwrap_err();
        assert_eq!(e.field(), "template");
        let e = render("payout_sent", &vars(json!({"name": "Tom", "amount": 5}))).unwrap_err();
        assert_eq!(e, RenderError::Missing("period".into()));
        assert_eq!(e.field(), "variables.period");
        let e = render(
            "payout_sent",
            &vars(json!({"name": "Tom", "amount": [1], "period": "May"})),
        )
        .unwrap_err();
        assert_eq!(e.field(), "variables.amount");
    }

    #[test]
    fn line_breaks_and_controls_stay_out_of_the_subject_and_are_not_refused() {
        let r = render(
            "payout_sent",
            &vars(json!({"name": "Tom\r\nBcc: x@evil\u{0}", "amount": 1,
                "period": "May\r\n\r\nJune\u{2028}<b>"})),
        )
        .unwrap();
        assert_eq!(r.subject, "Your MCF payout for May June <b>");
        assert!(!r.subject.contains(|c: char| c.is_control()));
        // The body keeps the text, line breaks included, without NUL or CR.
        assert!(r.text.starts_with("Hello Tom\nBcc: x@evil ,"), "{}", r.text);
        assert!(r.text.contains("for May\n\nJune\n<b>."), "{}", r.text);
        assert!(!r.text.contains(['\r', '\u{0}']));
        assert!(r.html.contains("for May\n\nJune\n&lt;b&gt;."), "{}", r.html);
    }

    #[test]
    fn a_long_subject_is_cut_but_the_body_keeps_everything() {
        let long = "x".repeat(MAX_VALUE_BYTES);
        let r = render(
            "payout_sent",
            &vars(json!({"name": "Tom", "amount": 1, "period": long})),
        )
        .unwrap();
        assert_eq!(r.subject.chars().count(), MAX_SUBJECT_CHARS + 3);
        assert!(r.subject.ends_with("x..."));
        assert!(r.text.contains(&long));
    }

    #[test]
    fn variables_are_bounded() {
        let ok = |extra: serde_json::Map<String, Value>| {
            let mut v = vars(json!({"name": "Tom", "amount": 1, "period": "May"}));
            v.extend(extra);
            render("payout_sent", &v)
        };
        // At the bounds: accepted.
        let mut at_bounds = serde_json::Map::new();
        at_bounds.insert("name".into(), json!("n".repeat(MAX_VALUE_BYTES)));
        assert!(ok(at_bounds).is_ok());
        // One value too long, text or not: named.
        for value in [
            json!("n".repeat(MAX_VALUE_BYTES + 1)),
            json!(["n".repeat(MAX_VALUE_BYTES)]),
        ] {
            let mut one = serde_json::Map::new();
            one.insert("note".into(), value);
            let e = ok(one).unwrap_err();
            assert_eq!(e, RenderError::TooLong("note".into()));
            assert_eq!(e.field(), "variables.note");
        }
        // Too many, too much in all, a name too long.
        let many = (0..MAX_VARIABLES)
            .map(|i| (format!("v{i}"), json!(i)))
            .collect();
        assert_eq!(ok(many).unwrap_err().field(), "variables");
        let big = (0..9)
            .map(|i| (format!("v{i}"), json!("b".repeat(MAX_VALUE_BYTES - 10))))
            .collect();
        assert_eq!(ok(big).unwrap_err(), RenderError::TooMany);
        let mut long_name = serde_json::Map::new();
        long_name.insert("n".repeat(MAX_NAME_BYTES + 1), json!(1));
        assert_eq!(ok(long_name).unwrap_err().field(), "variables");
    }
}
