//! The host settings the manifest adds beyond trust and limits: the policy engine of
//! `[host.policy]` (built here, so a Rego file that does not compile fails the pre-flight at the
//! manifest's line) and the circuit breaker keys of `[host]`.

use std::sync::Arc;
use std::time::Duration;

use caplet_host::BreakerConfig;
use caplet_host::policy::{
    CachedPolicy, DEFAULT_POLICY_CACHE_TTL, OpaPolicy, PolicyEngine, RegoPolicy,
};
use caplet_manifest::{Manifest, ManifestError};

/// The policy engine `[host.policy]` names, behind its decision cache; `None` without one.
pub fn build_policy(manifest: &Manifest) -> Result<Option<Arc<dyn PolicyEngine>>, ManifestError> {
    let Some(settings) = &manifest.host.policy else {
        return Ok(None);
    };
    let timeout = settings.timeout_ms.map(Duration::from_millis);
    let engine: Arc<dyn PolicyEngine> = if let Some(file) = &settings.rego {
        let mut rego = RegoPolicy::load(file, settings.query.as_deref()).map_err(|reason| {
            manifest.error_at(
                settings.line,
                format!("the policy in [host.policy] cannot be used: {reason}"),
                Some("fix the Rego file (see docs/policy.md for an example policy)".into()),
            )
        })?;
        if let Some(timeout) = timeout {
            rego = rego.with_timeout(timeout);
        }
        Arc::new(rego)
    } else if let Some(url) = &settings.opa_url {
        Arc::new(
            OpaPolicy::new(url, settings.opa_path.as_deref(), timeout).map_err(|reason| {
                manifest.error_at(
                    settings.line,
                    format!("the OPA settings in [host.policy] cannot be used: {reason}"),
                    None,
                )
            })?,
        )
    } else {
        return Ok(None);
    };
    let ttl = settings
        .cache_ttl_s
        .map_or(DEFAULT_POLICY_CACHE_TTL, Duration::from_secs);
    Ok(Some(Arc::new(CachedPolicy::new(engine, ttl))))
}

/// The circuit breaker `[host]` asks for (defaults for keys left out).
pub fn breaker_config(manifest: &Manifest) -> BreakerConfig {
    let defaults = BreakerConfig::default();
    BreakerConfig {
        failures: manifest.host.breaker_failures.unwrap_or(defaults.failures),
        open_for: manifest
            .host
            .breaker_open_ms
            .map_or(defaults.open_for, Duration::from_millis),
    }
}
