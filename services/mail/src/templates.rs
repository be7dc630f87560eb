//! The notifications the platform sends, owned here: subject, text and HTML, with
//! `{{variable}}` placeholders. Rendering checks that every variable is given, escapes HTML,
//! and refuses line breaks where they would end up in a header.

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
        text: "Hello {{name}},\n\nplease assemble the supply kit for order {{order}} ({{service}}, {{when}}).\n\nMCF supplies",
        html: "<p>Hello {{name}},</p><p>please assemble the supply kit for order {{order}} ({{service}}, {{when}}).</p><p>MCF supplies</p>",
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
        name: "invoice_issued",
        subject: "Your MCF invoice {{invoice}}",
        text: "Hello {{name}},\n\nyour invoice {{invoice}} for {{period}} is {{amount}}.\n\nMCF billing",
        html: "<p>Hello {{name}},</p><p>your invoice {{invoice}} for {{period}} is {{amount}}.</p><p>MCF billing</p>",
    },
    Template {
        name: "payout_sent",
        subject: "Your MCF payout for {{period}}",
        text: "Hello {{name}},\n\nwe paid you {{amount}} for {{period}}.\n\nMCF billing",
        html: "<p>Hello {{name}},</p><p>we paid you {{amount}} for {{period}}.</p><p>MCF billing</p>",
    },
];

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
    #[error("variable {0:?} may not contain line breaks (it goes into the subject)")]
    LineBreak(String),
}

impl RenderError {
    /// The request field to name in the error.
    pub fn field(&self) -> String {
        match self {
            RenderError::UnknownTemplate(_) => "template".into(),
            RenderError::Missing(v) | RenderError::NotText(v) | RenderError::LineBreak(v) => {
                format!("variables.{v}")
            }
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
    for var in placeholders(t.subject) {
        if values[var].contains(['\r', '\n']) {
            return Err(RenderError::LineBreak(var.to_owned()));
        }
    }
    Ok(Rendered {
        subject: fill(t.subject, &values, false),
        text: fill(t.text, &values, false),
        html: fill(t.html, &values, true),
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
        assert_eq!(TEMPLATES.len(), 10);
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
        // Header injection through the subject.
        let e = render(
            "payout_sent",
            &vars(json!({"name": "Tom", "amount": 1, "period": "May\r\nBcc: x@evil"})),
        )
        .unwrap_err();
        assert_eq!(e, RenderError::LineBreak("period".into()));
    }
}
