//! Starting a host from a checked manifest, in dependency order, undoing on failure.

use caplet_host::policy::PolicyEngine;
use caplet_host::{ActorRef, Host, HostConfig, HostError};
use caplet_manifest::{Manifest, ManifestErrors};
use caplet_runtime::{LoadError, Runtime, RuntimeConfig};
use caplet_wire::contracts::HTTP_SERVER;

use crate::{catalog, engine_limits, preflight, runtime_limits};

/// Why a manifest could not be launched.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The manifest, a provider setting or an actor failed the checks; nothing was started.
    #[error("{0}")]
    Manifest(ManifestErrors),
    /// The runtime could not be created.
    #[error("could not create the runtime: {0}")]
    Runtime(#[from] LoadError),
    /// A provider could not be built.
    #[error("could not start the `{implementation}` provider for {contract}: {reason}")]
    Provider {
        contract: String,
        implementation: String,
        reason: String,
    },
    /// The host refused a step (an actor failed to start, a link failed to bind, ...).
    #[error("{0}")]
    Host(#[from] HostError),
}

/// A running host and what it serves.
pub struct Running {
    /// The host.
    pub host: Host,
    /// The actors started, in manifest order.
    pub actors: Vec<ActorRef>,
    /// `(actor, address)` of every HTTP server link, for the start-up message.
    pub http_endpoints: Vec<(String, String)>,
}

/// Checks `manifest`, then starts its actors, providers and links on a new host. On any
/// failure, whatever had started is shut down and the error says what failed.
pub async fn launch(manifest: &Manifest) -> Result<Running, LaunchError> {
    let prepared = preflight(manifest).map_err(LaunchError::Manifest)?;
    let policy = crate::build_policy(manifest).map_err(|e| LaunchError::Manifest(e.into()))?;
    let actor_limits: Vec<_> = manifest
        .actors
        .iter()
        .map(|actor| runtime_limits(&manifest.effective_limits(actor)))
        .collect();
    let runtime = Runtime::new(RuntimeConfig {
        limits: engine_limits(&manifest.host.limits, &actor_limits),
        ..RuntimeConfig::with_default_cache()
    })?;
    let host = Host::new(runtime, host_config(manifest, policy));
    match start(manifest, &host, prepared, actor_limits).await {
        Ok(running) => Ok(running),
        Err(error) => {
            host.shutdown().await;
            Err(error)
        }
    }
}

/// The host settings `[host]` asks for, with `policy` built from `[host.policy]`; keys left out
/// keep [`HostConfig::default`].
pub(crate) fn host_config(
    manifest: &Manifest,
    policy: Option<std::sync::Arc<dyn PolicyEngine>>,
) -> HostConfig {
    let defaults = HostConfig::default();
    HostConfig {
        issuers: manifest.host.issuers.clone(),
        allow_unsigned: manifest.host.allow_unsigned,
        policy,
        breaker: crate::breaker_config(manifest),
        max_log_lines_per_second: manifest
            .host
            .log_lines_per_second
            .unwrap_or(defaults.max_log_lines_per_second),
        ..defaults
    }
}

async fn start(
    manifest: &Manifest,
    host: &Host,
    prepared: Vec<crate::preflight::PreparedActor>,
    actor_limits: Vec<caplet_runtime::Limits>,
) -> Result<Running, LaunchError> {
    let mut actors = Vec::new();
    for ((spec, module), limits) in manifest.actors.iter().zip(prepared).zip(actor_limits) {
        actors.push(
            host.start_actor(&spec.name, module.bytes, limits, spec.instances)
                .await?,
        );
    }
    // Links first: a provider added afterwards binds every link waiting for it at once.
    for link in &manifest.links {
        host.put_link(
            &link.actor,
            &link.contract,
            &link.link_name,
            link.values.clone(),
        )
        .await?;
    }
    for provider in &manifest.providers {
        if catalog::is_builtin(&provider.contract) {
            continue;
        }
        let built = catalog::build(
            &provider.contract,
            &provider.implementation,
            &provider.config,
            host.dispatcher(),
        )
        .map_err(|reason| LaunchError::Provider {
            contract: provider.contract.clone(),
            implementation: provider.implementation.clone(),
            reason,
        })?;
        host.add_provider(&provider.link_name, built).await?;
    }
    let http_endpoints = manifest
        .links
        .iter()
        .filter(|link| link.contract == HTTP_SERVER)
        .map(|link| {
            let address = link
                .values
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("address"))
                .map(|(_, v)| v.clone())
                .or_else(|| {
                    link.values
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("port"))
                        .map(|(_, port)| format!("127.0.0.1:{port}"))
                })
                .unwrap_or_else(|| caplet_http::server::DEFAULT_ADDRESS.to_string());
            (link.actor.clone(), address)
        })
        .collect();
    Ok(Running {
        host: host.clone(),
        actors,
        http_endpoints,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use caplet_host::DEFAULT_MAX_LOG_LINES_PER_SECOND;

    use super::*;

    /// `[host]` with `extra` and one unsigned actor, parsed in a folder holding its module.
    fn manifest(extra: &str) -> Manifest {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.wasm"), b"\0asm\x01\0\0\0").unwrap();
        let text = format!(
            "[host]\nallow_unsigned = true\n{extra}\n[[actor]]\nname = \"a\"\npath = \"a.wasm\"\n"
        );
        caplet_manifest::parse(&text, Path::new("caplet.toml"), dir.path(), &|_| None).unwrap()
    }

    #[test]
    fn log_lines_per_second_reaches_the_host_config() {
        let config = host_config(&manifest("log_lines_per_second = 7"), None);
        assert_eq!(config.max_log_lines_per_second, 7);

        let config = host_config(&manifest("log_lines_per_second = 0"), None);
        assert_eq!(config.max_log_lines_per_second, 0);

        let config = host_config(&manifest("log_lines_per_second = 4294967295"), None);
        assert_eq!(config.max_log_lines_per_second, u32::MAX);

        let config = host_config(&manifest(""), None);
        assert_eq!(
            config.max_log_lines_per_second,
            DEFAULT_MAX_LOG_LINES_PER_SECOND
        );
    }

    #[test]
    fn host_keys_reach_the_host_config() {
        let config = host_config(
            &manifest("breaker_failures = 3\nbreaker_open_ms = 250\nlog_lines_per_second = 9"),
            None,
        );
        assert!(config.allow_unsigned);
        assert_eq!(config.breaker.failures, 3);
        assert_eq!(
            config.breaker.open_for,
            std::time::Duration::from_millis(250)
        );
        assert_eq!(config.max_log_lines_per_second, 9);
        assert!(config.policy.is_none());
    }
}
