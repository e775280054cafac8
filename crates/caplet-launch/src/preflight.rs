//! Everything checked before anything starts, all reported together at their lines: provider
//! config, link values, actor modules (readable, signed by a trusted issuer, not expired) and
//! that each link's contract is among its actor's signed capabilities, and that the Rego policy
//! of `[host.policy]`, if any, compiles.

use caplet_claims::{ClaimsError, Policy, caps};
use caplet_manifest::{Manifest, ManifestErrors};

use crate::catalog;

/// An actor's module, read and verified.
#[derive(Debug, Clone)]
pub struct PreparedActor {
    /// Its manifest name.
    pub name: String,
    /// The module bytes.
    pub bytes: Vec<u8>,
    /// Canonical capabilities from its claims; `None` when unsigned (development mode).
    pub capabilities: Option<Vec<String>>,
}

/// Checks `manifest` and reads its actors. On failure, every error found is returned.
pub fn preflight(manifest: &Manifest) -> Result<Vec<PreparedActor>, ManifestErrors> {
    let mut errors = ManifestErrors::new();
    for provider in &manifest.providers {
        if let Err(reason) = catalog::validate_config(
            &provider.contract,
            &provider.implementation,
            &provider.config,
        ) {
            let line = first_line(&provider.config_lines).unwrap_or(provider.line);
            errors.push(manifest.error_at(
                line,
                format!(
                    "invalid config for the `{}` provider of {}: {reason}",
                    provider.implementation, provider.contract
                ),
                None,
            ));
        }
    }
    for link in &manifest.links {
        let Some(provider) = manifest.provider_for(link) else {
            continue;
        };
        if let Err(reason) =
            catalog::validate_link(&link.contract, &provider.implementation, &link.values)
        {
            let line = first_line(&link.value_lines).unwrap_or(link.line);
            errors.push(manifest.error_at(
                line,
                format!(
                    "invalid values in the {} link of actor `{}`: {reason}",
                    link.contract, link.actor
                ),
                None,
            ));
        }
    }
    for actor in &manifest.actors {
        if actor.limits.max_stack_kib.is_some() {
            errors.push(manifest.error_at(
                actor.line,
                format!(
                    "actor `{}` sets max_stack_kib, but the wasm stack is engine-wide",
                    actor.name
                ),
                Some("set max_stack_kib in [host.limits]; it applies to every actor".into()),
            ));
        }
    }
    if let Err(error) = crate::build_policy(manifest) {
        errors.push(error);
    }
    let policy = Policy::default().allow_issuers(manifest.host.issuers.iter().cloned());
    let mut prepared = Vec::new();
    for actor in &manifest.actors {
        let bytes = match std::fs::read(&actor.path) {
            Ok(bytes) => bytes,
            Err(error) => {
                errors.push(manifest.error_at(
                    actor.line,
                    format!(
                        "cannot read actor `{}` from {}: {error}",
                        actor.name,
                        actor.path.display()
                    ),
                    Some(
                        "check the actor's `path`; it is relative to the manifest's folder".into(),
                    ),
                ));
                continue;
            }
        };
        let capabilities = match caplet_claims::verify(&bytes, &policy) {
            Ok(claims) => Some(
                claims
                    .caps()
                    .iter()
                    .map(|c| caps::canonical(c).to_string())
                    .collect::<Vec<_>>(),
            ),
            Err(ClaimsError::Unsigned) if manifest.host.allow_unsigned => None,
            Err(ClaimsError::Unsigned) => {
                errors.push(manifest.error_at(
                    actor.line,
                    format!("actor `{}` ({}) is unsigned", actor.name, actor.path.display()),
                    Some(
                        "sign it with `caplet claims sign` by an account listed in host.issuers; \
                         for development only, `caplet up --allow-unsigned`"
                            .into(),
                    ),
                ));
                continue;
            }
            Err(error) => {
                errors.push(manifest.error_at(
                    actor.line,
                    format!(
                        "actor `{}` ({}) refused: {error}",
                        actor.name,
                        actor.path.display()
                    ),
                    Some(error.hint().to_string()),
                ));
                continue;
            }
        };
        if let Some(list) = &capabilities {
            for link in manifest.links_of(&actor.name) {
                if !catalog::is_builtin(&link.contract) && !list.contains(&link.contract) {
                    errors.push(manifest.error_at(
                        link.line,
                        format!(
                            "actor `{}` is linked to {} but is not signed for it (its claims list: {})",
                            actor.name,
                            link.contract,
                            if list.is_empty() { "(none)".to_string() } else { list.join(", ") }
                        ),
                        Some("re-sign the actor with this capability, or remove the link".into()),
                    ));
                }
            }
        }
        prepared.push(PreparedActor {
            name: actor.name.clone(),
            bytes,
            capabilities,
        });
    }
    errors.sort();
    errors.into_result(prepared)
}

fn first_line(lines: &std::collections::BTreeMap<String, usize>) -> Option<usize> {
    lines.values().copied().min()
}
