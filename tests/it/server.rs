//! The binary as a running server: started on a free loopback port with a data directory and
//! environment overrides, its stderr kept for inspection, killed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cli::{clean_command, free_port, http, http_with};

pub struct ServerProcess {
    child: Child,
    port: u16,
    stderr_path: PathBuf,
}

impl ServerProcess {
    /// Starts `serve` on `data_dir` with `env` and waits until `/healthz` answers.
    pub fn start(data_dir: &Path, env: &[(&str, String)]) -> ServerProcess {
        ServerProcess::start_with(data_dir, env, &[])
    }

    /// [`ServerProcess::start`] with `args` after `serve`'s own: more flags of `serve` (such as
    /// `--record DIR`) or global ones (such as `--config FILE`).
    pub fn start_with(data_dir: &Path, env: &[(&str, String)], args: &[&str]) -> ServerProcess {
        let server = ServerProcess::spawn_with(data_dir, env, args);
        server.wait_until_up(Duration::from_secs(30));
        server
    }

    /// Starts `serve` without waiting for it.
    pub fn spawn(data_dir: &Path, env: &[(&str, String)]) -> ServerProcess {
        ServerProcess::spawn_with(data_dir, env, &[])
    }

    /// [`ServerProcess::spawn`] with `args` after `serve`'s own, as in
    /// [`ServerProcess::start_with`].
    pub fn spawn_with(data_dir: &Path, env: &[(&str, String)], args: &[&str]) -> ServerProcess {
        let port = free_port();
        let stderr_path = data_dir.join(format!("server-{port}.log"));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut command = clean_command();
        command
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
                data_dir.to_str().unwrap(),
            ])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(stderr);
        for (key, value) in env {
            command.env(key, value);
        }
        ServerProcess {
            child: command.spawn().unwrap(),
            port,
            stderr_path,
        }
    }

    pub fn wait_until_up(&self, limit: Duration) {
        let started = Instant::now();
        while http(self.port, "GET", "/healthz", "").is_err() {
            assert!(
                started.elapsed() < limit,
                "server did not start:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `GET path`: status and JSON body.
    pub fn get(&self, path: &str) -> (u16, Value) {
        let (status, body) = http(self.port, "GET", path, "").unwrap();
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path} answered {status} {body:?}: {e}"));
        (status, json)
    }

    /// `method path` with a JSON `body` and an optional bearer token: status and JSON body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: &str,
        token: Option<&str>,
    ) -> (u16, Value) {
        let (status, body) = http_with(self.port, method, path, body, token).unwrap();
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{method} {path} answered {status} {body:?}: {e}"));
        (status, json)
    }

    /// What the server logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGTERM, then the exit status if the process ends within `limit`.
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id (of the emulator, when the binary runs under one).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `check` every 20 ms until it returns `Some`, failing after `limit` with `what`.
pub fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
