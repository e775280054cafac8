//! [`Host`]: the public face of the host. It owns the tables and runs the lifecycle: actors
//! start only after their claims verify and their first instances are warm; links bind as soon
//! as both the actor and the provider are present; shutdown stops new calls, waits for those
//! in flight, then closes every provider.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use caplet_provider_api::{
    ActorDispatcher, ActorRef, DispatchError, LinkDefinition, LinkValues, Provider,
};
use caplet_runtime::{Limits, Runtime};
use caplet_wire::contracts::{self, LOGGING, NUMBERGEN};
use tokio::sync::Notify;

use crate::actors::{ActorEntry, ActorTable, ActorVersion};
use crate::breaker::BreakerConfig;
use crate::builtin::{LoggingProvider, NumberGenProvider};
use crate::dispatch::HostDispatcher;
use crate::health::ActorHealth;
use crate::links::LinkTable;
use crate::policy::{ActorPolicy, Admission, PolicyAction, PolicyEngine};
use crate::providers::ProviderTable;
use crate::striped::StripedCount;
use crate::{
    DEFAULT_MAX_CALL_DEPTH, DEFAULT_MAX_LOG_LINES_PER_SECOND, DEFAULT_SHUTDOWN_GRACE, HostError,
};

/// How a host is set up.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Account public keys whose actors may run.
    pub issuers: Vec<String>,
    /// Development mode: admit unsigned actors (with a warning).
    pub allow_unsigned: bool,
    /// See [`DEFAULT_MAX_CALL_DEPTH`].
    pub max_call_depth: u32,
    /// See [`DEFAULT_SHUTDOWN_GRACE`].
    pub shutdown_grace: Duration,
    /// The admission and link policy asked after the claims check (`docs/policy.md`); `None`:
    /// claims and links alone decide.
    pub policy: Option<Arc<dyn PolicyEngine>>,
    /// The per-actor circuit breaker for trap storms (see [`crate::breaker`]).
    pub breaker: BreakerConfig,
    /// See [`DEFAULT_MAX_LOG_LINES_PER_SECOND`].
    pub max_log_lines_per_second: u32,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            allow_unsigned: false,
            max_call_depth: DEFAULT_MAX_CALL_DEPTH,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            policy: None,
            breaker: BreakerConfig::default(),
            max_log_lines_per_second: DEFAULT_MAX_LOG_LINES_PER_SECOND,
        }
    }
}

/// The state every `Host` clone shares.
///
/// Aligned to 128 bytes: every call clones and drops its `Arc` from whichever core runs it, and
/// this keeps the fields each call reads off the cache line that reference count lives on.
#[repr(align(128))]
pub(crate) struct HostInner {
    pub(crate) runtime: Runtime,
    pub(crate) policy: ActorPolicy,
    pub(crate) config: HostConfig,
    pub(crate) actors: ActorTable,
    pub(crate) links: LinkTable,
    pub(crate) providers: ProviderTable,
    /// External calls in flight, striped per thread (`striped`).
    pub(crate) in_flight: StripedCount,
    pub(crate) idle: Notify,
    pub(crate) stopping: AtomicBool,
    /// The built-in logging provider, also in `providers`: told when an actor stops, so its
    /// rate window goes with it.
    pub(crate) logging: Arc<LoggingProvider>,
}

/// A running actor, for inventories.
#[derive(Debug, Clone)]
pub struct ActorStatus {
    /// Its identity.
    pub actor: ActorRef,
    /// The issuer (`A...`), or `None` when unsigned.
    pub issuer: Option<String>,
    /// Capabilities it is signed for (canonical ids); `None` when unsigned (any).
    pub capabilities: Option<Vec<String>>,
    /// `rev` and `ver` of its claims.
    pub revision: Option<i32>,
    /// `ver` of its claims.
    pub version: Option<String>,
    /// The module's SHA-256.
    pub module_hash: String,
    /// Idle warm instances now.
    pub idle_instances: usize,
}

/// A running provider, for inventories and health.
#[derive(Debug, Clone)]
pub struct ProviderStatus {
    /// Its contract id.
    pub contract: String,
    /// Its link name.
    pub link_name: String,
    /// Its implementation (`memory`, `redis`, ...).
    pub implementation: String,
    /// `Err` with the reason when unhealthy.
    pub health: Result<(), String>,
}

/// The host's overall health.
#[derive(Debug, Clone)]
pub struct HostHealth {
    /// Every provider's status.
    pub providers: Vec<ProviderStatus>,
    /// Links whose provider is missing: (actor, contract, link name).
    pub unserved_links: Vec<(String, String, String)>,
    /// Every actor's answer to its health operation, by name; empty from
    /// [`Host::provider_health`], which runs no guest code.
    pub actors: Vec<ActorHealth>,
}

impl HostHealth {
    /// Healthy when every provider is healthy, every link has a provider and every actor
    /// checked is healthy.
    pub fn is_healthy(&self) -> bool {
        self.unserved_links.is_empty()
            && self.providers.iter().all(|p| p.health.is_ok())
            && self.actors.iter().all(|a| a.healthy)
    }
}

/// A Caplet host. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Host {
    pub(crate) inner: Arc<HostInner>,
}

impl Host {
    /// A host on `runtime`, with the built-in logging and number-generation providers.
    pub fn new(runtime: Runtime, config: HostConfig) -> Self {
        let logging = Arc::new(LoggingProvider::new(config.max_log_lines_per_second));
        let inner = Arc::new(HostInner {
            runtime,
            policy: ActorPolicy {
                issuers: config.issuers.clone(),
                allow_unsigned: config.allow_unsigned,
            },
            config,
            actors: ActorTable::default(),
            links: LinkTable::default(),
            providers: ProviderTable::default(),
            in_flight: StripedCount::default(),
            idle: Notify::new(),
            stopping: AtomicBool::new(false),
            logging: logging.clone(),
        });
        let default = caplet_runtime::DEFAULT_BINDING;
        inner.providers.insert(LOGGING, default, logging);
        inner
            .providers
            .insert(NUMBERGEN, default, Arc::new(NumberGenProvider));
        Self { inner }
    }

    /// The dispatcher providers use to call actors through this host.
    pub fn dispatcher(&self) -> Arc<dyn ActorDispatcher> {
        Arc::new(HostDispatcher {
            host: Arc::downgrade(&self.inner),
        })
    }

    /// The runtime actors run on.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    /// Verifies, compiles and warms an actor, then makes it callable and binds its links.
    pub async fn start_actor(
        &self,
        name: &str,
        bytes: Vec<u8>,
        limits: Limits,
        instances: u32,
    ) -> Result<ActorRef, HostError> {
        self.ensure_running()?;
        if self.inner.actors.by_name(name).is_some() {
            return Err(HostError::DuplicateActor {
                name: name.to_string(),
                detail: String::new(),
            });
        }
        check_size(name, &bytes, &limits)?;
        let admission = self.inner.policy.admit(name, &bytes)?;
        self.check_policy(PolicyAction::Start, name, &admission, None)
            .await?;
        let runtime = self.inner.runtime.clone();
        let owned_name = name.to_string();
        let mut limits = limits;
        let warm = usize::try_from(instances).unwrap_or(usize::MAX).max(1);
        limits.max_idle_instances = limits.max_idle_instances.max(warm);
        // Compiling is CPU work of up to seconds: keep it off the async workers.
        let module =
            tokio::task::spawn_blocking(move || runtime.load_actor(&owned_name, &bytes, limits))
                .await
                .map_err(|e| {
                    HostError::Load(caplet_runtime::LoadError::Engine(format!(
                        "the compile task failed: {e}"
                    )))
                })??;
        module.warm(warm).await.map_err(|source| HostError::Start {
            name: name.to_string(),
            source,
        })?;
        let actor = ActorRef {
            id: admission.id.clone(),
            name: Arc::from(name),
        };
        let entry = Arc::new(ActorEntry::new(
            actor.clone(),
            ActorVersion::new(module, admission, instances),
        ));
        self.inner
            .actors
            .insert(entry)
            .map_err(|detail| HostError::DuplicateActor {
                name: name.to_string(),
                detail,
            })?;
        for link in self.inner.links.for_actor(&actor.id) {
            self.bind(link).await?;
        }
        tracing::info!(actor = name, id = %actor.id, instances, "actor started");
        Ok(actor)
    }

    /// Stops an actor: new calls fail, its links are unbound, idle instances are freed.
    pub async fn stop_actor(&self, name: &str) -> Result<(), HostError> {
        let entry = self
            .inner
            .actors
            .remove(name)
            .ok_or_else(|| HostError::NoSuchActor(name.to_string()))?;
        for link in self.inner.links.for_actor(&entry.actor.id) {
            if let Some(provider) = self.inner.providers.get(&link.contract_id, &link.link_name) {
                provider.unbind(&entry.actor, &link.link_name).await;
            }
        }
        entry.current().module.drain_idle();
        self.inner.logging.forget(&entry.actor);
        tracing::info!(actor = name, "actor stopped");
        Ok(())
    }

    /// Adds a provider for (contract, link name) and binds every link waiting for it. If a
    /// bind fails, the provider is removed and shut down again, and the error says which.
    pub async fn add_provider(
        &self,
        link_name: &str,
        provider: Arc<dyn Provider>,
    ) -> Result<(), HostError> {
        self.ensure_running()?;
        let contract = contracts::canonical(provider.contract_id()).to_string();
        if self.inner.providers.get(&contract, link_name).is_some() {
            return Err(HostError::DuplicateProvider {
                contract,
                link_name: link_name.to_string(),
            });
        }
        self.inner
            .providers
            .insert(&contract, link_name, provider.clone());
        for link in self.inner.links.for_provider(&contract, link_name) {
            if self.inner.actors.by_id(&link.actor.id).is_none() {
                continue;
            }
            if let Err(error) = self.bind(link).await {
                self.inner.providers.remove(&contract, link_name);
                provider.shutdown().await;
                return Err(error);
            }
        }
        tracing::info!(
            contract,
            link_name,
            implementation = provider.implementation(),
            "provider started"
        );
        Ok(())
    }

    /// Removes the provider of (contract, link name) and shuts it down. Calls to it fail with
    /// "capability unavailable" until another provider is added.
    pub async fn remove_provider(&self, contract: &str, link_name: &str) -> Result<(), HostError> {
        let contract = contracts::canonical(contract);
        let provider = self
            .inner
            .providers
            .remove(contract, link_name)
            .ok_or_else(|| HostError::NoSuchProvider {
                contract: contract.to_string(),
                link_name: link_name.to_string(),
            })?;
        provider.shutdown().await;
        tracing::info!(contract, link_name, "provider removed");
        Ok(())
    }

    /// Links `actor` (name) to (contract, link name) with `values`, replacing an existing link,
    /// and binds it now if the provider runs. Refused when the actor's claims lack the contract.
    pub async fn put_link(
        &self,
        actor: &str,
        contract: &str,
        link_name: &str,
        values: LinkValues,
    ) -> Result<(), HostError> {
        let entry = self
            .inner
            .actors
            .find(actor)
            .ok_or_else(|| HostError::NoSuchActor(actor.to_string()))?;
        let contract = contracts::canonical(contract).to_string();
        let link_name = normalize_link_name(link_name);
        let version = entry.current();
        if !version.admission.allows(&contract) {
            return Err(HostError::MissingCapability {
                actor: entry.actor.name.to_string(),
                contract,
                caps: version.admission.capability_list(),
            });
        }
        let link_input = serde_json::json!({
            "contract": contract,
            "link_name": link_name,
            "values": values,
        });
        self.check_policy(
            PolicyAction::Link,
            &entry.actor.name,
            &version.admission,
            Some(link_input),
        )
        .await?;
        let link = LinkDefinition {
            actor: entry.actor.clone(),
            contract_id: contract,
            link_name: link_name.to_string(),
            values,
        };
        let previous = self.inner.links.put(link.clone());
        if let Err(error) = self.bind(link.clone()).await {
            match previous {
                Some(previous) => {
                    self.inner.links.put(previous);
                }
                None => {
                    self.inner
                        .links
                        .remove(&link.actor.id, &link.contract_id, &link.link_name);
                }
            }
            return Err(error);
        }
        Ok(())
    }

    /// Deletes a link and unbinds it from its provider.
    pub async fn delete_link(
        &self,
        actor: &str,
        contract: &str,
        link_name: &str,
    ) -> Result<(), HostError> {
        let entry = self
            .inner
            .actors
            .find(actor)
            .ok_or_else(|| HostError::NoSuchActor(actor.to_string()))?;
        let contract = contracts::canonical(contract);
        let link_name = normalize_link_name(link_name);
        if self
            .inner
            .links
            .remove(&entry.actor.id, contract, link_name)
            .is_some()
            && let Some(provider) = self.inner.providers.get(contract, link_name)
        {
            provider.unbind(&entry.actor, link_name).await;
        }
        Ok(())
    }

    /// Calls `operation` on the actor named `reference` (name, id or call alias).
    pub async fn call_actor(
        &self,
        reference: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, DispatchError> {
        let Some(entry) = self.inner.actors.find(reference) else {
            return Err(DispatchError::ActorNotRunning(format!(
                "no actor `{reference}` is running on this host"
            )));
        };
        self.inner
            .call_entry_by_id(&entry.actor, operation, payload)
            .await
    }

    /// The running actors.
    pub fn actors(&self) -> Vec<ActorStatus> {
        self.inner
            .actors
            .all()
            .into_iter()
            .map(|entry| {
                let version = entry.current();
                let claims = version.admission.claims.as_ref();
                ActorStatus {
                    actor: entry.actor.clone(),
                    issuer: claims.map(|c| c.issuer().to_string()),
                    capabilities: version.admission.capabilities.clone(),
                    revision: claims.and_then(|c| c.rev()),
                    version: claims.and_then(|c| c.ver()).map(str::to_string),
                    module_hash: version.module.hash().to_string(),
                    idle_instances: version.module.idle_instances(),
                }
            })
            .collect()
    }

    /// Every link.
    pub fn links(&self) -> Vec<LinkDefinition> {
        self.inner.links.all()
    }

    /// Provider health and links without a provider, without asking the actors (no guest code
    /// runs): what inventories and metrics use. [`Host::health`] adds the actors.
    pub async fn provider_health(&self) -> HostHealth {
        let mut providers = Vec::new();
        for ((contract, link_name), provider) in self.inner.providers.all() {
            providers.push(ProviderStatus {
                implementation: provider.implementation().to_string(),
                health: provider.health().await,
                contract,
                link_name,
            });
        }
        let unserved_links = self
            .inner
            .links
            .all()
            .into_iter()
            .filter(|l| {
                self.inner
                    .providers
                    .get(&l.contract_id, &l.link_name)
                    .is_none()
            })
            .map(|l| (l.actor.name.to_string(), l.contract_id, l.link_name))
            .collect();
        HostHealth {
            providers,
            unserved_links,
            actors: Vec::new(),
        }
    }

    /// Every metric in the Prometheus text format: calls, errors and latency per actor and
    /// operation, idle instances, swaps, and provider health (see [`crate::metrics`]).
    pub async fn metrics_text(&self) -> String {
        let providers = self.provider_health().await.providers;
        crate::metrics::render(&self.inner.actors.all(), &providers)
    }

    /// The implementation (`memory`, `redis`, ...) serving (contract, link name), if any.
    pub fn provider_implementation(&self, contract: &str, link_name: &str) -> Option<String> {
        let contract = contracts::canonical(contract);
        self.inner
            .providers
            .get(contract, normalize_link_name(link_name))
            .map(|provider| provider.implementation().to_string())
    }

    /// True once [`Host::shutdown`] has begun: no new actors, providers or calls.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.stopping.load(Ordering::Acquire)
    }

    /// Graceful shutdown: refuse new calls, wait up to the grace period for calls in flight,
    /// then shut every provider down. Returns the number of calls abandoned at the deadline.
    pub async fn shutdown(&self) -> usize {
        // SeqCst: see `InFlight`'s drop, which notifies only once it sees `stopping`.
        self.inner.stopping.store(true, Ordering::SeqCst);
        let grace = self.inner.config.shutdown_grace;
        let drained = tokio::time::timeout(grace, async {
            loop {
                let notified = self.inner.idle.notified();
                if self.inner.in_flight.sum() == 0 {
                    break;
                }
                notified.await;
            }
        })
        .await;
        let abandoned = match drained {
            Ok(()) => 0,
            Err(_) => self.inner.in_flight.sum(),
        };
        for ((contract, link_name), provider) in self.inner.providers.all() {
            provider.shutdown().await;
            self.inner.providers.remove(&contract, &link_name);
        }
        for entry in self.inner.actors.all() {
            entry.current().module.drain_idle();
        }
        abandoned
    }

    /// Compiles an actor module off the async workers (it is CPU work of up to seconds).
    pub(crate) async fn compile(
        &self,
        name: &str,
        bytes: Vec<u8>,
        limits: Limits,
    ) -> Result<caplet_runtime::ActorModule, HostError> {
        let runtime = self.inner.runtime.clone();
        let owned_name = name.to_string();
        tokio::task::spawn_blocking(move || runtime.load_actor(&owned_name, &bytes, limits))
            .await
            .map_err(|e| {
                HostError::Load(caplet_runtime::LoadError::Engine(format!(
                    "the compile task failed: {e}"
                )))
            })?
            .map_err(HostError::Load)
    }

    /// Asks the configured policy engine, if any, about `action` (fail closed).
    pub(crate) async fn check_policy(
        &self,
        action: PolicyAction,
        name: &str,
        admission: &Admission,
        link: Option<serde_json::Value>,
    ) -> Result<(), HostError> {
        let Some(engine) = &self.inner.config.policy else {
            return Ok(());
        };
        let host = serde_json::json!({
            "issuers": self.inner.config.issuers,
            "allow_unsigned": self.inner.config.allow_unsigned,
        });
        let input = crate::policy::policy_input(
            action,
            crate::policy::actor_input(name, admission),
            link,
            host,
        );
        crate::policy::check(engine.as_ref(), action, name, &input).await
    }

    pub(crate) fn inner(&self) -> &HostInner {
        &self.inner
    }

    fn ensure_running(&self) -> Result<(), HostError> {
        if self.inner.stopping.load(Ordering::Acquire) {
            return Err(HostError::ShuttingDown);
        }
        Ok(())
    }

    async fn bind(&self, link: LinkDefinition) -> Result<(), HostError> {
        let Some(provider) = self.inner.providers.get(&link.contract_id, &link.link_name) else {
            return Ok(());
        };
        let (actor, contract, link_name) = (
            link.actor.name.to_string(),
            link.contract_id.clone(),
            link.link_name.clone(),
        );
        provider.bind(link).await.map_err(|error| HostError::Bind {
            actor,
            contract,
            link_name,
            reason: error.to_string(),
        })
    }
}

/// A blank link name means `default`, as waSCC and wasmCloud normalise it.
fn normalize_link_name(link_name: &str) -> &str {
    let trimmed = link_name.trim();
    if trimmed.is_empty() {
        caplet_runtime::DEFAULT_BINDING
    } else {
        trimmed
    }
}

/// Refuses a module over `max_module_bytes` before its claims are parsed or it is compiled.
pub(crate) fn check_size(name: &str, bytes: &[u8], limits: &Limits) -> Result<(), HostError> {
    if bytes.len() > limits.max_module_bytes {
        return Err(HostError::Load(caplet_runtime::LoadError::TooLarge {
            module: name.to_string(),
            size: bytes.len(),
            limit: limits.max_module_bytes,
        }));
    }
    Ok(())
}
