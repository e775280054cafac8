//! In-process Rego policies, evaluated with `regorus`: no server to run, and a broken policy
//! fails at start (`caplet up` pre-flight) instead of at the first actor.
//!
//! The policy file is parsed once; each decision evaluates a clone of the parsed engine (the
//! clone shares the compiled modules) on a blocking thread, bounded by regorus' execution timer.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use caplet_provider_api::BoxFuture;
use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{Engine, Value as RegoValue};
use serde_json::Value;

use super::engine::{DEFAULT_POLICY_TIMEOUT, Decision, PolicyEngine};

/// The rule a Rego policy is asked when no query is configured.
///
/// Default: `data.caplet.allow` (a boolean). The reason is read from the sibling rule
/// `reason` (`data.caplet.reason`) when it is defined. Change it with `[host.policy] query`.
pub const DEFAULT_REGO_QUERY: &str = "data.caplet.allow";

/// Largest Rego policy file read, in bytes.
///
/// Default: 1 MiB. A larger file is refused at load with an error naming the limit. Fixed at
/// build time.
pub const MAX_REGO_POLICY_BYTES: u64 = 1 << 20;

/// A compiled Rego policy.
pub struct RegoPolicy {
    engine: Arc<Engine>,
    file: PathBuf,
    query: String,
    reason_rule: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for RegoPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoPolicy")
            .field("file", &self.file)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

impl RegoPolicy {
    /// Loads and parses the policy at `file`; `query` is a rule path such as
    /// [`DEFAULT_REGO_QUERY`]. The error says what is wrong and where.
    pub fn load(file: &Path, query: Option<&str>) -> Result<Self, String> {
        let size = std::fs::metadata(file)
            .map_err(|e| format!("cannot read the Rego policy {}: {e}", file.display()))?
            .len();
        if size > MAX_REGO_POLICY_BYTES {
            return Err(format!(
                "the Rego policy {} is {size} bytes, over the limit of {MAX_REGO_POLICY_BYTES}",
                file.display()
            ));
        }
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read the Rego policy {}: {e}", file.display()))?;
        Self::from_source(&file.display().to_string(), &text, query)
    }

    /// Parses policy `text` (named `name` in errors).
    pub fn from_source(name: &str, text: &str, query: Option<&str>) -> Result<Self, String> {
        let query = query.unwrap_or(DEFAULT_REGO_QUERY).trim().to_string();
        if !query.starts_with("data.") || query.len() <= "data.".len() {
            return Err(format!(
                "the Rego query `{query}` is not a rule path; write e.g. `{DEFAULT_REGO_QUERY}`"
            ));
        }
        let mut engine = Engine::new();
        engine
            .add_policy(name.to_string(), text.to_string())
            .map_err(|e| format!("the Rego policy {name} does not compile: {e}"))?;
        let reason_rule = query
            .rsplit_once('.')
            .map(|(package, _)| format!("{package}.reason"))
            .filter(|rule| *rule != query);
        let policy = Self {
            engine: Arc::new(engine),
            file: PathBuf::from(name),
            query,
            reason_rule,
            timeout: DEFAULT_POLICY_TIMEOUT,
        };
        // Evaluate once on an empty input so a query naming no rule fails now, not per actor.
        policy
            .decide(&Value::Object(serde_json::Map::new()))
            .map_err(|e| format!("the Rego policy {name}: {e}"))?;
        Ok(policy)
    }

    /// The same policy with another evaluation time limit (see [`DEFAULT_POLICY_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// One synchronous decision.
    fn decide(&self, input: &Value) -> Result<Decision, String> {
        let mut engine = Engine::clone(&self.engine);
        engine.set_execution_timer_config(ExecutionTimerConfig {
            limit: self.timeout,
            check_interval: NonZeroU32::MIN,
        });
        let input = RegoValue::from_json_str(&input.to_string())
            .map_err(|e| format!("the input is not valid for Rego: {e}"))?;
        engine.set_input(input);
        let allow = engine
            .eval_rule(self.query.clone())
            .map_err(|e| format!("evaluating `{}` failed: {e}", self.query))?;
        let allow = match allow {
            RegoValue::Bool(allow) => allow,
            // An undefined rule is "no": Rego's `default allow := false` idiom, written or not.
            RegoValue::Undefined => false,
            other => {
                return Err(format!(
                    "`{}` is not a boolean but {other}; the rule must be true or false",
                    self.query
                ));
            }
        };
        let reason =
            self.reason_rule
                .as_ref()
                .and_then(|rule| match engine.eval_rule(rule.clone()) {
                    Ok(RegoValue::String(text)) => Some(text.to_string()),
                    _ => None,
                });
        Ok(Decision { allow, reason })
    }
}

impl PolicyEngine for RegoPolicy {
    fn evaluate<'a>(&'a self, input: &'a Value) -> BoxFuture<'a, Result<Decision, String>> {
        Box::pin(async move {
            let policy = Self {
                engine: self.engine.clone(),
                file: self.file.clone(),
                query: self.query.clone(),
                reason_rule: self.reason_rule.clone(),
                timeout: self.timeout,
            };
            let input = input.clone();
            tokio::task::spawn_blocking(move || policy.decide(&input))
                .await
                .map_err(|e| format!("the Rego evaluation task failed: {e}"))?
        })
    }

    fn describe(&self) -> String {
        format!("Rego policy {} ({})", self.file.display(), self.query)
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }
}
