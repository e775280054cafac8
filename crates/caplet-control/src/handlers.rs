//! What each endpoint does. Everything is checked (names, counts, module source, provider
//! config, link values) before the host is asked to change, and host errors map to the status
//! that says whose move it is: 400 fix the request, 404 no such thing, 409 conflicts with what
//! runs, 503 the host is stopping.

use std::path::Path;

use caplet_host::{Host, HostError, HostHealth, UpdateOptions};
use caplet_launch::catalog;
use caplet_manifest::{DEFAULT_INSTANCES, MAX_ACTOR_NAME_LEN, MAX_INSTANCES, known_contract};
use caplet_wire::contracts::canonical;
use hyper::StatusCode;

use crate::model::{
    ActorHealthInfo, ActorInfo, Health, Inventory, LinkInfo, LinkRequest, ProviderInfo,
    ProviderRequest, ProviderStarted, StartActor, SwapInfo, UnservedLink, UpdateActor,
};
use crate::routes::{ApiError, Reply, Result};
use crate::server::State;
use crate::{HEALTH_TIMEOUT, MAX_BODY_BYTES};

pub(crate) async fn inventory(host: &Host) -> Result<Reply> {
    let health = timed(host.provider_health()).await?;
    let inventory = Inventory {
        actors: actors(host),
        providers: providers(&health),
        links: host
            .links()
            .into_iter()
            .map(|link| LinkInfo {
                actor: link.actor.name.to_string(),
                actor_id: link.actor.id.to_string(),
                contract: link.contract_id,
                link_name: link.link_name,
                values: link.values,
            })
            .collect(),
    };
    Ok(Reply::json(StatusCode::OK, &inventory))
}

pub(crate) async fn health(host: &Host) -> Result<Reply> {
    let health = timed(host.health()).await?;
    let shutting_down = host.is_shutting_down();
    let mut reasons: Vec<String> = health
        .providers
        .iter()
        .filter_map(|p| {
            let reason = p.health.as_ref().err()?;
            Some(format!(
                "provider {} ({}) on link `{}` is unhealthy: {reason}",
                p.contract, p.implementation, p.link_name
            ))
        })
        .collect();
    reasons.extend(health.unserved_links.iter().map(|(actor, contract, link)| {
        format!("link of `{actor}` to {contract} on `{link}` has no provider running")
    }));
    reasons.extend(health.actors.iter().filter(|a| !a.healthy).map(|a| {
        format!(
            "actor `{}` is unhealthy: {}",
            a.actor.name,
            a.message.as_deref().unwrap_or("its health handler says so")
        )
    }));
    if shutting_down {
        reasons.push("the host is shutting down".to_string());
    }
    let healthy = reasons.is_empty();
    let body = Health {
        status: if healthy { "healthy" } else { "degraded" }.to_string(),
        reasons,
        providers: providers(&health),
        unserved_links: health
            .unserved_links
            .into_iter()
            .map(|(actor, contract, link_name)| UnservedLink {
                actor,
                contract,
                link_name,
            })
            .collect(),
        actors: health
            .actors
            .into_iter()
            .map(|a| ActorHealthInfo {
                name: a.actor.name.to_string(),
                id: a.actor.id.to_string(),
                healthy: a.healthy,
                has_handler: a.has_handler,
                message: a.message,
            })
            .collect(),
        shutting_down,
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(Reply::json(status, &body))
}

pub(crate) async fn metrics(host: &Host) -> Result<Reply> {
    let text = tokio::time::timeout(HEALTH_TIMEOUT, host.metrics_text())
        .await
        .map_err(|_| health_timeout())?;
    Ok(Reply::text(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        text,
    ))
}

pub(crate) async fn start_actor(state: &State, request: StartActor) -> Result<Reply> {
    if !caplet_manifest::valid_actor_name(&request.name) {
        return Err(ApiError::bad_request(format!(
            "invalid actor name {:?}: use lowercase letters, digits, `_` and `-`, starting with a letter or digit, at most {MAX_ACTOR_NAME_LEN} characters",
            request.name
        )));
    }
    let instances = request.instances.unwrap_or(DEFAULT_INSTANCES);
    if !(1..=MAX_INSTANCES).contains(&instances) {
        return Err(ApiError::bad_request(format!(
            "`instances` is {instances}; keep 1 to {MAX_INSTANCES} warm instances, or leave it out for {DEFAULT_INSTANCES}"
        )));
    }
    let bytes = module_bytes(request.path.as_deref(), request.module_base64.as_deref()).await?;
    let host = &state.host;
    host.start_actor(&request.name, bytes, state.default_limits, instances)
        .await
        .map_err(host_error)?;
    let started = actors(host)
        .into_iter()
        .find(|actor| actor.name == request.name)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "actor `{}` started but was stopped again at once",
                    request.name
                ),
            )
        })?;
    Ok(Reply::json(StatusCode::CREATED, &started))
}

pub(crate) async fn update_actor(host: &Host, name: &str, request: UpdateActor) -> Result<Reply> {
    let bytes = module_bytes(request.path.as_deref(), request.module_base64.as_deref()).await?;
    let options = UpdateOptions {
        allow_same_or_lower_rev: request.force_rev,
        force_new_identity: request.force_new_identity,
    };
    let report = host
        .update_actor(name, bytes, None, options)
        .await
        .map_err(host_error)?;
    Ok(Reply::json(
        StatusCode::OK,
        &SwapInfo {
            actor: report.actor,
            old_rev: report.old_rev,
            new_rev: report.new_rev,
            old_hash: report.old_hash,
            new_hash: report.new_hash,
            old_id: report.old_id,
            new_id: report.new_id,
            warnings: report.warnings,
        },
    ))
}

pub(crate) async fn stop_actor(host: &Host, name: &str) -> Result<Reply> {
    host.stop_actor(name).await.map_err(host_error)?;
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({ "stopped": name }),
    ))
}

/// Adds a provider (`replace` false) or replaces the running one (`replace` true). The new
/// provider is checked and built first, so a bad config changes nothing; replacing then removes
/// the old one and adds the new one, and calls in between fail as "capability unavailable".
pub(crate) async fn put_provider(
    host: &Host,
    request: ProviderRequest,
    replace: bool,
) -> Result<Reply> {
    let contract = canonical(request.contract.trim()).to_string();
    let link_name = link_name(request.link_name.as_deref())?;
    let known = known_provider(&contract)?;
    let implementation = request
        .implementation
        .clone()
        .unwrap_or_else(|| known.default_implementation().to_string());
    if !known.has_implementation(&implementation) {
        return Err(ApiError::bad_request(format!(
            "{contract} has no implementation `{implementation}`; choose one of: {}",
            known.implementations.join(", ")
        )));
    }
    catalog::validate_config(&contract, &implementation, &request.config).map_err(|reason| {
        ApiError::bad_request(format!(
            "invalid config for the `{implementation}` provider of {contract}: {reason}"
        ))
    })?;
    for link in host.links() {
        if link.contract_id == contract && link.link_name == link_name {
            catalog::validate_link(&contract, &implementation, &link.values).map_err(
                |reason| {
                    ApiError::bad_request(format!(
                        "the {contract} link of actor `{}` has values the `{implementation}` provider refuses: {reason}; fix the link first",
                        link.actor.name
                    ))
                },
            )?;
        }
    }
    let running = host
        .provider_implementation(&contract, &link_name)
        .is_some();
    if running && !replace {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "a {contract} provider for link `{link_name}` is already running; replace it with PUT /v1/providers (`caplet ctl provider replace`)"
            ),
        ));
    }
    let provider = catalog::build(
        &contract,
        &implementation,
        &request.config,
        host.dispatcher(),
    )
    .map_err(|reason| {
        ApiError::bad_request(format!(
            "could not build the `{implementation}` provider for {contract}: {reason}"
        ))
    })?;
    let replaced = replace && running;
    if replaced && let Err(error) = host.remove_provider(&contract, &link_name).await {
        provider.shutdown().await;
        return Err(host_error(error));
    }
    if let Err(error) = host.add_provider(&link_name, provider.clone()).await {
        // The host shuts a provider down itself only when a bind failed.
        if !matches!(error, HostError::Bind { .. }) {
            provider.shutdown().await;
        }
        return Err(match error {
            HostError::DuplicateProvider { .. } => ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "{error}; replace it with PUT /v1/providers (`caplet ctl provider replace`)"
                ),
            ),
            other if replaced => {
                let mut api = host_error(other);
                api.message = format!(
                    "the old provider was removed but the new one failed: {}; health is degraded until a provider is added",
                    api.message
                );
                api
            }
            other => host_error(other),
        });
    }
    let status = if replace {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(Reply::json(
        status,
        &ProviderStarted {
            contract,
            link_name,
            implementation,
            replaced,
        },
    ))
}

pub(crate) async fn remove_provider(host: &Host, contract: &str, link: &str) -> Result<Reply> {
    let contract = canonical(contract).to_string();
    let link_name = link_name(Some(link))?;
    if catalog::is_builtin(&contract) {
        return Err(builtin_error(&contract));
    }
    host.remove_provider(&contract, &link_name)
        .await
        .map_err(host_error)?;
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({ "removed": { "contract": contract, "link_name": link_name } }),
    ))
}

pub(crate) async fn put_link(host: &Host, request: LinkRequest) -> Result<Reply> {
    let contract = canonical(request.contract.trim()).to_string();
    let link_name = link_name(request.link_name.as_deref())?;
    if let Some(implementation) = host.provider_implementation(&contract, &link_name) {
        catalog::validate_link(&contract, &implementation, &request.values).map_err(|reason| {
            ApiError::bad_request(format!(
                "invalid values for the {contract} link (served by `{implementation}`): {reason}"
            ))
        })?;
    }
    host.put_link(
        &request.actor,
        &contract,
        &link_name,
        request.values.clone(),
    )
    .await
    .map_err(host_error)?;
    let link = host
        .links()
        .into_iter()
        .find(|l| {
            (*l.actor.name == request.actor || *l.actor.id == request.actor)
                && l.contract_id == contract
                && l.link_name == link_name
        })
        .map(|link| LinkInfo {
            actor: link.actor.name.to_string(),
            actor_id: link.actor.id.to_string(),
            contract: link.contract_id,
            link_name: link.link_name,
            values: link.values,
        });
    Ok(Reply::json(StatusCode::OK, &link))
}

pub(crate) async fn delete_link(host: &Host, request: LinkRequest) -> Result<Reply> {
    let contract = canonical(request.contract.trim()).to_string();
    let link_name = link_name(request.link_name.as_deref())?;
    let exists = host.links().iter().any(|l| {
        (*l.actor.name == request.actor || *l.actor.id == request.actor)
            && l.contract_id == contract
            && l.link_name == link_name
    });
    if !exists {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "no link of `{}` to {contract} on `{link_name}`; see `caplet ctl inventory`",
                request.actor
            ),
        ));
    }
    host.delete_link(&request.actor, &contract, &link_name)
        .await
        .map_err(host_error)?;
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({ "deleted": { "actor": request.actor, "contract": contract, "link_name": link_name } }),
    ))
}

fn actors(host: &Host) -> Vec<ActorInfo> {
    host.actors()
        .into_iter()
        .map(|status| ActorInfo {
            name: status.actor.name.to_string(),
            id: status.actor.id.to_string(),
            issuer: status.issuer,
            capabilities: status.capabilities,
            rev: status.revision,
            ver: status.version,
            module_hash: status.module_hash,
            idle_instances: status.idle_instances,
        })
        .collect()
}

fn providers(health: &HostHealth) -> Vec<ProviderInfo> {
    health
        .providers
        .iter()
        .map(|p| ProviderInfo {
            contract: p.contract.clone(),
            link_name: p.link_name.clone(),
            implementation: p.implementation.clone(),
            healthy: p.health.is_ok(),
            reason: p.health.clone().err(),
        })
        .collect()
}

async fn timed(check: impl Future<Output = HostHealth>) -> Result<HostHealth> {
    tokio::time::timeout(HEALTH_TIMEOUT, check)
        .await
        .map_err(|_| health_timeout())
}

fn health_timeout() -> ApiError {
    ApiError::new(
        StatusCode::GATEWAY_TIMEOUT,
        format!(
            "the health checks took longer than {HEALTH_TIMEOUT:?}; a provider's backend is not answering"
        ),
    )
}

/// The module from `path` (read on the host) or `module_base64`: exactly one of them.
async fn module_bytes(path: Option<&Path>, base64: Option<&str>) -> Result<Vec<u8>> {
    match (path, base64) {
        (Some(path), None) => {
            let size = tokio::fs::metadata(path)
                .await
                .map_err(|e| {
                    ApiError::bad_request(format!(
                        "cannot read the module {}: {e}; the path is read on the host, relative to its working folder",
                        path.display()
                    ))
                })?
                .len();
            if size > MAX_BODY_BYTES as u64 {
                return Err(ApiError::bad_request(format!(
                    "the module {} is {size} bytes, more than the {MAX_BODY_BYTES}-byte limit",
                    path.display()
                )));
            }
            tokio::fs::read(path).await.map_err(|e| {
                ApiError::bad_request(format!("cannot read the module {}: {e}", path.display()))
            })
        }
        (None, Some(text)) => data_encoding::BASE64
            .decode(text.trim().as_bytes())
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "`module_base64` is not valid base64 (standard alphabet, padded): {e}"
                ))
            }),
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "give the module as `path` or `module_base64`, not both",
        )),
        (None, None) => Err(ApiError::bad_request(
            "missing module: give `path` (a file on the host) or `module_base64`",
        )),
    }
}

/// A link name from a request: blank means `default`; control characters are refused.
fn link_name(name: Option<&str>) -> Result<String> {
    let name = name.map(str::trim).unwrap_or_default();
    if name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "invalid link name {name:?}: control characters are not allowed"
        )));
    }
    Ok(if name.is_empty() {
        caplet_manifest::DEFAULT_LINK_NAME.to_string()
    } else {
        name.to_string()
    })
}

fn known_provider(contract: &str) -> Result<&'static caplet_manifest::KnownContract> {
    let known = known_contract(contract).ok_or_else(|| {
        ApiError::bad_request(format!(
            "no built-in provider serves `{contract}`; known contracts: {}",
            caplet_manifest::known_contract_ids().join(", ")
        ))
    })?;
    if known.builtin {
        return Err(builtin_error(contract));
    }
    Ok(known)
}

fn builtin_error(contract: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{contract} is built into the host and always present; it cannot be added, replaced or removed"
    ))
}

/// The status a host error maps to, with its message.
pub(crate) fn host_error(error: HostError) -> ApiError {
    let status = match &error {
        HostError::NoSuchActor(_) | HostError::NoSuchProvider { .. } => StatusCode::NOT_FOUND,
        HostError::DuplicateActor { .. }
        | HostError::DuplicateProvider { .. }
        | HostError::IdentityChanged { .. }
        | HostError::RevisionNotHigher { .. } => StatusCode::CONFLICT,
        HostError::ShuttingDown | HostError::PolicyUnavailable { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        HostError::PolicyDenied { .. } => StatusCode::FORBIDDEN,
        HostError::Claims { .. }
        | HostError::NoTrustedIssuers { .. }
        | HostError::Unsigned { .. }
        | HostError::Load(_)
        | HostError::Start { .. }
        | HostError::MissingCapability { .. }
        | HostError::Bind { .. } => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, error.to_string())
}
