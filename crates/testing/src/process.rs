use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A port nobody listens on right now (the OS picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the OS hands out a free port")
}

/// Waits until something accepts connections on `port`.
pub(crate) fn wait_for_port(port: u16, timeout: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    anyhow::bail!("nothing listens on port {port} after {timeout:?}")
}

/// Finds an executable: the environment variable first, then each candidate directory,
/// then `PATH`.
pub(crate) fn find_executable(
    env: &str,
    name: &str,
    dirs: &[String],
) -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var(env)
        && !p.is_empty()
    {
        return Some(p.into());
    }
    let path = std::env::var("PATH").unwrap_or_default();
    dirs.iter()
        .map(String::as_str)
        .chain(path.split(':'))
        .map(|d| std::path::Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Python's scripts directory (where `pip install` puts `nats-server`, `moto_server`).
pub(crate) fn python_scripts() -> Vec<String> {
    std::process::Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .into_iter()
        .collect()
}
