use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use crate::process::{find_executable, free_port, wait_for_port};

/// A throw-away PostgreSQL cluster (initdb + pg_ctl) in a temporary directory on a free
/// port. As root it runs as the `postgres` user, since PostgreSQL refuses to run as root.
/// Stopped (immediately) and removed on drop.
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    durable: bool,
    as_postgres: bool,
    /// Extra `-c name=value` server settings, kept across restarts.
    settings: Vec<(String, String)>,
}

fn bin_dir() -> anyhow::Result<PathBuf> {
    let mut dirs: Vec<String> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin").display().to_string())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.reverse();
    let initdb = find_executable("MCF_PG_INITDB", "initdb", &dirs).context(
        "PostgreSQL's initdb not found: apt-get install postgresql, or set MCF_PG_INITDB",
    )?;
    let initdb = std::fs::canonicalize(&initdb).unwrap_or(initdb);
    Ok(initdb.parent().expect("a file has a parent").to_path_buf())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Postgres {
    /// Starts a cluster for tests: `fsync=off` (fast; a killed *server* may lose data, which
    /// no test relies on). Use [`Postgres::start_durable`] for benchmarks.
    pub fn start() -> anyhow::Result<Postgres> {
        Self::start_with(false, &[])
    }

    /// Starts a cluster with production durability (`fsync=on`, `synchronous_commit=on`).
    pub fn start_durable() -> anyhow::Result<Postgres> {
        Self::start_with(true, &[])
    }

    /// Like [`Postgres::start_durable`], with extra server settings (`-c name=value`), e.g.
    /// `shared_preload_libraries=pg_stat_statements` for a benchmark counting statements.
    pub fn start_durable_with(settings: &[(&str, &str)]) -> anyhow::Result<Postgres> {
        Self::start_with(true, settings)
    }

    fn start_with(durable: bool, settings: &[(&str, &str)]) -> anyhow::Result<Postgres> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("mcf-pg-").tempdir()?;
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()?;
            anyhow::ensure!(status.success(), "chown of {} failed", dir.path().display());
        }
        let pg = Postgres {
            bin,
            dir,
            port: free_port(),
            durable,
            as_postgres,
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        let data = pg.data_dir();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        pg.restart()?;
        Ok(pg)
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {}", exe.display()))?;
        anyhow::ensure!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    /// `postgres://postgres@127.0.0.1:PORT/<database>` (created on first connect by the
    /// storage layer).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The postmaster's process id (its backends are its children), while it runs.
    pub fn pid(&self) -> Option<u32> {
        let file = self.dir.path().join("data").join("postmaster.pid");
        std::fs::read_to_string(file)
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: like a crash).
    pub fn kill(&self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "immediate", "stop"],
        );
    }

    /// (Re)starts the server on the same port and data.
    pub fn restart(&self) -> anyhow::Result<()> {
        let fsync = if self.durable { "on" } else { "off" };
        let mut opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync={fsync} \
             -c synchronous_commit={} -c full_page_writes={fsync} -c max_connections=300 \
             -c shared_buffers=128MB",
            self.port,
            self.dir.path().display(),
            if self.durable { "on" } else { "off" },
        );
        for (name, value) in &self.settings {
            opts.push_str(&format!(" -c {name}={value}"));
        }
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir(),
                "-o",
                &opts,
                "-l",
                &log,
                "-w",
                "start",
            ],
        )?;
        wait_for_port(self.port, Duration::from_secs(30))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.kill();
    }
}
