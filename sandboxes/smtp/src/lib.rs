//! A capture SMTP server for development and tests: it speaks enough real SMTP for any
//! client (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), stores every message it accepts as
//! an `.eml` file and lists them over HTTP. Faults can be switched on: answer slowly, or
//! reject every recipient. Stopping and starting it is "down" and "up".

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Fault switches.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Delay before every reply.
    pub slow: Duration,
    /// Answer every RCPT with 550.
    pub reject: bool,
}

/// A received message, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    pub file: String,
    pub message_id: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    pub subject: Option<String>,
}

/// Serves SMTP on `listener`, storing messages in `dir`, until the process ends.
pub async fn serve_smtp(listener: TcpListener, dir: PathBuf, faults: Faults) -> anyhow::Result<()> {
    std::fs::create_dir_all(&dir)?;
    loop {
        let (stream, _) = listener.accept().await?;
        let dir = dir.clone();
        let faults = faults.clone();
        tokio::spawn(async move {
            if let Err(e) = session(stream, &dir, &faults).await {
                tracing::debug!(error = %e, "smtp session ended");
            }
        });
    }
}

async fn session(stream: TcpStream, dir: &Path, faults: &Faults) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let reply = |code: &str| format!("{code}\r\n");
    let say = async |w: &mut tokio::net::tcp::OwnedWriteHalf, text: String| -> anyhow::Result<()> {
        if !faults.slow.is_zero() {
            tokio::time::sleep(faults.slow).await;
        }
        w.write_all(text.as_bytes()).await?;
        Ok(())
    };
    say(&mut write, reply("220 mcf-sandbox ESMTP capture")).await?;
    let (mut from, mut to) = (String::new(), Vec::<String>::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            say(&mut write, "250-mcf-sandbox\r\n250 8BITMIME\r\n".into()).await?;
        } else if upper.starts_with("HELO") {
            say(&mut write, reply("250 mcf-sandbox")).await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&cmd[10..]);
            to.clear();
            say(&mut write, reply("250 OK")).await?;
        } else if upper.starts_with("RCPT TO:") {
            if faults.reject {
                say(&mut write, reply("550 5.7.1 rejected by the sandbox")).await?;
            } else {
                to.push(address(&cmd[8..]));
                say(&mut write, reply("250 OK")).await?;
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                say(&mut write, reply("503 no recipients")).await?;
                continue;
            }
            say(&mut write, reply("354 end with <CRLF>.<CRLF>")).await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Dot-unstuffing (RFC 5321 4.5.2).
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let file = dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
            let envelope = format!(
                "X-Sandbox-From: {from}\r\nX-Sandbox-To: {}\r\n",
                to.join(", ")
            );
            std::fs::write(&file, format!("{envelope}{data}"))?;
            say(&mut write, reply("250 OK stored")).await?;
        } else if upper == "RSET" {
            from.clear();
            to.clear();
            say(&mut write, reply("250 OK")).await?;
        } else if upper == "NOOP" {
            say(&mut write, reply("250 OK")).await?;
        } else if upper == "QUIT" {
            say(&mut write, reply("221 bye")).await?;
            return Ok(());
        } else {
            say(&mut write, reply("502 command not implemented")).await?;
        }
    }
}

fn address(arg: &str) -> String {
    let arg = arg.trim();
    let inner = arg
        .strip_prefix('<')
        .and_then(|a| a.split_once('>').map(|(a, _)| a))
        .unwrap_or(arg);
    inner.to_owned()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// Every message stored in `dir`, oldest first.
pub fn list(dir: &Path) -> anyhow::Result<Vec<Received>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)?;
            Ok(Received {
                file: path.display().to_string(),
                message_id: header(&text, "Message-ID").map(str::to_owned),
                from: header(&text, "X-Sandbox-From")
                    .unwrap_or_default()
                    .to_owned(),
                to: header(&text, "X-Sandbox-To")
                    .unwrap_or_default()
                    .split(", ")
                    .map(str::to_owned)
                    .collect(),
                subject: header(&text, "Subject").map(str::to_owned),
            })
        })
        .collect()
}

/// `GET /messages`: what the server received.
pub async fn serve_http(listener: TcpListener, dir: PathBuf) -> anyhow::Result<()> {
    let app = axum::Router::new().route(
        "/messages",
        axum::routing::get(move || {
            let dir = dir.clone();
            async move {
                match list(&dir) {
                    Ok(l) => Ok(axum::Json(l)),
                    Err(e) => Err((axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
                }
            }
        }),
    );
    axum::serve(listener, app).await?;
    Ok(())
}
