use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use crate::process::{find_executable, free_port, python_scripts, wait_for_port};

/// An S3-compatible server for tests: moto's (`pip install "moto[server]"`), in memory, on
/// a free port. Killed on drop.
pub struct S3 {
    port: u16,
    child: Child,
}

impl S3 {
    /// Starts a server and creates `bucket` in it.
    pub fn start(bucket: &str) -> anyhow::Result<S3> {
        let binary = find_executable("MCF_MOTO_SERVER", "moto_server", &python_scripts())
            .context("moto_server not found: `pip install \"moto[server]\"` (scripts/setup)")?;
        let port = free_port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let s3 = S3 { port, child };
        wait_for_port(port, Duration::from_secs(30))?;
        // moto takes unsigned requests: a plain PUT makes the bucket.
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
        write!(
            stream,
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response.lines().next().unwrap_or_default().to_owned();
        anyhow::ensure!(
            status.contains(" 200"),
            "creating bucket {bucket}: {status}"
        );
        Ok(s3)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
