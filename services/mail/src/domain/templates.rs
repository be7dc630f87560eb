//! The notifications the platform sends, owned here: subject, text and HTML, with
//! `{{variable}}` placeholders. Rendering checks that every variable is given and that the
//! variables are bounded, and puts each value only where it is safe: in the subject (a
//! header) line breaks and other control characters become spaces, so no value can inject a
//! header and none is refused for it (a name accepted elsewhere must never cost a
//! notification); the text keeps line breaks; the HTML is escaped.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::Money;
use serde_json::Value;

/// The languages mails are written in (the platform's one type: tags, money and moments
/// are written as the portal writes them). English is the default: for a recipient whose
/// language nobody told Mail, and for a tag Mail does not write.
pub use contracts::language::Language;

/// A statement's or invoice's status word (`settled`, `carried_over`, ...) in `language`;
/// an unknown word as it is.
fn status(language: Language, word: &str) -> String {
    let key = word.trim().replace(' ', "_");
    let ru = match key.as_str() {
        "settled" => "выплачено",
        "carried_over" => "перенесено на следующий месяц",
        "paid" => "оплачено",
        "issued" => "выставлено",
        "failed" => "не прошло",
        _ => return word.to_owned(),
    };
    match language {
        Language::En => key.replace('_', " "),
        Language::Ru => ru.to_owned(),
    }
}

/// One language's texts of a notification, with `{{variable}}` placeholders. A placeholder
/// may name how its value is written in the reader's language: `{{price:money}}` (integer
/// minor units), `{{when:time}}` (an RFC 3339 moment), `{{status:status}}` (a status
/// word), `{{worker:worker}}` (a worker's name; empty: "your worker"). A value that is not what its kind expects is shown as it was given (an older
/// sender's preformatted text is never a reason to lose the mail).
pub struct Texts {
    pub subject: &'static str,
    pub text: &'static str,
    pub html: &'static str,
}

/// One notification, in every language Mail writes.
pub struct Template {
    pub name: &'static str,
    pub en: Texts,
    pub ru: Texts,
}

impl Template {
    /// Its texts in `language`.
    pub fn texts(&self, language: Language) -> &Texts {
        match language {
            Language::En => &self.en,
            Language::Ru => &self.ru,
        }
    }
}

/// Every template, by name.
pub const TEMPLATES: &[Template] = &[
    Template {
        name: "set_password_invite",
        en: Texts {
            subject: "Welcome to MCF, {{name}}: choose your password",
            text: "Hello {{name}},\n\nan MCF account was made for you. Choose your password here (the link works once, for 72 hours):\n{{link}}\n\nMCF",
            html: "<p>Hello {{name}},</p><p>an MCF account was made for you. <a href=\"{{link}}\">Choose your password</a> (the link works once, for 72 hours).</p><p>MCF</p>",
        },
        ru: Texts {
            subject: "Добро пожаловать в MCF, {{name}}: выберите пароль",
            text: "Здравствуйте, {{name}}!\n\nДля вас создана учётная запись MCF. Выберите пароль здесь (ссылка работает один раз, 72 часа):\n{{link}}\n\nMCF",
            html: "<p>Здравствуйте, {{name}}!</p><p>Для вас создана учётная запись MCF. <a href=\"{{link}}\">Выберите пароль</a> (ссылка работает один раз, 72 часа).</p><p>MCF</p>",
        },
    },
    Template {
        name: "password_reset",
        en: Texts {
            subject: "Choose a new MCF password, {{name}}",
            text: "Hello {{name}},\n\nsomeone (we hope you) asked for a new password for your MCF account. Choose it here (the link works once, for 72 hours):\n{{link}}\n\nIf it was not you, ignore this mail: your password stays as it is.\n\nMCF",
            html: "<p>Hello {{name}},</p><p>someone (we hope you) asked for a new password for your MCF account. <a href=\"{{link}}\">Choose it here</a> (the link works once, for 72 hours).</p><p>If it was not you, ignore this mail: your password stays as it is.</p><p>MCF</p>",
        },
        ru: Texts {
            subject: "Выберите новый пароль MCF, {{name}}",
            text: "Здравствуйте, {{name}}!\n\nКто-то (надеемся, вы) попросил новый пароль для вашей учётной записи MCF. Выберите его здесь (ссылка работает один раз, 72 часа):\n{{link}}\n\nЕсли это были не вы, не обращайте внимания на это письмо: пароль останется прежним.\n\nMCF",
            html: "<p>Здравствуйте, {{name}}!</p><p>Кто-то (надеемся, вы) попросил новый пароль для вашей учётной записи MCF. <a href=\"{{link}}\">Выберите его здесь</a> (ссылка работает один раз, 72 часа).</p><p>Если это были не вы, не обращайте внимания на это письмо: пароль останется прежним.</p><p>MCF</p>",
        },
    },
    Template {
        name: "application_received",
        en: Texts {
            subject: "We received your application, {{name}}",
            text: "Hello {{name}},\n\nthank you for applying to MCF. We will send you your tests soon.\n\nMCF hiring",
            html: "<p>Hello {{name}},</p><p>thank you for applying to MCF. We will send you your tests soon.</p><p>MCF hiring</p>",
        },
        ru: Texts {
            subject: "Мы получили вашу анкету, {{name}}",
            text: "Здравствуйте, {{name}}!\n\nСпасибо за анкету в MCF. Скоро мы пришлём вам тесты.\n\nMCF, отдел найма",
            html: "<p>Здравствуйте, {{name}}!</p><p>Спасибо за анкету в MCF. Скоро мы пришлём вам тесты.</p><p>MCF, отдел найма</p>",
        },
    },
    Template {
        name: "tests_assigned",
        en: Texts {
            subject: "Your MCF tests are ready",
            text: "Hello {{name}},\n\nyour tests are ready. Take them here:\n{{link}}\n\nMCF hiring",
            html: "<p>Hello {{name}},</p><p>your tests are ready. <a href=\"{{link}}\">Take them here</a>.</p><p>MCF hiring</p>",
        },
        ru: Texts {
            subject: "Ваши тесты MCF готовы",
            text: "Здравствуйте, {{name}}!\n\nВаши тесты готовы. Пройдите их здесь:\n{{link}}\n\nMCF, отдел найма",
            html: "<p>Здравствуйте, {{name}}!</p><p>Ваши тесты готовы. <a href=\"{{link}}\">Пройдите их здесь</a>.</p><p>MCF, отдел найма</p>",
        },
    },
    Template {
        name: "candidate_declined",
        en: Texts {
            subject: "Your application to MCF",
            text: "Hello {{name}},\n\nthank you for your time. We will not continue with your application: {{reason}}\n\nMCF hiring",
            html: "<p>Hello {{name}},</p><p>thank you for your time. We will not continue with your application: {{reason}}</p><p>MCF hiring</p>",
        },
        ru: Texts {
            subject: "Ваша анкета в MCF",
            text: "Здравствуйте, {{name}}!\n\nСпасибо за уделённое время. Мы не продолжим рассмотрение вашей анкеты: {{reason}}\n\nMCF, отдел найма",
            html: "<p>Здравствуйте, {{name}}!</p><p>Спасибо за уделённое время. Мы не продолжим рассмотрение вашей анкеты: {{reason}}</p><p>MCF, отдел найма</p>",
        },
    },
    Template {
        name: "order_activated",
        en: Texts {
            subject: "Your order for {{service}} is confirmed",
            text: "Hello {{name}},\n\n{{worker:worker}} will come on {{when:time}}. Price: {{price:money}}.\n\nMCF",
            html: "<p>Hello {{name}},</p><p>{{worker:worker}} will come on {{when:time}}. Price: {{price:money}}.</p><p>MCF</p>",
        },
        ru: Texts {
            subject: "Ваш заказ «{{service}}» подтверждён",
            text: "Здравствуйте, {{name}}!\n\n{{worker:worker}} придёт {{when:time}}. Цена: {{price:money}}.\n\nMCF",
            html: "<p>Здравствуйте, {{name}}!</p><p>{{worker:worker}} придёт {{when:time}}. Цена: {{price:money}}.</p><p>MCF</p>",
        },
    },
    Template {
        name: "kit_to_assemble",
        en: Texts {
            subject: "Kit to assemble for order {{order}}",
            text: "Hello {{name}},\n\nplease assemble the supply kit for order {{order}} ({{service}}, {{when:time}}):\n{{link}}\n\nPrint its job acceptance form and give it to the worker with the kit:\n{{form}}\n\nMCF supplies",
            html: "<p>Hello {{name}},</p><p>please assemble <a href=\"{{link}}\">the supply kit</a> for order {{order}} ({{service}}, {{when:time}}).</p><p>Print <a href=\"{{form}}\">its job acceptance form</a> and give it to the worker with the kit.</p><p>MCF supplies</p>",
        },
        ru: Texts {
            subject: "Соберите набор для заказа {{order}}",
            text: "Здравствуйте, {{name}}!\n\nПожалуйста, соберите набор расходных материалов для заказа {{order}} ({{service}}, {{when:time}}):\n{{link}}\n\nРаспечатайте акт приёмки работ и передайте его работнику вместе с набором:\n{{form}}\n\nMCF, снабжение",
            html: "<p>Здравствуйте, {{name}}!</p><p>Пожалуйста, соберите <a href=\"{{link}}\">набор расходных материалов</a> для заказа {{order}} ({{service}}, {{when:time}}).</p><p>Распечатайте <a href=\"{{form}}\">акт приёмки работ</a> и передайте его работнику вместе с набором.</p><p>MCF, снабжение</p>",
        },
    },
    Template {
        name: "invoice_issued",
        en: Texts {
            subject: "Your MCF invoice for {{period}}: {{total:money}}",
            text: "Hello {{name}},\n\nyour invoice for {{period}} is {{total:money}}. We collect it from your payment method at the bank; you will hear from us if that fails.\n{{link}}\n\nMCF billing",
            html: "<p>Hello {{name}},</p><p>your <a href=\"{{link}}\">invoice for {{period}}</a> is {{total:money}}. We collect it from your payment method at the bank; you will hear from us if that fails.</p><p>MCF billing</p>",
        },
        ru: Texts {
            subject: "Ваш счёт MCF за {{period}}: {{total:money}}",
            text: "Здравствуйте, {{name}}!\n\nВаш счёт за {{period}}: {{total:money}}. Мы спишем эту сумму с вашего способа оплаты в банке; если не получится, мы вам сообщим.\n{{link}}\n\nMCF, расчёты",
            html: "<p>Здравствуйте, {{name}}!</p><p>Ваш <a href=\"{{link}}\">счёт за {{period}}</a>: {{total:money}}. Мы спишем эту сумму с вашего способа оплаты в банке; если не получится, мы вам сообщим.</p><p>MCF, расчёты</p>",
        },
    },
    Template {
        name: "invoice_failed",
        en: Texts {
            subject: "We could not settle your MCF invoice for {{period}}",
            text: "Hello {{name}},\n\nyour invoice for {{period}} ({{total:money}}) could not be settled at the bank: {{reason}}. We will try again; please check the details you gave us.\n{{link}}\n\nMCF billing",
            html: "<p>Hello {{name}},</p><p>your <a href=\"{{link}}\">invoice for {{period}}</a> ({{total:money}}) could not be settled at the bank: {{reason}}. We will try again; please check the details you gave us.</p><p>MCF billing</p>",
        },
        ru: Texts {
            subject: "Не удалось оплатить ваш счёт MCF за {{period}}",
            text: "Здравствуйте, {{name}}!\n\nВаш счёт за {{period}} ({{total:money}}) не удалось оплатить в банке: {{reason}}. Мы попробуем ещё раз; пожалуйста, проверьте указанные вами реквизиты.\n{{link}}\n\nMCF, расчёты",
            html: "<p>Здравствуйте, {{name}}!</p><p>Ваш <a href=\"{{link}}\">счёт за {{period}}</a> ({{total:money}}) не удалось оплатить в банке: {{reason}}. Мы попробуем ещё раз; пожалуйста, проверьте указанные вами реквизиты.</p><p>MCF, расчёты</p>",
        },
    },
    Template {
        name: "payment_notice",
        en: Texts {
            subject: "Your MCF payment notice for {{period}}",
            text: "Hello {{name}},\n\nyour statement for {{period}} comes to {{total:money}} ({{status:status}}): a positive amount is paid to your bank account, a negative one is carried over to next month.\n{{link}}\n\nMCF billing",
            html: "<p>Hello {{name}},</p><p>your <a href=\"{{link}}\">statement for {{period}}</a> comes to {{total:money}} ({{status:status}}): a positive amount is paid to your bank account, a negative one is carried over to next month.</p><p>MCF billing</p>",
        },
        ru: Texts {
            subject: "Уведомление о выплате MCF за {{period}}",
            text: "Здравствуйте, {{name}}!\n\nИтог вашей выписки за {{period}}: {{total:money}} ({{status:status}}). Положительная сумма перечисляется на ваш банковский счёт, отрицательная переносится на следующий месяц.\n{{link}}\n\nMCF, расчёты",
            html: "<p>Здравствуйте, {{name}}!</p><p>Итог вашей <a href=\"{{link}}\">выписки за {{period}}</a>: {{total:money}} ({{status:status}}). Положительная сумма перечисляется на ваш банковский счёт, отрицательная переносится на следующий месяц.</p><p>MCF, расчёты</p>",
        },
    },
    Template {
        name: "low_stock",
        en: Texts {
            subject: "Low stock: {{consumable}}",
            text: "Hello {{name}},\n\n{{consumable}} is low: {{on_hand}} {{unit}} on hand, below its mark of {{threshold}}. Please order more.\n{{link}}\n\nMCF supplies",
            html: "<p>Hello {{name}},</p><p>{{consumable}} is low: {{on_hand}} {{unit}} on hand, below its mark of {{threshold}}. Please <a href=\"{{link}}\">order more</a>.</p><p>MCF supplies</p>",
        },
        ru: Texts {
            subject: "Заканчивается: {{consumable}}",
            text: "Здравствуйте, {{name}}!\n\n{{consumable}} заканчивается: на складе {{on_hand}} {{unit}}, меньше отметки {{threshold}}. Пожалуйста, закажите ещё.\n{{link}}\n\nMCF, снабжение",
            html: "<p>Здравствуйте, {{name}}!</p><p>{{consumable}} заканчивается: на складе {{on_hand}} {{unit}}, меньше отметки {{threshold}}. Пожалуйста, <a href=\"{{link}}\">закажите ещё</a>.</p><p>MCF, снабжение</p>",
        },
    },
    Template {
        name: "no_show_rebook",
        en: Texts {
            subject: "We are sorry: your order did not take place",
            text: "Hello {{name}},\n\nthe worker did not come for your order on {{when:time}}. Pick a new date and we will send someone else:\n{{link}}\n\nMCF",
            html: "<p>Hello {{name}},</p><p>the worker did not come for your order on {{when:time}}. <a href=\"{{link}}\">Pick a new date</a> and we will send someone else.</p><p>MCF</p>",
        },
        ru: Texts {
            subject: "Приносим извинения: ваш заказ не состоялся",
            text: "Здравствуйте, {{name}}!\n\nРаботник не пришёл по вашему заказу на {{when:time}}. Выберите новую дату, и мы пришлём другого:\n{{link}}\n\nMCF",
            html: "<p>Здравствуйте, {{name}}!</p><p>Работник не пришёл по вашему заказу на {{when:time}}. <a href=\"{{link}}\">Выберите новую дату</a>, и мы пришлём другого.</p><p>MCF</p>",
        },
    },
    Template {
        name: "order_not_matched",
        en: Texts {
            subject: "We could not find anyone for your order",
            text: "Hello {{name}},\n\nwe found no worker for your order on {{when:time}}. Pick a new date and we will try again:\n{{link}}\n\nMCF",
            html: "<p>Hello {{name}},</p><p>we found no worker for your order on {{when:time}}. <a href=\"{{link}}\">Pick a new date</a> and we will try again.</p><p>MCF</p>",
        },
        ru: Texts {
            subject: "Мы не нашли работника для вашего заказа",
            text: "Здравствуйте, {{name}}!\n\nМы не нашли работника для вашего заказа на {{when:time}}. Выберите новую дату, и мы попробуем снова:\n{{link}}\n\nMCF",
            html: "<p>Здравствуйте, {{name}}!</p><p>Мы не нашли работника для вашего заказа на {{when:time}}. <a href=\"{{link}}\">Выберите новую дату</a>, и мы попробуем снова.</p><p>MCF</p>",
        },
    },
    Template {
        name: "order_kit_not_ready",
        en: Texts {
            subject: "We are sorry: your order could not take place",
            text: "Hello {{name}},\n\nwe could not get the supplies for your order on {{when:time}} ready in time, so it could not take place. Pick a new date and we will come:\n{{link}}\n\nMCF",
            html: "<p>Hello {{name}},</p><p>we could not get the supplies for your order on {{when:time}} ready in time, so it could not take place. <a href=\"{{link}}\">Pick a new date</a> and we will come.</p><p>MCF</p>",
        },
        ru: Texts {
            subject: "Приносим извинения: ваш заказ не мог состояться",
            text: "Здравствуйте, {{name}}!\n\nМы не успели подготовить материалы для вашего заказа на {{when:time}}, поэтому он не мог состояться. Выберите новую дату, и мы придём:\n{{link}}\n\nMCF",
            html: "<p>Здравствуйте, {{name}}!</p><p>Мы не успели подготовить материалы для вашего заказа на {{when:time}}, поэтому он не мог состояться. <a href=\"{{link}}\">Выберите новую дату</a>, и мы придём.</p><p>MCF</p>",
        },
    },
    Template {
        name: "payout_sent",
        en: Texts {
            subject: "Your MCF payout for {{period}}",
            text: "Hello {{name}},\n\nwe paid you {{amount:money}} for {{period}}.\n\nMCF billing",
            html: "<p>Hello {{name}},</p><p>we paid you {{amount:money}} for {{period}}.</p><p>MCF billing</p>",
        },
        ru: Texts {
            subject: "Ваша выплата MCF за {{period}}",
            text: "Здравствуйте, {{name}}!\n\nМы выплатили вам {{amount:money}} за {{period}}.\n\nMCF, расчёты",
            html: "<p>Здравствуйте, {{name}}!</p><p>Мы выплатили вам {{amount:money}} за {{period}}.</p><p>MCF, расчёты</p>",
        },
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

/// The names used in `text` as `{{name}}` or `{{name:kind}}`.
fn placeholders(text: &str) -> Vec<&str> {
    text.split("{{")
        .skip(1)
        .filter_map(|s| s.split_once("}}").map(|(inside, _)| placeholder(inside).0))
        .collect()
}

/// A placeholder's inside, `name` or `name:kind`, as (name, kind).
fn placeholder(inside: &str) -> (&str, Option<&str>) {
    match inside.split_once(':') {
        Some((name, kind)) => (name.trim(), Some(kind.trim())),
        None => (inside.trim(), None),
    }
}

/// Variables a template needs (the same in every language: a test checks it), sorted.
pub fn variables_of(t: &Template) -> Vec<&'static str> {
    let mut names: Vec<&str> = [t.en.subject, t.en.text, t.en.html]
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

/// `value` written as `kind` says in `language`; as given when it is not what the kind
/// expects, or the kind is unknown.
fn formatted(value: &Value, kind: Option<&str>, language: Language) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match kind {
        Some("money") => {
            let minor = value.as_i64().or_else(|| text.trim().parse::<i64>().ok());
            minor.map_or(text, |m| language.money(Money::from_minor(m)))
        }
        Some("time") => DateTime::parse_from_rfc3339(text.trim())
            .map_or(text, |at| language.datetime(at.with_timezone(&Utc))),
        Some("status") => status(language, &text),
        // A name the sender may not know yet: said without one.
        Some("worker") if text.trim().is_empty() => match language {
            Language::En => "Your worker".to_owned(),
            Language::Ru => "Ваш работник".to_owned(),
        },
        _ => text,
    }
}

fn fill(
    text: &str,
    values: &BTreeMap<&str, &Value>,
    language: Language,
    safe: fn(&str) -> String,
    escape: bool,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let (name, kind) = placeholder(&after[..end]);
        let value = safe(&formatted(values[name], kind, language));
        out.push_str(&if escape { escape_html(&value) } else { value });
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Renders template `name` in `language` with `variables`.
pub fn render(
    name: &str,
    language: Language,
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
            Some(v @ (Value::String(_) | Value::Number(_))) => v,
            Some(_) => return Err(RenderError::NotText(var.to_owned())),
        };
        values.insert(var, value);
    }
    let texts = t.texts(language);
    Ok(Rendered {
        subject: bounded_subject(fill(texts.subject, &values, language, header_safe, false)),
        text: fill(texts.text, &values, language, body_safe, false),
        html: fill(texts.html, &values, language, body_safe, true),
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
            Language::En,
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
            render(t.name, Language::En, &v).unwrap_or_else(|e| panic!("{}: {e}", t.name));
        }
        assert_eq!(TEMPLATES.len(), 15);
    }

    #[test]
    fn every_template_has_russian_texts_with_the_same_variables() {
        for t in TEMPLATES {
            for (en, ru) in [
                (t.en.subject, t.ru.subject),
                (t.en.text, t.ru.text),
                (t.en.html, t.ru.html),
            ] {
                let (mut a, mut b) = (placeholders(en), placeholders(ru));
                a.sort_unstable();
                b.sort_unstable();
                assert_eq!(a, b, "{}: {ru}", t.name);
                // Written in Russian: Cyrillic in every part, and not the English text.
                assert!(
                    ru.contains(|c| ('а'..='я').contains(&c)),
                    "{}: {ru}",
                    t.name
                );
                assert_ne!(en, ru, "{}", t.name);
            }
        }
    }

    #[test]
    fn a_russian_reader_gets_russian_text_dates_and_money() {
        let v = vars(json!({"name": "Кот", "service": "Уборка", "worker": "Том",
            "when": "2026-11-03T14:05:00Z", "price": 1_234_567}));
        let ru = render("order_activated", Language::Ru, &v).unwrap();
        assert_eq!(ru.subject, "Ваш заказ «Уборка» подтверждён");
        assert!(
            ru.text
                .contains("Том придёт 03.11.2026, 14:05 UTC. Цена: 12\u{a0}345,67."),
            "{}",
            ru.text
        );
        assert!(
            ru.html.starts_with("<p>Здравствуйте, Кот!</p>"),
            "{}",
            ru.html
        );
        let en = render("order_activated", Language::En, &v).unwrap();
        assert!(
            en.text
                .contains("Том will come on 3 Nov 2026, 14:05 UTC. Price: 12,345.67."),
            "{}",
            en.text
        );
        // Money given as text (minor units) and negative amounts are formatted too; the
        // status word is translated.
        let notice = vars(json!({"name": "Tom", "period": "2026-11", "total": "-4000",
            "status": "carried_over", "link": "http://portal/money"}));
        let ru = render("payment_notice", Language::Ru, &notice).unwrap();
        assert!(
            ru.text.contains("-40,00 (перенесено на следующий месяц)"),
            "{}",
            ru.text
        );
        let en = render("payment_notice", Language::En, &notice).unwrap();
        assert!(en.text.contains("-40.00 (carried over)"), "{}", en.text);
    }

    #[test]
    fn a_value_that_is_not_what_its_placeholder_expects_is_shown_as_given() {
        // An older sender's preformatted date and amount: the mail still goes out.
        let v = vars(
            json!({"name": "Tom", "service": "Cleaning", "worker": "Kim",
            "when": "2026-11-03 14:05 UTC", "price": "60.10 RUB"}),
        );
        let r = render("order_activated", Language::Ru, &v).unwrap();
        assert!(
            r.text
                .contains("Kim придёт 2026-11-03 14:05 UTC. Цена: 60.10 RUB."),
            "{}",
            r.text
        );
        let r = render(
            "payment_notice",
            Language::Ru,
            &vars(json!({"name": "T", "period": "p", "total": 1, "status": "odd", "link": "l"})),
        )
        .unwrap();
        assert!(r.text.contains("0,01 (odd)"), "{}", r.text);
        // A worker the sender could not name yet is "your worker", in the reader's language.
        let v = vars(json!({"name": "Кот", "service": "Уборка", "worker": "",
            "when": "2026-11-03T14:05:00Z", "price": 100}));
        let r = render("order_activated", Language::Ru, &v).unwrap();
        assert!(r.text.contains("Ваш работник придёт"), "{}", r.text);
        let r = render("order_activated", Language::En, &v).unwrap();
        assert!(r.text.contains("Your worker will come"), "{}", r.text);
    }

    #[test]
    fn refusals_name_the_field() {
        let e = render("nope", Language::En, &vars(json!({}))).unwrap_err();
        assert_eq!(e.field(), "template");
        let e = render(
            "payout_sent",
            Language::En,
            &vars(json!({"name": "Tom", "amount": 5})),
        )
        .unwrap_err();
        assert_eq!(e, RenderError::Missing("period".into()));
        assert_eq!(e.field(), "variables.period");
        let e = render(
            "payout_sent",
            Language::En,
            &vars(json!({"name": "Tom", "amount": [1], "period": "May"})),
        )
        .unwrap_err();
        assert_eq!(e.field(), "variables.amount");
    }

    #[test]
    fn line_breaks_and_controls_stay_out_of_the_subject_and_are_not_refused() {
        let r = render(
            "payout_sent",
            Language::En,
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
            Language::En,
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
            render("payout_sent", Language::En, &v)
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
