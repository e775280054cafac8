//! The client's connector: resolves the host once, checks every address against the
//! link's allow-list, and connects only to addresses that passed, so no second DNS lookup can
//! swap in another address (DNS rebinding). Then TLS (rustls, webpki roots) for `https`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use caplet_provider_api::ActorRef;
use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::CONNECT_TIMEOUT;
use super::allow::{AllowList, CLOUD_METADATA, Host, is_cloud_metadata};

/// Why a connection was not made; the provider maps it to a `ProviderError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnectError {
    BadRequest(String),
    Denied(String),
    Unavailable(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadRequest(m) | Self::Denied(m) | Self::Unavailable(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ConnectError {}

/// A link's allow-list with the names its messages use.
#[derive(Debug)]
pub(crate) struct Policy {
    pub allow: AllowList,
    pub actor: ActorRef,
    pub link_name: String,
}

/// Where a URL points, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub https: bool,
    pub host: Host,
    pub port: u16,
}

impl Target {
    /// Scheme `http`/`https`, a host, no user info; the port defaults to 80/443.
    pub(crate) fn from_uri(uri: &Uri) -> Result<Self, String> {
        let https = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => {
                return Err(format!(
                    "scheme `{other}` is not supported; use http:// or https://"
                ));
            }
            None => return Err("the URL is not absolute; write http://host/path".into()),
        };
        let authority = uri
            .authority()
            .ok_or("the URL has no host; write http://host/path")?;
        if authority.as_str().contains('@') {
            return Err(
                "user info in URLs (user:password@host) is not supported; send an \
                 Authorization header instead"
                    .into(),
            );
        }
        let host = Host::parse(authority.host())?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Self { https, host, port })
    }
}

impl Policy {
    /// The first check: the URL's host against `allowed_hosts`. An IP-literal URL naming a
    /// cloud metadata endpoint is refused here whatever the list says.
    pub(crate) fn check_host(&self, target: &Target) -> Result<(), ConnectError> {
        let host = &target.host;
        if let Host::Ip(ip) = host
            && is_cloud_metadata(*ip)
        {
            return Err(self.metadata_denied(host, *ip));
        }
        if self.allow.match_host(host, target.port) {
            return Ok(());
        }
        Err(ConnectError::Denied(format!(
            "http client: host {host} (port {}) is not in allowed_hosts for actor {} \
             (link {}); add `{host}` to the link's allowed_hosts to permit it",
            target.port, self.actor, self.link_name
        )))
    }

    /// The second check: every resolved address (all of them, so a name answering with one
    /// public and one internal address is refused as a whole).
    fn check_addrs(&self, target: &Target, addrs: &[SocketAddr]) -> Result<(), ConnectError> {
        for addr in addrs {
            let ip = addr.ip().to_canonical();
            match self.allow.check_addr(ip, target.port) {
                Ok(()) => {}
                Err(CLOUD_METADATA) => return Err(self.metadata_denied(&target.host, ip)),
                Err(class) => {
                    let host = &target.host;
                    return Err(ConnectError::Denied(format!(
                        "http client: host {host} resolves to {ip}, a {class} address, which \
                         actor {} (link {}) may reach only when allowed_hosts lists that \
                         address by IP or CIDR (a host name or wildcard entry opens public \
                         addresses only); add `{ip}` to the link's allowed_hosts to permit it",
                        self.actor, self.link_name
                    )));
                }
            }
        }
        Ok(())
    }

    fn metadata_denied(&self, host: &Host, ip: std::net::IpAddr) -> ConnectError {
        let resolved = match host {
            Host::Ip(_) => String::new(),
            Host::Name(_) => format!(" resolves to {ip}, which"),
        };
        ConnectError::Denied(format!(
            "http client: host {host}{resolved} is a cloud metadata endpoint; actor {} (link {}) \
             may never reach it, whatever allowed_hosts lists",
            self.actor, self.link_name
        ))
    }
}

/// The `hyper_util` connector of one link.
#[derive(Clone)]
pub(crate) struct Connector {
    policy: Arc<Policy>,
    tls: TlsConnector,
}

impl Connector {
    pub(crate) fn new(policy: Arc<Policy>, tls: Arc<rustls::ClientConfig>) -> Self {
        Self {
            policy,
            tls: TlsConnector::from(tls),
        }
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.connect(&uri).await.map(TokioIo::new) })
    }
}

impl Connector {
    async fn connect(&self, uri: &Uri) -> Result<Stream, ConnectError> {
        let target = Target::from_uri(uri).map_err(ConnectError::BadRequest)?;
        self.policy.check_host(&target)?;
        let addrs = resolve(&target).await?;
        self.policy.check_addrs(&target, &addrs)?;
        let tcp = connect_any(&target, &addrs).await?;
        if !target.https {
            return Ok(Stream::Plain(tcp));
        }
        let server_name = match &target.host {
            Host::Name(name) => ServerName::try_from(name.clone())
                .map_err(|e| ConnectError::BadRequest(format!("TLS server name {name}: {e}")))?,
            Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
        };
        let tls = self.tls.connect(server_name, tcp).await.map_err(|e| {
            ConnectError::Unavailable(format!(
                "http client: TLS handshake with {}:{} failed: {e}",
                target.host, target.port
            ))
        })?;
        Ok(Stream::Tls(Box::new(tls)))
    }
}

/// Every address of the target: an IP literal as it is, a name through the system resolver
/// (once).
async fn resolve(target: &Target) -> Result<Vec<SocketAddr>, ConnectError> {
    let name = match &target.host {
        Host::Ip(ip) => return Ok(vec![SocketAddr::new(*ip, target.port)]),
        Host::Name(name) => name,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), target.port))
        .await
        .map_err(|e| {
            ConnectError::Unavailable(format!("http client: cannot resolve host {name}: {e}"))
        })?
        .collect();
    if addrs.is_empty() {
        return Err(ConnectError::Unavailable(format!(
            "http client: host {name} resolves to no address"
        )));
    }
    Ok(addrs)
}

/// Connects to the first address that answers, each within [`CONNECT_TIMEOUT`].
async fn connect_any(target: &Target, addrs: &[SocketAddr]) -> Result<TcpStream, ConnectError> {
    let mut errors = Vec::new();
    for addr in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) => errors.push(format!("{addr}: {e}")),
            Err(_) => errors.push(format!("{addr}: no answer within {CONNECT_TIMEOUT:?}")),
        }
    }
    Err(ConnectError::Unavailable(format!(
        "http client: cannot connect to {}:{} ({})",
        target.host,
        target.port,
        errors.join("; ")
    )))
}

/// A plain or TLS connection.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &str) -> Policy {
        Policy {
            allow: AllowList::parse(allowed).unwrap(),
            actor: ActorRef {
                id: "a".into(),
                name: "fetcher".into(),
            },
            link_name: "default".into(),
        }
    }

    fn target(url: &str) -> Target {
        Target::from_uri(&url.parse().unwrap()).unwrap()
    }

    #[test]
    fn urls_parse_to_targets() {
        let t = target("HTTPS://Api.Example.com./x");
        assert_eq!(t.host, Host::Name("api.example.com".into()));
        assert_eq!((t.https, t.port), (true, 443));
        assert_eq!(
            target("http://[::1]:81/").host,
            Host::Ip("::1".parse().unwrap())
        );
        for bad in ["ftp://x/", "/path", "http://u:p@x/", "http://0x7f.1/"] {
            assert!(Target::from_uri(&bad.parse().unwrap()).is_err(), "{bad}");
        }
    }

    fn denied(result: Result<(), ConnectError>) -> String {
        match result {
            Err(ConnectError::Denied(message)) => message,
            other => panic!("expected Denied, got {other:?}"),
        }
    }

    #[test]
    fn a_name_resolving_to_loopback_is_denied_unless_the_address_is_listed() {
        let t = target("http://app.example.com/");
        let loopback = ["127.0.0.1:80".parse().unwrap()];
        let public = ["93.184.216.34:80".parse().unwrap()];
        // Through a wildcard (DNS rebinding) and through the exact name alike (E10).
        for list in ["*.example.com", "app.example.com", "app.example.com:80"] {
            let policy = policy(list);
            policy.check_host(&t).unwrap();
            let message = denied(policy.check_addrs(&t, &loopback));
            assert!(
                message.contains("resolves to 127.0.0.1, a loopback address"),
                "{message}"
            );
            assert!(message.contains("add `127.0.0.1`"), "{message}");
            assert!(policy.check_addrs(&t, &public).is_ok(), "{list}");
            // Public and internal mixed: refused as a whole.
            let mixed = [public[0], loopback[0]];
            assert!(policy.check_addrs(&t, &mixed).is_err(), "{list}");
        }
        // The address itself listed, by IP or CIDR: allowed.
        for list in ["app.example.com, 127.0.0.1", "*.example.com, 127.0.0.0/8"] {
            let policy = policy(list);
            policy.check_host(&t).unwrap();
            assert!(policy.check_addrs(&t, &loopback).is_ok(), "{list}");
        }
    }

    #[test]
    fn e10_internal_targets_are_denied_even_when_their_name_is_listed() {
        let internal: [(&str, &str); 6] = [
            ("127.0.0.1:80", "loopback"),
            ("[::1]:80", "loopback"),
            ("[::ffff:127.0.0.1]:80", "loopback"),
            ("10.0.0.7:80", "private"),
            ("100.64.0.1:80", "shared (carrier-grade NAT)"),
            ("0.0.0.0:80", "unspecified"),
        ];
        let t = target("http://localhost/");
        let by_name = policy("localhost, db.internal");
        by_name.check_host(&t).unwrap();
        for (addr, class) in internal {
            let addrs = [addr.parse().unwrap()];
            let message = denied(by_name.check_addrs(&t, &addrs));
            assert!(message.contains(&format!("a {class} address")), "{message}");
        }
        // IP-literal URLs: `[::ffff:127.0.0.1]` is 127.0.0.1, denied unless 127.0.0.1 is
        // listed; a name entry does not cover its addresses.
        let mapped = target("http://[::ffff:127.0.0.1]:8080/");
        assert_eq!(mapped.host, Host::Ip("127.0.0.1".parse().unwrap()));
        let message = denied(by_name.check_host(&mapped));
        assert!(message.contains("host 127.0.0.1 (port 8080)"), "{message}");
        policy("127.0.0.1").check_host(&mapped).unwrap();
    }

    #[test]
    fn cloud_metadata_is_never_reachable() {
        let everything = policy(
            "metadata.google.internal, 169.254.169.254, 169.254.0.0/16, 0.0.0.0/0, ::/0, \
             100.100.100.200, fd00:ec2::254",
        );
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:169.254.169.254]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://169.254.170.2/v2/credentials",
            "http://100.100.100.200/latest/meta-data/",
            "http://[fd00:ec2::254]/",
        ] {
            let message = denied(everything.check_host(&target(url)));
            assert!(
                message.contains("cloud metadata endpoint"),
                "{url}: {message}"
            );
            assert!(
                message.contains("whatever allowed_hosts lists"),
                "{message}"
            );
        }
        // A name resolving to it.
        let t = target("http://metadata.google.internal/");
        everything.check_host(&t).unwrap();
        let message = denied(everything.check_addrs(&t, &["169.254.169.254:80".parse().unwrap()]));
        assert!(
            message.contains(
                "host metadata.google.internal resolves to 169.254.169.254, which is a cloud \
                 metadata endpoint"
            ),
            "{message}"
        );
        // Other link-local addresses follow the usual rule.
        let t = target("http://169.254.1.1/");
        everything.check_host(&t).unwrap();
        assert!(
            everything
                .check_addrs(&t, &["169.254.1.1:80".parse().unwrap()])
                .is_ok()
        );
    }
}
