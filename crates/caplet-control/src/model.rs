//! The JSON bodies of the control API, shared by the server and `caplet ctl` so the two cannot
//! drift. Requests refuse unknown fields, so a misspelt field is a 400 naming it rather than a
//! silently ignored setting.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `POST /v1/actors`: start an actor. Give the module as `path` (read by the host) or
/// `module_base64` (sent in the request), not both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartActor {
    /// The actor's name, `[a-z0-9][a-z0-9_-]*`.
    pub name: String,
    /// A module file on the host's file system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The module bytes, standard base64 with padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_base64: Option<String>,
    /// Warm instances to keep (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<u32>,
}

/// `PUT /v1/actors/{name}`: hot-swap an actor's code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateActor {
    /// A module file on the host's file system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The module bytes, standard base64 with padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_base64: Option<String>,
    /// Accept a `rev` that is not higher than the running one (a rollback).
    #[serde(default)]
    pub force_rev: bool,
    /// Accept a module signed with another module key: the actor is then known by the new
    /// public key, and its links move to it.
    #[serde(default)]
    pub force_new_identity: bool,
}

/// `POST /v1/providers` (add) and `PUT /v1/providers` (replace).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderRequest {
    /// The contract id (`wasmcloud:keyvalue`; waSCC names are accepted).
    pub contract: String,
    /// `memory`, `redis`, `local`, `nats`, `hyper`; default: the contract's first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<String>,
    /// The link name it serves (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_name: Option<String>,
    /// The provider's configuration, as in `[provider.config]`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
}

/// `PUT /v1/links` (with `values`) and `DELETE /v1/links` (without).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The actor's name (or id).
    pub actor: String,
    /// The contract id.
    pub contract: String,
    /// The link name (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_name: Option<String>,
    /// The link's values, as in `[link.values]` (PUT only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
}

/// A running actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorInfo {
    /// Its name.
    pub name: String,
    /// Its module public key (`M...`), or `unsigned:<name>`.
    pub id: String,
    /// The signing account (`A...`); `null` when unsigned.
    pub issuer: Option<String>,
    /// Signed capabilities; `null` when unsigned (all allowed).
    pub capabilities: Option<Vec<String>>,
    /// The claims' `rev`.
    pub rev: Option<i32>,
    /// The claims' `ver`.
    pub ver: Option<String>,
    /// SHA-256 of the module now serving.
    pub module_hash: String,
    /// Warm instances waiting for a call.
    pub idle_instances: usize,
}

/// A running provider and its health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// Its contract id.
    pub contract: String,
    /// The link name it serves.
    pub link_name: String,
    /// Its implementation.
    pub implementation: String,
    /// Whether it reports healthy.
    pub healthy: bool,
    /// Why not, when unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    /// The actor's name.
    pub actor: String,
    /// The actor's id.
    pub actor_id: String,
    /// The contract id.
    pub contract: String,
    /// The link name.
    pub link_name: String,
    /// The values.
    pub values: BTreeMap<String, String>,
}

/// `GET /v1/inventory`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Running actors, by name.
    pub actors: Vec<ActorInfo>,
    /// Running providers, by contract and link name.
    pub providers: Vec<ProviderInfo>,
    /// Every link.
    pub links: Vec<LinkInfo>,
}

/// A link whose provider is not running: (actor, contract, link name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnservedLink {
    /// The actor's name.
    pub actor: String,
    /// The contract id.
    pub contract: String,
    /// The link name.
    pub link_name: String,
}

/// `GET /v1/health`: 200 when `status` is `healthy`, 503 when `degraded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `healthy` or `degraded`.
    pub status: String,
    /// Why degraded, one line each.
    pub reasons: Vec<String>,
    /// Every provider.
    pub providers: Vec<ProviderInfo>,
    /// Links without a provider.
    pub unserved_links: Vec<UnservedLink>,
    /// Every actor's answer to its health operation, by name.
    #[serde(default)]
    pub actors: Vec<ActorHealthInfo>,
    /// True once the host is stopping.
    pub shutting_down: bool,
}

/// One actor's health, in [`Health`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorHealthInfo {
    /// The actor's name.
    pub name: String,
    /// Its id.
    pub id: String,
    /// Its own verdict; `true` when it has no health handler.
    pub healthy: bool,
    /// Whether it answered `Actor.HealthRequest` itself (`false`: no handler, healthy by
    /// default).
    pub has_handler: bool,
    /// The actor's message, or why the check failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The answer to `PUT /v1/actors/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapInfo {
    /// The actor.
    pub actor: String,
    /// `rev` before.
    pub old_rev: Option<i32>,
    /// `rev` now serving.
    pub new_rev: Option<i32>,
    /// Module hash before.
    pub old_hash: String,
    /// Module hash now serving.
    pub new_hash: String,
    /// The actor's id (module public key) before.
    #[serde(default)]
    pub old_id: String,
    /// The id now serving; differs from `old_id` only after `force_new_identity`.
    #[serde(default)]
    pub new_id: String,
    /// Links that could not move to a new identity, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The answer to `POST`/`PUT /v1/providers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStarted {
    /// Its contract id.
    pub contract: String,
    /// The link name it serves.
    pub link_name: String,
    /// Its implementation.
    pub implementation: String,
    /// True when it replaced a running provider (PUT).
    pub replaced: bool,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What failed and what to do.
    pub error: String,
}

/// `bytes` as the API expects a `module_base64` (standard alphabet, padded).
pub fn module_base64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}
