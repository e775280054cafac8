//! Actor health: the host calls `Actor.HealthRequest` on actors that handle it.

use serde::{Deserialize, Serialize};

/// The operation the host calls on an actor to ask for its health.
pub const HEALTH_REQUEST: &str = "Actor.HealthRequest";

/// The (empty) health request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckRequest {}

/// The actor's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckResponse {
    /// Whether the actor considers itself healthy.
    pub healthy: bool,
    /// Why not, or anything else worth saying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
