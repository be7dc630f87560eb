//! English and Russian: the language a page is shown in (a switch kept in a cookie, else the
//! browser's `Accept-Language`), the message catalogue, and money, dates and times written
//! the way each language writes them.

use chrono::{DateTime, Utc};

/// The cookie the language switch sets (IAM's sign-in pages read the same one).
pub const COOKIE: &str = iam::client::LANGUAGE_COOKIE;

/// A language the portal speaks: the platform's one type (Mail writes money and moments the
/// same way); what only the portal does with it is [`Speak`] and [`negotiate`].
pub type Lang = contracts::language::Language;

/// The language chosen: the switch's cookie if it names one, else the best of
/// `Accept-Language` (RFC 9110 12.5.4: highest `q` first, ties in order), else English.
pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
    if let Some(lang) = cookie.and_then(Lang::parse) {
        return lang;
    }
    accept_language
        .and_then(Lang::from_accept_language)
        .unwrap_or_default()
}

/// What the portal does with a language beyond the shared type (a trait because
/// [`Lang`] is defined in `contracts`): its catalogue, its switch, its empty moments.
pub trait Speak: Copy {
    /// The catalogue's text for `key` in this language; `?` when it is missing (a test
    /// checks that every key used has both languages).
    fn t(self, key: &str) -> &'static str;

    /// The other language (what the switch offers).
    fn other(self) -> Lang;

    /// [`Lang::datetime`] of an optional moment; empty for none.
    fn maybe_datetime(self, at: Option<DateTime<Utc>>) -> String;
}

impl Speak for Lang {
    fn t(self, key: &str) -> &'static str {
        match CATALOGUE.get(key) {
            Some((en, ru)) => match self {
                Lang::En => en,
                Lang::Ru => ru,
            },
            None => {
                tracing::warn!(key, "no message in the catalogue");
                "?"
            }
        }
    }

    fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ru,
            Lang::Ru => Lang::En,
        }
    }

    fn maybe_datetime(self, at: Option<DateTime<Utc>>) -> String {
        at.map(|at| self.datetime(at)).unwrap_or_default()
    }
}

/// [`MESSAGES`] by key.
static CATALOGUE: std::sync::LazyLock<std::collections::HashMap<&str, (&str, &str)>> =
    std::sync::LazyLock::new(|| {
        MESSAGES
            .iter()
            .map(|(k, en, ru)| (*k, (*en, *ru)))
            .collect()
    });

/// `(key, English, Russian)`, each key once (a test checks it).
static MESSAGES: &[(&str, &str, &str)] = &[
    (
        "account.change_password",
        "Change password",
        "Сменить пароль",
    ),
    (
        "account.current_password",
        "Current password",
        "Текущий пароль",
    ),
    (
        "account.new_password",
        "New password (at least 12 characters)",
        "Новый пароль (не короче 12 символов)",
    ),
    (
        "account.password_changed",
        "Your password is changed. Sign in again on your other devices.",
        "Пароль изменён. На других устройствах войдите заново.",
    ),
    ("action.accept", "Accept", "Принять"),
    ("action.add", "Add", "Добавить"),
    ("action.assign", "Assign tests", "Назначить тесты"),
    ("action.cancel_order", "Cancel the order", "Отменить заказ"),
    ("action.check_in", "Check in", "Отметить прибытие"),
    ("action.create", "Create", "Создать"),
    ("action.decline", "Decline", "Отклонить"),
    ("action.finish", "Finish the job", "Завершить работу"),
    ("action.issue", "Issued", "Выдано"),
    (
        "action.link",
        "Make a set-password link",
        "Ссылка для установки пароля",
    ),
    ("action.rebook", "Book again", "Заказать снова"),
    ("action.receive", "Receive", "Оприходовать"),
    ("action.replay", "Replay", "Повторить"),
    ("action.request", "Request help", "Заказать помощь"),
    ("action.retire", "Retire", "Снять с продажи"),
    ("action.retry", "Retry", "Отправить снова"),
    (
        "action.rotate",
        "Rotate the signing keys",
        "Сменить ключи подписи",
    ),
    ("action.save", "Save", "Сохранить"),
    ("action.search", "Search", "Найти"),
    ("action.send", "Send", "Отправить"),
    ("action.show", "Show", "Показать"),
    ("admin.accounts", "Accounts", "Учётные записи"),
    (
        "admin.dead_letters",
        "Dead letters",
        "Недоставленные события",
    ),
    (
        "admin.key_rotated",
        "New signing keys are in use.",
        "Используются новые ключи подписи.",
    ),
    ("admin.keys", "Signing keys", "Ключи подписи"),
    (
        "admin.keys_intro",
        "Rotating makes IAM sign with new keys; tokens signed with the old ones stay valid until they expire.",
        "После смены IAM подписывает новыми ключами; токены со старыми действуют до истечения срока.",
    ),
    (
        "admin.link_made",
        "Hand this link to the person; it works once:",
        "Передайте ссылку человеку; она сработает один раз:",
    ),
    ("admin.mails", "Mails", "Письма"),
    ("admin.new_account", "New account", "Новая учётная запись"),
    (
        "admin.new_service_account",
        "New service account",
        "Новая сервисная учётная запись",
    ),
    (
        "admin.no_dead_letters",
        "No dead letters.",
        "Недоставленных событий нет.",
    ),
    (
        "admin.secret_once",
        "Keep the secret now: it is not shown again.",
        "Сохраните секрет сейчас: он больше не будет показан.",
    ),
    (
        "admin.service_accounts",
        "Service accounts",
        "Сервисные учётные записи",
    ),
    ("app.name", "MCF", "MCF"),
    (
        "app.tagline",
        "Vetted worker cats take routine chores off busy client cats.",
        "Проверенные коты-работники берут на себя рутину занятых котов-клиентов.",
    ),
    (
        "candidate.applied",
        "Thank you! We received your application and will write to you.",
        "Спасибо! Мы получили вашу анкету и напишем вам.",
    ),
    (
        "candidate.apply",
        "Apply to work with us",
        "Стать работником",
    ),
    (
        "candidate.no_tests",
        "There are no tests left to take.",
        "Тестов для прохождения не осталось.",
    ),
    (
        "candidate.photo",
        "Your photo (PNG, JPEG or WebP, up to 512 KB)",
        "Ваше фото (PNG, JPEG или WebP, до 512 КБ)",
    ),
    (
        "candidate.recorded",
        "Your answers are recorded.",
        "Ответы записаны.",
    ),
    ("candidate.taken", "Taken", "Пройден"),
    ("candidate.tests", "Your tests", "Ваши тесты"),
    (
        "error.forbidden",
        "This page is not for your role.",
        "Эта страница не для вашей роли.",
    ),
    (
        "error.not_found",
        "There is nothing here.",
        "Здесь ничего нет.",
    ),
    (
        "error.session",
        "The form expired. Please try again.",
        "Форма устарела. Попробуйте ещё раз.",
    ),
    ("error.title", "Something went wrong", "Что-то пошло не так"),
    (
        "error.unavailable",
        "The service does not answer. Please try again in a moment.",
        "Сервис не отвечает. Попробуйте чуть позже.",
    ),
    ("field.age", "Age (years)", "Возраст (лет)"),
    ("field.breed", "Breed", "Порода"),
    (
        "field.characteristic",
        "Skill it measures",
        "Проверяемый навык",
    ),
    ("field.coat_colour", "Coat colour", "Окрас"),
    ("field.description", "Description", "Описание"),
    (
        "field.duration",
        "Duration (minutes)",
        "Длительность (минут)",
    ),
    ("field.email", "E-mail", "Эл. почта"),
    ("field.level", "Level (0 to 100)", "Уровень (от 0 до 100)"),
    ("field.low_stock", "Low-stock mark", "Порог низкого остатка"),
    ("field.name", "Name", "Имя"),
    ("field.pass_mark", "Pass mark (%)", "Проходной балл (%)"),
    ("field.photo_check_in", "Photo on site", "Фото на месте"),
    (
        "field.photo_report",
        "Photo of the signed form",
        "Фото подписанного акта",
    ),
    ("field.price", "Approximate price", "Примерная цена"),
    ("field.quantity", "Quantity", "Количество"),
    (
        "field.questions",
        "Questions: one per line, 'question | choice | *right choice | choice'",
        "Вопросы: по одному в строке, «вопрос | вариант | *верный вариант | вариант»",
    ),
    ("field.reason", "Reason", "Причина"),
    ("field.roles", "Roles", "Роли"),
    (
        "field.scheduled_at",
        "Date and time (UTC)",
        "Дата и время (UTC)",
    ),
    ("field.service_type", "Service", "Услуга"),
    ("field.skill", "Skill", "Навык"),
    ("field.status", "Status", "Статус"),
    ("field.unit", "Unit", "Единица"),
    ("hiring.applications", "Applications", "Анкеты"),
    ("hiring.assigned", "Assigned tests", "Назначенные тесты"),
    ("hiring.new_test", "New test", "Новый тест"),
    ("hiring.score", "Score", "Результат"),
    ("hiring.tests", "Tests", "Тесты"),
    ("kit.cookie", "Fortune cookie", "Печенье с предсказанием"),
    (
        "kit.form",
        "Job acceptance form (PDF)",
        "Акт приёмки работ (PDF)",
    ),
    ("kit.lines", "Consumables", "Расходные материалы"),
    ("kit.missing", "Not in stock", "Нет на складе"),
    ("kit.queue", "Kit queue", "Очередь комплектов"),
    ("kit.responsible", "Responsible", "Ответственный"),
    ("kit.state.canceled", "Canceled", "Отменён"),
    ("kit.state.issued", "Issued", "Выдан"),
    ("kit.state.ready", "Ready", "Готов"),
    ("kit.state.to_assemble", "To assemble", "Собрать"),
    (
        "kit.state.waiting_for_cookie",
        "Waiting for the cookie",
        "Ждёт печенье",
    ),
    ("lang.switch", "Русский", "English"),
    ("matching.adjust", "Adjust a level", "Изменить уровень"),
    ("matching.adjustments", "Adjustments", "Изменения"),
    (
        "matching.explain",
        "Why this worker",
        "Почему этот работник",
    ),
    ("matching.runners_up", "Runners-up", "Другие кандидаты"),
    ("matching.skills", "Skills", "Навыки"),
    ("matching.workers", "Workers", "Работники"),
    ("menu.apply", "Work with us", "Стать работником"),
    ("menu.catalog", "Service catalog", "Каталог услуг"),
    ("menu.hiring", "Hiring", "Найм"),
    ("menu.jobs", "My jobs", "Мои работы"),
    ("menu.kits", "Kits", "Комплекты"),
    ("menu.new_order", "Request help", "Заказать помощь"),
    ("menu.orders", "My orders", "Мои заказы"),
    ("menu.password", "Password", "Пароль"),
    ("menu.sign_in", "Sign in", "Войти"),
    ("menu.sign_out", "Sign out", "Выйти"),
    ("menu.stock", "Stock", "Склад"),
    ("menu.workers", "Workers", "Работники"),
    ("order.check_in_deadline", "Check in by", "Прибыть до"),
    ("order.history", "History", "История"),
    ("order.kit_issued", "Supply kit issued", "Комплект выдан"),
    (
        "order.kit_not_issued",
        "The supply kit is not issued yet: check in after picking it up.",
        "Комплект ещё не выдан: отметьтесь после его получения.",
    ),
    ("order.none", "Nothing here yet.", "Пока ничего нет."),
    ("order.price", "Price", "Цена"),
    (
        "order.rebook_intro",
        "Nobody came. Choose a new date and we will find a worker again.",
        "Никто не пришёл. Выберите новую дату, и мы снова подберём работника.",
    ),
    ("order.scheduled", "When", "Когда"),
    ("order.status.active", "Active", "Активен"),
    ("order.status.canceled", "Canceled", "Отменён"),
    ("order.status.completed", "Completed", "Выполнен"),
    ("order.status.failed", "Failed", "Сорван"),
    ("order.status.in_progress", "In progress", "Выполняется"),
    ("order.status.requested", "Requested", "Запрошен"),
    ("order.worker", "Worker", "Работник"),
    ("orders.all", "All", "Все"),
    ("orders.title", "Orders", "Заказы"),
    ("page.home", "Welcome", "Добро пожаловать"),
    ("page.jobs", "Jobs", "Работы"),
    ("status.accepted", "Accepted", "Принят"),
    ("status.declined", "Declined", "Отклонён"),
    ("status.open", "Open", "Открыта"),
    ("stock.moves", "Moves", "Движения"),
    ("stock.new", "New consumable", "Новый расходный материал"),
    ("stock.on_hand", "On hand", "В наличии"),
    ("stock.low", "Low", "Мало"),
    ("nav.skip", "Skip to the content", "К содержимому"),
    ("nav.menu", "Menu", "Меню"),
    ("account.forgot", "Forgot your password?", "Забыли пароль?"),
    (
        "error.datetime",
        "Give a date and a time.",
        "Укажите дату и время.",
    ),
    ("error.choose", "Choose one.", "Выберите вариант."),
    (
        "error.photo",
        "Take or choose a photo.",
        "Сделайте или выберите фото.",
    ),
    (
        "error.number",
        "Give a whole number.",
        "Укажите целое число.",
    ),
    (
        "error.money",
        "Give an amount such as 120 or 120.50.",
        "Укажите сумму, например 120 или 120,50.",
    ),
    ("admin.active", "Active", "Активна"),
    ("admin.pending", "Pending", "Ожидают"),
    ("menu.money", "Money", "Деньги"),
    ("money.balance", "Balance", "Баланс"),
    (
        "money.balance_intro",
        "Positive: you owe MCF; negative: MCF owes you.",
        "Положительный: вы должны MCF; отрицательный: MCF должен вам.",
    ),
    ("money.invoices", "Invoices", "Счета"),
    ("money.outstanding", "Owed now", "К оплате сейчас"),
    ("money.statement", "Statement", "Выписка"),
    (
        "money.week",
        "This week, until Sunday midnight",
        "Эта неделя, до полуночи воскресенья",
    ),
    (
        "money.week_total",
        "This Sunday you will owe",
        "В воскресенье к оплате",
    ),
    ("menu.quality", "Quality", "Качество"),
    (
        "quality.client_contact",
        "How, and what they said",
        "Как связались и что сказали",
    ),
    (
        "quality.client_contacted",
        "The client was contacted",
        "С клиентом связались",
    ),
    ("quality.findings", "Findings", "Выводы"),
    ("quality.queue", "Review queue", "Очередь разбора"),
    ("quality.reason", "Why it is here", "Почему в очереди"),
    ("quality.review", "Review", "Разбор"),
    ("quality.reviewed", "Reviewed", "Разобран"),
    ("quality.timeline", "Timeline", "Хронология"),
    ("quality.to_review", "To review", "К разбору"),
    ("quality.verdict", "Verdict", "Вердикт"),
    ("quality.what_happened", "What happened", "Что произошло"),
    ("order.client", "Client", "Клиент"),
    ("menu.bets", "Bets", "Ставки"),
    ("bets.amount", "Amount", "Сумма"),
    ("bets.close", "Close the bet", "Закрыть ставку"),
    (
        "bets.closes_at",
        "Stakes close at (UTC, optional)",
        "Приём ставок до (UTC, необязательно)",
    ),
    ("bets.open", "Open a bet", "Открыть ставку"),
    ("bets.order", "Order id", "Номер заказа"),
    ("bets.outcome", "Outcome", "Исход"),
    ("bets.pool", "Pool", "Банк"),
    ("bets.stake", "Stake", "Поставить"),
    ("bets.stakes", "Stakes", "Ставки"),
    ("menu.hypotheses", "Hypotheses", "Гипотезы"),
    ("menu.samples", "Samples", "Выборки"),
    ("menu.awards", "Awards", "Премии"),
    ("menu.statements", "Statements", "Выписки"),
    ("menu.summary", "Summary", "Итоги"),
    ("awards.give", "Give an award", "Выдать премию"),
    ("awards.worker", "Worker", "Исполнитель"),
    ("awards.reason", "Why (one line)", "За что (одна строка)"),
    ("awards.given", "Awards given", "Выданные премии"),
    ("awards.by", "Given by", "Кто выдал"),
    (
        "statements.intro",
        "Every account of the ledger with its balance; open one for its lines.",
        "Все счета книги с остатками; откройте счёт, чтобы увидеть его проводки.",
    ),
    ("statements.kind", "Kind", "Вид"),
    (
        "statements.total",
        "Sum of all balances",
        "Сумма всех остатков",
    ),
    (
        "statements.sign",
        "Positive: owed to MCF (or debited); negative: owed by MCF (or credited).",
        "Положительный: долг перед MCF (или дебет); отрицательный: долг MCF (или кредит).",
    ),
    ("statements.all", "All accounts", "Все счета"),
    ("summary.period", "Period", "Период"),
    ("summary.month", "Month", "Месяц"),
    ("summary.week", "Week", "Неделя"),
    (
        "summary.at",
        "A day in it (UTC)",
        "День внутри периода (UTC)",
    ),
    ("summary.show", "Show", "Показать"),
    ("summary.revenue", "Revenue", "Выручка"),
    (
        "summary.worker_earnings",
        "Workers' earnings",
        "Заработок исполнителей",
    ),
    ("summary.penalties", "Penalties", "Штрафы"),
    ("summary.awards", "Awards", "Премии"),
    ("summary.margin", "Margin", "Маржа"),
    (
        "summary.margin_is",
        "Margin = revenue - earnings - awards + penalties.",
        "Маржа = выручка - заработок - премии + штрафы.",
    ),
    ("hypotheses.tagged", "Tagged", "С меткой"),
    ("hypotheses.all", "All hypotheses", "Все гипотезы"),
    ("hypotheses.statement", "Hypothesis", "Гипотеза"),
    ("hypotheses.tags", "Tags", "Метки"),
    (
        "hypotheses.reviews",
        "Supporting reviews",
        "Подтверждающие разборы",
    ),
    ("hypotheses.add", "Add a hypothesis", "Добавить гипотезу"),
    (
        "hypotheses.tags_typed",
        "Tags, separated by commas",
        "Метки через запятую",
    ),
    ("hypotheses.one", "Hypothesis", "Гипотеза"),
    ("hypotheses.edit_tags", "Change the tags", "Изменить метки"),
    (
        "samples.intro",
        "A sample draws completed orders that were never in the review queue into it. The same seed over the same orders draws the same ones.",
        "Выборка добавляет в очередь разбора выполненные заказы, которых там ещё не было. Тот же seed на тех же заказах даёт ту же выборку.",
    ),
    ("samples.draw", "Draw a sample", "Сделать выборку"),
    ("samples.size", "How many orders", "Сколько заказов"),
    ("samples.seed", "Seed (optional)", "Seed (необязательно)"),
    ("samples.drawn", "Samples drawn", "Сделанные выборки"),
    ("samples.candidates", "Candidates", "Кандидатов"),
    ("samples.orders", "Orders", "Заказы"),
    ("error.date", "Give a date.", "Укажите дату."),
    ("error.required", "Fill this in.", "Заполните это поле."),
    ("money.bank", "Bank details", "Банковские реквизиты"),
    (
        "money.bank_saved",
        "Saved: Billing uses them from the next attempt.",
        "Сохранено: биллинг использует их со следующей попытки.",
    ),
    (
        "money.payment_method",
        "Card (payment method)",
        "Карта (способ оплаты)",
    ),
    ("money.payout_account", "Payout account", "Счёт для выплат"),
    (
        "money.no_payment_method",
        "No card yet: your weekly invoice cannot be collected until you add one.",
        "Карты пока нет: еженедельный счёт не оплатить, пока вы её не добавите.",
    ),
    (
        "money.no_payout_account",
        "No account yet: your monthly earnings cannot be paid until you give one.",
        "Счёта пока нет: заработок за месяц не выплатить, пока вы его не укажете.",
    ),
    (
        "money.get_payment_method",
        "Add a card at the Gold Hat bank",
        "Добавить карту в банке Gold Hat",
    ),
    (
        "money.get_payout_account",
        "Open an account at the Gold Hat bank",
        "Открыть счёт в банке Gold Hat",
    ),
    (
        "money.type_it",
        "Have a token or account number from the bank already? Type it in",
        "Уже есть токен или номер счёта из банка? Введите его",
    ),
    (
        "money.failed_collection",
        "Add another card above (or top up this one); we try again by ourselves.",
        "Добавьте другую карту выше (или пополните эту); мы попробуем снова сами.",
    ),
    (
        "money.failed_payout",
        "Give your payout account above; we try again by ourselves.",
        "Укажите счёт для выплат выше; мы попробуем снова сами.",
    ),
    ("money.next_attempt", "Next attempt:", "Следующая попытка:"),
    ("invoice.issued", "issued", "выставлен"),
    ("invoice.paid", "paid", "оплачен"),
    ("invoice.failed", "failed", "не прошёл"),
    ("invoice.carried_over", "carried over", "перенесён"),
    ("invoice.settled", "settled", "закрыт"),
    ("welcome.signed_in", "Signed in as", "Вы вошли как"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_each_key_once_in_both_languages() {
        assert_eq!(CATALOGUE.len(), MESSAGES.len(), "a key is listed twice");
        for (key, en, ru) in MESSAGES {
            assert!(!en.is_empty() && !ru.is_empty(), "{key}");
        }
        assert_eq!(Lang::Ru.t("menu.sign_in"), "Войти");
        assert_eq!(Lang::En.t("menu.sign_in"), "Sign in");
        assert_eq!(Lang::En.t("no.such.key"), "?");
    }

    #[test]
    fn every_key_the_templates_use_is_in_the_catalogue() {
        // Given every template's text
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            // When each literal key handed to t("...") is looked up
            for piece in text.split("t(\"").skip(1) {
                let key = piece.split('"').next().unwrap();
                if !CATALOGUE.contains_key(key) {
                    missing.push(key.to_owned());
                }
            }
        }
        // Then none is missing
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn the_switch_wins_then_the_browsers_preference() {
        // Given a browser preferring Russian
        let accept = Some("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7");
        // Then Russian, unless the switch says English
        assert_eq!(negotiate(None, accept), Lang::Ru);
        assert_eq!(negotiate(Some("en"), accept), Lang::En);
        // And q-values decide, not the order; languages we do not speak are skipped
        assert_eq!(negotiate(None, Some("de, en;q=0.5, ru;q=0.8")), Lang::Ru);
        assert_eq!(negotiate(None, Some("fr-CH, fr;q=0.9")), Lang::En);
        // And garbage or q=0 falls back to English
        assert_eq!(negotiate(Some("xx"), Some("ru;q=0")), Lang::En);
        assert_eq!(negotiate(None, Some("ru;q=abc")), Lang::En);
        assert_eq!(negotiate(None, Some(";;,,")), Lang::En);
        assert_eq!(negotiate(None, None), Lang::En);
    }

    #[test]
    fn an_optional_moment_is_written_or_empty_and_the_switch_offers_the_other_language() {
        // (money and moments themselves are contracts::language's, tested there)
        let at = DateTime::parse_from_rfc3339("2026-11-03T14:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(Lang::Ru.maybe_datetime(Some(at)), "03.11.2026, 14:05 UTC");
        assert_eq!(Lang::En.maybe_datetime(Some(at)), "3 Nov 2026, 14:05 UTC");
        assert_eq!(Lang::Ru.maybe_datetime(None), "");
        assert_eq!(Lang::En.other(), Lang::Ru);
        assert_eq!(Lang::Ru.other(), Lang::En);
    }
}
