//! The host-call router: every guest `__host_call` passes through [`CallContext::host_call`].
//!
//! Order of checks, before any provider is contacted:
//! 1. the namespace names another actor (public key or call alias) → an actor-to-actor call,
//!    refused past the call-depth limit;
//! 2. otherwise it is a contract: the caller's claims must list it (after mapping `wascc:` names
//!    to `wasmcloud:` ones), else "missing capability claim";
//! 3. a link must bind (actor, contract, link name), else "missing link" (the built-in logging
//!    and number generator need only the claim, as in wasmCloud);
//! 4. a provider must serve (contract, link name), else "capability unavailable".
//!
//! Refusals reach the guest as its host error. Missing links and providers are also recorded on
//! the call, so a provider that drives the actor (the HTTP server) can answer 503 instead of 500.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use caplet_claims::caps;
use caplet_provider_api::{DispatchError, ProviderCall, ProviderError};
use caplet_runtime::{BoxFuture, DEFAULT_BINDING, HostCall, HostCallError, HostCallHandler};

use crate::actors::{ActorEntry, ActorVersion};
use crate::host::HostInner;

/// The state of one actor invocation: who is calling, on which version, through which chain.
pub struct CallContext {
    pub(crate) host: Arc<HostInner>,
    pub(crate) entry: Arc<ActorEntry>,
    pub(crate) version: Arc<ActorVersion>,
    pub(crate) parent: Option<Arc<CallContext>>,
    pub(crate) depth: u32,
    unavailable: Mutex<Option<String>>,
    me: Weak<CallContext>,
}

impl CallContext {
    pub(crate) fn new(
        host: Arc<HostInner>,
        entry: Arc<ActorEntry>,
        parent: Option<Arc<CallContext>>,
    ) -> Arc<Self> {
        let version = entry.current();
        let depth = parent.as_ref().map_or(1, |p| p.depth + 1);
        Arc::new_cyclic(|me| Self {
            host,
            entry,
            version,
            parent,
            depth,
            unavailable: Mutex::new(None),
            me: me.clone(),
        })
    }

    /// The reason recorded when a capability this call needed was unavailable.
    pub(crate) fn take_unavailable(&self) -> Option<String> {
        self.unavailable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn mark_unavailable(&self, reason: &str) {
        let mut slot = self
            .unavailable
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(reason.to_string());
        }
    }

    /// `a → b → c`, outermost first, ending with this actor.
    fn chain(&self) -> String {
        let mut names = vec![self.entry.actor.name.to_string()];
        let mut cursor = self.parent.as_ref();
        while let Some(context) = cursor {
            names.push(context.entry.actor.name.to_string());
            cursor = context.parent.as_ref();
        }
        names.reverse();
        names.join(" → ")
    }

    fn name(&self) -> &str {
        &self.entry.actor.name
    }

    async fn route(&self, call: HostCall<'_>) -> Result<Vec<u8>, HostCallError> {
        if let Some(target) = self.host.actors.call_target(call.namespace) {
            return self.call_actor(target, call).await;
        }
        let contract = caps::canonical(call.namespace);
        if !self.version.admission.allows(contract) {
            return Err(HostCallError::Guest(format!(
                "Invocation not authorized: missing capability claim for {contract}: actor `{}` is not signed for it (its claims list: {}); re-sign the actor with this capability",
                self.name(),
                self.version.admission.capability_list()
            )));
        }
        let link_name = if call.binding.trim().is_empty() {
            DEFAULT_BINDING
        } else {
            call.binding
        };
        let builtin = is_builtin(contract);
        if !builtin
            && !self
                .host
                .links
                .contains(&self.entry.actor.id, contract, link_name)
        {
            let reason = format!(
                "capability {contract} is unavailable to `{}`: missing link definition for {contract} on link `{link_name}`; add a [[link]] for this actor and contract",
                self.name()
            );
            self.mark_unavailable(&reason);
            return Err(HostCallError::Guest(reason));
        }
        let provider_link = if builtin { DEFAULT_BINDING } else { link_name };
        let Some(provider) = self.host.providers.get(contract, provider_link) else {
            let reason = format!(
                "capability {contract} is unavailable: no provider is serving link `{link_name}` (it was removed or has not started)"
            );
            self.mark_unavailable(&reason);
            return Err(HostCallError::Guest(reason));
        };
        let request = ProviderCall {
            actor: &self.entry.actor,
            link_name,
            operation: call.operation,
            payload: call.payload,
        };
        provider.handle(request).await.map_err(|error| {
            let text = format!("{contract}: {error}");
            if matches!(
                error,
                ProviderError::Unavailable(_) | ProviderError::NotBound(_)
            ) {
                self.mark_unavailable(&format!("capability {text}"));
            }
            HostCallError::Guest(text)
        })
    }

    async fn call_actor(
        &self,
        target: Arc<ActorEntry>,
        call: HostCall<'_>,
    ) -> Result<Vec<u8>, HostCallError> {
        let limit = self.host.config.max_call_depth;
        if self.depth >= limit {
            return Err(HostCallError::Guest(format!(
                "actor call depth limit of {limit} exceeded: {} → {}; actors that call each other in a loop must stop (limit: max_call_depth)",
                self.chain(),
                target.actor.name
            )));
        }
        // The callee's context keeps this one as its parent (the chain in depth errors); the
        // runtime holds this context in an Arc, so the upgrade succeeds while the call runs.
        let Some(this) = self.me.upgrade() else {
            return Err(HostCallError::Trap(
                "host call after its invocation ended".to_string(),
            ));
        };
        match crate::dispatch::invoke(&self.host, target, call.operation, call.payload, Some(this))
            .await
        {
            Ok(bytes) => Ok(bytes),
            Err(error) => {
                if let DispatchError::CapabilityUnavailable(reason)
                | DispatchError::ActorNotRunning(reason) = &error
                {
                    self.mark_unavailable(reason);
                }
                Err(HostCallError::Guest(error.to_string()))
            }
        }
    }
}

impl HostCallHandler for CallContext {
    fn host_call<'a>(
        &'a self,
        call: HostCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, HostCallError>> {
        Box::pin(self.route(call))
    }
}

/// Contracts served in-host that need only the capability claim, no link.
pub fn is_builtin(contract: &str) -> bool {
    contract == caps::LOGGING || contract == caps::NUMBERGEN
}
