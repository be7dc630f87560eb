//! The job acceptance form of a kit's order, as a printable PDF: the order's facts
//! (client, job and address, worker, date, service, the order id as text and as a QR code),
//! what the kit holds, and a box where the client signs. The worker takes it with the kit,
//! the client signs it when the job is done, and the worker photographs it at completion.
//!
//! Pure: the kit in, the bytes out, the same bytes for the same kit (no clock, no random
//! ids). Text uses the PDF's built-in Helvetica, so nothing is embedded and any reader
//! prints it; that font's encoding (WinAnsi) covers Western European letters, and any other
//! character prints as `?` (the order id, in the QR code too, is what identifies the job).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use qrcode::{Color, EcLevel, QrCode};

use crate::domain::{Job, Kit};

/// A4, in points.
const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
/// The width text may take between the margins.
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
/// Where the facts' values start, right of their labels.
const VALUE_X: f32 = MARGIN + 110.0;
/// The facts' values stop short of the QR code in the top right corner.
const VALUE_WIDTH: f32 = 270.0;
/// The QR code's side and the space under the page's top edge where it sits.
const QR_SIZE: f32 = 110.0;
const QR_TOP: f32 = PAGE_HEIGHT - MARGIN;
/// Text never goes below this (room for the footer).
const BOTTOM: f32 = MARGIN + 30.0;
/// Height of the signature block: the statement, the two boxes and their labels.
const SIGNATURE_BLOCK: f32 = 170.0;
/// At most this many lines of the client's description are printed (2000 characters,
/// what Ordering accepts, fit well within).
const MAX_DESCRIPTION_LINES: usize = 45;

const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");

/// The form of `kit`, whose order's facts are `job`, as PDF bytes.
pub fn acceptance_form(kit: &Kit, job: &Job) -> Vec<u8> {
    let mut layout = Layout::new();
    layout.text(BOLD, 18.0, MARGIN, "Job acceptance form");
    layout.gap(4.0);
    layout.text(
        REGULAR,
        9.0,
        MARGIN,
        "MCF. The client signs below when the job is done; the worker photographs this paper.",
    );
    layout.gap(10.0);
    let order_id = kit.order_id.to_string();
    draw_qr(&mut layout.pages[0], &order_id);
    let when = kit.scheduled_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let client = match &job.client_name {
        Some(name) => name.clone(),
        None => format!("account {}", job.client_id),
    };
    let worker = match &job.worker_name {
        Some(name) => name.clone(),
        None => format!("worker {}", job.worker_id),
    };
    let service = if job.duration_minutes > 0 {
        format!(
            "{} ({} minutes)",
            job.service_type_name, job.duration_minutes
        )
    } else {
        job.service_type_name.clone()
    };
    let kit_id = kit.id.to_string();
    for (label, value) in [
        ("Order", order_id.as_str()),
        ("Client", client.as_str()),
        ("Worker", worker.as_str()),
        ("Date", when.as_str()),
        ("Service", service.as_str()),
        ("Supply kit", kit_id.as_str()),
    ] {
        layout.fact(label, value);
    }
    // Below the QR code whatever the facts took.
    layout.y = layout.y.min(QR_TOP - QR_SIZE - 16.0);
    layout.text(BOLD, 11.0, MARGIN, "Job and address");
    let mut description = wrap(&job.description, 10.0, TEXT_WIDTH);
    if description.is_empty() {
        description.push("(none given)".into());
    }
    if description.len() > MAX_DESCRIPTION_LINES {
        description.truncate(MAX_DESCRIPTION_LINES);
        description.push("(continued in the order)".into());
    }
    for line in &description {
        layout.text(REGULAR, 10.0, MARGIN, line);
    }
    layout.gap(8.0);
    layout.text(BOLD, 11.0, MARGIN, "Supplies in the kit");
    if kit.lines.is_empty() {
        layout.text(REGULAR, 10.0, MARGIN, "none");
    }
    for line in &kit.lines {
        for (i, text) in wrap(
            &format!("{} x {}", line.quantity, line.name),
            10.0,
            TEXT_WIDTH,
        )
        .iter()
        .enumerate()
        {
            let x = if i == 0 { MARGIN } else { MARGIN + 20.0 };
            layout.text(REGULAR, 10.0, x, text);
        }
    }
    layout.gap(12.0);
    layout.signature_block();
    layout.finish(&order_id)
}

/// Pages of content drawn from the top down, a new page when the next line would not fit.
struct Layout {
    pages: Vec<Content>,
    /// The baseline of the next line on the last page.
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            pages: vec![Content::new()],
            y: PAGE_HEIGHT - MARGIN - 14.0,
        }
    }

    /// Starts a new page unless `height` more fits above the bottom of this one.
    fn room_for(&mut self, height: f32) {
        if self.y - height < BOTTOM {
            self.pages.push(Content::new());
            self.y = PAGE_HEIGHT - MARGIN - 14.0;
        }
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }

    fn page(&mut self) -> &mut Content {
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// One line of `text` at `x`, then the next line below it.
    fn text(&mut self, font: Name<'static>, size: f32, x: f32, text: &str) {
        self.room_for(size);
        let y = self.y;
        show(self.page(), font, size, x, y, text);
        self.y -= size * 1.45;
    }

    /// A labeled fact: the label in bold, the value beside it (wrapped).
    fn fact(&mut self, label: &str, value: &str) {
        let lines = wrap(value, 10.5, VALUE_WIDTH);
        self.room_for(10.5 * 1.5 * lines.len().max(1) as f32);
        let y = self.y;
        show(self.page(), BOLD, 10.5, MARGIN, y, label);
        for line in &lines {
            let y = self.y;
            show(self.page(), REGULAR, 10.5, VALUE_X, y, line);
            self.y -= 10.5 * 1.5;
        }
        if lines.is_empty() {
            self.y -= 10.5 * 1.5;
        }
    }

    /// The client's statement, a box for the signature and one for the date.
    fn signature_block(&mut self) {
        self.room_for(SIGNATURE_BLOCK);
        self.text(BOLD, 11.0, MARGIN, "Client's acceptance");
        self.text(
            REGULAR,
            10.0,
            MARGIN,
            "I confirm that the job described above was done.",
        );
        self.gap(6.0);
        let label_y = self.y;
        let box_height = 90.0;
        let box_bottom = label_y - 6.0 - box_height;
        let date_width = 150.0;
        let sign_width = TEXT_WIDTH - date_width - 20.0;
        let page = self.page();
        show(
            page,
            REGULAR,
            9.0,
            MARGIN,
            label_y,
            "Client's name and signature",
        );
        show(
            page,
            REGULAR,
            9.0,
            MARGIN + sign_width + 20.0,
            label_y,
            "Date",
        );
        page.set_line_width(1.0);
        page.rect(MARGIN, box_bottom, sign_width, box_height);
        page.rect(
            MARGIN + sign_width + 20.0,
            box_bottom,
            date_width,
            box_height,
        );
        page.stroke();
        self.y = box_bottom - 16.0;
    }

    /// Writes the pages (each with its footer) into one document.
    fn finish(mut self, order_id: &str) -> Vec<u8> {
        let count = self.pages.len();
        for (i, page) in self.pages.iter_mut().enumerate() {
            let footer = format!("Order {order_id}, page {} of {count}", i + 1);
            show(page, REGULAR, 8.0, MARGIN, MARGIN, &footer);
        }
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let regular = Ref::new(3);
        let bold = Ref::new(4);
        let info = Ref::new(5);
        // Each page takes two ids: the page and its content stream.
        let page_ids: Vec<(Ref, Ref)> = (0..count as i32)
            .map(|i| (Ref::new(6 + 2 * i), Ref::new(7 + 2 * i)))
            .collect();
        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().map(|(page, _)| *page))
            .count(count as i32);
        for ((page_id, content_id), content) in page_ids.iter().zip(self.pages) {
            let mut page = pdf.page(*page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
            page.parent(tree);
            page.contents(*content_id);
            let mut resources = page.resources();
            resources.fonts().pair(REGULAR, regular).pair(BOLD, bold);
            resources.finish();
            page.finish();
            pdf.stream(*content_id, &content.finish());
        }
        for (id, name) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
            pdf.type1_font(id)
                .base_font(Name(name.as_bytes()))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        pdf.document_info(info)
            .title(TextStr(&format!("Job acceptance form, order {order_id}")))
            .creator(TextStr("MCF Inventory"));
        pdf.finish()
    }
}

/// Draws `text` (one line) with its baseline at (`x`, `y`).
fn show(page: &mut Content, font: Name, size: f32, x: f32, y: f32, text: &str) {
    page.begin_text();
    page.set_font(font, size);
    page.next_line(x, y);
    page.show(Str(&win_ansi(text)));
    page.end_text();
}

/// The order id as a QR code in the top right corner: one filled square per dark module,
/// a quiet zone of four modules around them (white paper).
fn draw_qr(page: &mut Content, text: &str) {
    // A UUID is 36 bytes, far below what any QR version holds: this cannot fail, and if it
    // ever did the id is still printed as text.
    let Ok(code) = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M) else {
        return;
    };
    let width = code.width();
    let module = QR_SIZE / (width + 8) as f32;
    let left = PAGE_WIDTH - MARGIN - QR_SIZE + 4.0 * module;
    let top = QR_TOP - 4.0 * module;
    let colors = code.to_colors();
    page.set_fill_gray(0.0);
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (col, row) = ((i % width) as f32, (i / width) as f32);
            page.rect(
                left + col * module,
                top - (row + 1.0) * module,
                module,
                module,
            );
        }
    }
    page.fill_nonzero();
}

/// `text` as WinAnsi bytes, the encoding of the built-in fonts: ASCII and Latin-1 as they
/// are, the typographic marks WinAnsi adds at their codes, control characters (line breaks
/// too: callers split lines first) as spaces, anything else as `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            c if c.is_control() => b' ',
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            'Š' => 0x8a,
            'š' => 0x9a,
            'Œ' => 0x8c,
            'œ' => 0x9c,
            'Ž' => 0x8e,
            'ž' => 0x9e,
            'Ÿ' => 0x9f,
            _ => b'?',
        })
        .collect()
}

/// Helvetica's advance widths (thousandths of the font size) of the printable ASCII
/// characters, from the font's metrics (AFM).
const HELVETICA_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0..?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P.._
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `..o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p..~
];

/// The width of `text` at `size` points, in points. Bold is a little wider than regular;
/// the margin to the page's edge absorbs the difference. Letters outside ASCII count as
/// wide as the widest common ones.
fn text_width(text: &str, size: f32) -> f32 {
    let thousandths: u32 = win_ansi(text)
        .iter()
        .map(|b| match b {
            32..=126 => u32::from(HELVETICA_WIDTHS[usize::from(b - 32)]),
            _ => 722,
        })
        .sum();
    thousandths as f32 * size / 1000.0
}

/// `text` in lines no wider than `width` at `size`: its own line breaks kept, words kept
/// whole unless one alone is too wide (then it is cut).
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if text_width(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than the line is cut where it has to be.
            for c in word.chars() {
                line.push(c);
                if text_width(&line, size) > width {
                    line.pop();
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                }
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use contracts::ordering::OrderActivated;
    use contracts::{AccountId, ConsumableId, KitId, Money, OrderId, ServiceTypeId, WorkerId};
    use lopdf::Document;

    use super::*;
    use crate::domain::{Line, Responsibility};

    /// The kit of an order with `job`'s facts, as assembling makes it.
    fn kit(job: Job, lines: Vec<Line>) -> Kit {
        let activated = OrderActivated {
            order_id: OrderId::new(),
            client_id: job.client_id,
            worker_id: job.worker_id,
            price: Money::from_minor(100),
            service_type_id: ServiceTypeId::new(),
            scheduled_at: DateTime::from_timestamp(1_800_003_600, 0).unwrap(),
            service_type_name: job.service_type_name,
            duration_minutes: job.duration_minutes,
            rebook_of: None,
            description: job.description,
            client_name: job.client_name,
            worker_name: job.worker_name,
        };
        let nobody = Responsibility {
            account_id: None,
            reason: "nobody".into(),
        };
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Kit::assemble(KitId::new(), &activated, lines, nobody, now)
    }

    fn job(description: &str) -> Job {
        Job {
            client_id: AccountId::new(),
            client_name: Some("Renée Müller".into()),
            worker_id: WorkerId::new(),
            worker_name: Some("Tom Worker".into()),
            service_type_name: "Window cleaning".into(),
            description: description.into(),
            duration_minutes: 90,
        }
    }

    /// The text a PDF reader finds on each page, and the document.
    fn read(pdf: &[u8]) -> (Document, Vec<String>) {
        let doc = Document::load_mem(pdf).expect("a PDF a reader can open");
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        let texts = pages
            .iter()
            .map(|p| doc.extract_text(&[*p]).expect("its text"))
            .collect();
        (doc, texts)
    }

    /// The squares filled on page 1 (the QR code's modules) and the ones stroked (the
    /// signature and date boxes).
    fn rectangles(doc: &Document) -> (usize, usize) {
        let page = *doc.get_pages().values().next().unwrap();
        let content = lopdf::content::Content::decode(&doc.get_page_content(page)).unwrap();
        let (mut pending, mut filled, mut stroked) = (0, 0, 0);
        for op in &content.operations {
            match op.operator.as_str() {
                "re" => pending += 1,
                "f" => filled += std::mem::take(&mut pending),
                "S" => stroked += std::mem::take(&mut pending),
                _ => {}
            }
        }
        (filled, stroked)
    }

    #[test]
    fn given_a_kit_when_its_form_is_made_then_a_reader_finds_the_facts_the_qr_and_the_boxes() {
        // Given the kit of a window cleaning for Renée Müller, with two sponges
        let lines = vec![Line {
            consumable_id: ConsumableId::new(),
            name: "Sponge".into(),
            quantity: 2,
        }];
        let kit = kit(job("Elm St 4, 2nd floor: the kitchen windows"), lines);
        let job = kit.job.clone().unwrap();

        // When its form is made
        let pdf = acceptance_form(&kit, &job);

        // Then it is a PDF of one page whose text has every fact of the order
        assert!(pdf.starts_with(b"%PDF-"));
        let (doc, pages) = read(&pdf);
        assert_eq!(pages.len(), 1);
        let text = &pages[0];
        for fact in [
            "Job acceptance form",
            &kit.order_id.to_string(),
            &kit.id.to_string(),
            "Renée Müller",
            "Tom Worker",
            "Window cleaning (90 minutes)",
            "2027-01-15 09:00 UTC",
            "Elm St 4, 2nd floor: the kitchen windows",
            "2 x Sponge",
            "Client's name and signature",
            "Date",
        ] {
            assert!(text.contains(fact), "{fact:?} not in {text:?}");
        }
        // And the QR code is drawn, one square per dark module of the order id's code
        let code =
            QrCode::with_error_correction_level(kit.order_id.to_string().as_bytes(), EcLevel::M)
                .unwrap();
        let dark = code
            .to_colors()
            .iter()
            .filter(|c| **c == Color::Dark)
            .count();
        assert!(dark > 100, "{dark}");
        // And two boxes are drawn for the signature and the date
        assert_eq!(rectangles(&doc), (dark, 2));
        // And the same kit makes the same bytes (nothing depends on when it is printed)
        assert_eq!(acceptance_form(&kit, &job), pdf);
    }

    #[test]
    fn given_unknown_names_and_a_long_description_when_printed_then_it_says_so_and_flows_on() {
        // Given a job whose people Ordering did not know, with a long description
        let mut job = job(&"Clean the windows, all of them, carefully. ".repeat(45));
        job.client_name = None;
        job.worker_name = None;
        let many: Vec<Line> = (0..60)
            .map(|i| Line {
                consumable_id: ConsumableId::new(),
                name: format!("Consumable number {i}"),
                quantity: i + 1,
            })
            .collect();
        let kit = kit(job.clone(), many);

        // When its form is made
        let pdf = acceptance_form(&kit, &job);

        // Then the people are named by their ids, every line is printed, the signature
        // box comes last, and each page has its footer
        let (_, pages) = read(&pdf);
        assert!(pages.len() >= 2, "{}", pages.len());
        let all = pages.concat();
        assert!(all.contains(&format!("account {}", job.client_id)), "{all}");
        assert!(all.contains(&format!("worker {}", job.worker_id)), "{all}");
        assert!(all.contains("60 x Consumable number 59"), "{all}");
        assert!(
            pages
                .last()
                .unwrap()
                .contains("Client's name and signature")
        );
        let count = pages.len();
        for (i, page) in pages.iter().enumerate() {
            assert!(
                page.contains(&format!("page {} of {count}", i + 1)),
                "{page}"
            );
        }
    }

    #[test]
    fn text_is_wrapped_to_the_width_and_unprintable_characters_become_question_marks() {
        let lines = wrap("aaa bbb\nccc", 10.0, text_width("aaa bbb", 10.0));
        assert_eq!(lines, ["aaa bbb", "ccc"]);
        let lines = wrap("aaa bbb", 10.0, text_width("aaa b", 10.0));
        assert_eq!(lines, ["aaa", "bbb"]);
        let long = "x".repeat(200);
        let lines = wrap(&long, 10.0, 100.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| text_width(l, 10.0) <= 100.0));
        assert_eq!(lines.concat(), long);
        assert_eq!(win_ansi("Zoë €5 漢\t"), b"Zo\xeb \x805 ? ".to_vec());
    }
}
