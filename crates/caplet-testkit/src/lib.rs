//! Real backing servers for integration tests.
//!
//! Tests of the Redis and NATS providers talk to real `redis-server` and `nats-server`
//! processes, never to fakes: each [`Server`] is a subprocess on a free loopback port, in a
//! temporary directory, killed when dropped. `scripts/test.sh` installs the Debian packages
//! when the binaries are missing; `CAPLET_REDIS_SERVER` and `CAPLET_NATS_SERVER` point at other
//! binaries.
//!
//! This crate is for tests only, so it reports set-up failures by panicking with a message
//! that says what to install.
#![allow(clippy::panic, clippy::expect_used)]

pub mod bench;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to accept connections after it was spawned.
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A server subprocess, killed (and its directory removed) on drop.
#[derive(Debug)]
pub struct Server {
    kind: Kind,
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Redis,
    Nats,
}

impl Server {
    /// Starts `redis-server` on a free loopback port, without persistence.
    pub fn redis() -> Self {
        Self::start(Kind::Redis, free_port())
    }

    /// Starts `nats-server` on a free loopback port.
    pub fn nats() -> Self {
        Self::start(Kind::Nats, free_port())
    }

    fn start(kind: Kind, port: u16) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "caplet-testkit-{}-{}-{port}",
            kind.name(),
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create the server's temporary directory");
        let mut server = Self {
            kind,
            child: None,
            port,
            dir,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let binary = self.kind.binary();
        let mut command = Command::new(&binary);
        let port = self.port.to_string();
        match self.kind {
            Kind::Redis => command.args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
            ]),
            Kind::Nats => command.args(["-a", "127.0.0.1", "-p", &port]),
        };
        if matches!(self.kind, Kind::Redis) {
            command.arg(&self.dir);
        }
        let child = command
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}. Install it with `sudo apt-get install {}` \
                     (scripts/test.sh does this), or set {} to its path",
                    binary.display(),
                    self.kind.package(),
                    self.kind.env_var()
                )
            });
        self.child = Some(child);
        self.wait_until_accepting();
    }

    fn wait_until_accepting(&mut self) {
        let started = Instant::now();
        while started.elapsed() < SERVER_START_TIMEOUT {
            if TcpStream::connect_timeout(&self.addr(), Duration::from_millis(100)).is_ok() {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("{} exited during start-up: {status}", self.kind.name());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{} did not accept connections on {} within {SERVER_START_TIMEOUT:?}",
            self.kind.name(),
            self.addr()
        );
    }

    /// The loopback address it listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A client URL: `redis://127.0.0.1:PORT/` or `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        match self.kind {
            Kind::Redis => format!("redis://127.0.0.1:{}/", self.port),
            Kind::Nats => format!("nats://127.0.0.1:{}", self.port),
        }
    }

    /// Kills the server (as a crash would) and waits for it to exit. The port stays reserved
    /// for [`Server::restart`].
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Redis => "redis-server",
            Self::Nats => "nats-server",
        }
    }

    fn package(self) -> &'static str {
        self.name()
    }

    fn env_var(self) -> &'static str {
        match self {
            Self::Redis => "CAPLET_REDIS_SERVER",
            Self::Nats => "CAPLET_NATS_SERVER",
        }
    }

    /// The binary: the environment override, else the first of PATH, /usr/bin, /usr/sbin.
    fn binary(self) -> PathBuf {
        if let Some(path) = std::env::var_os(self.env_var()) {
            return PathBuf::from(path);
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
            .map(|dir| dir.join(self.name()))
            .find(|candidate| is_executable(candidate))
            .unwrap_or_else(|| PathBuf::from(self.name()))
    }
}

fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// A loopback port that was free a moment ago (the OS picks it; a race with another process
/// is possible but rare).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("bind an ephemeral loopback port")
}

/// A loopback address with a free port, for HTTP listeners in tests.
pub fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_accept_connections_and_restart_on_the_same_port() {
        let mut redis = Server::redis();
        assert!(TcpStream::connect(redis.addr()).is_ok());
        let port = redis.port();
        redis.kill();
        assert!(!redis.is_running());
        redis.restart();
        assert_eq!(redis.port(), port);
        assert!(TcpStream::connect(redis.addr()).is_ok());
        let nats = Server::nats();
        assert!(TcpStream::connect(nats.addr()).is_ok());
        assert!(nats.url().starts_with("nats://127.0.0.1:"));
    }
}
