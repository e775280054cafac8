//! The routes of one listener: path prefix → actor. Tables are immutable and swapped whole
//! (ArcSwap), so a request finds its route with one atomic load and no lock, and a bind or
//! unbind never waits for in-flight requests.

use std::sync::Arc;

use caplet_provider_api::ActorRef;

/// One link served by a listener.
///
/// Aligned to 128 bytes: every request clones and drops its `Arc` from whichever core runs it,
/// and this keeps the fields each request reads off the cache line that reference count lives
/// on.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Route {
    /// The actor that receives the requests.
    pub actor: ActorRef,
    /// The link name, with `actor.id` the route's owner.
    pub link_name: String,
    /// Normalised prefix: `""` (root) or `/a/b`.
    pub prefix: Arc<str>,
    /// Request bodies above this many bytes get 413.
    pub max_body_bytes: usize,
}

impl Route {
    pub(crate) fn is_owned_by(&self, actor: &ActorRef, link_name: &str) -> bool {
        self.actor.id == actor.id && self.link_name == link_name
    }
}

/// Routes, longest prefix first.
#[derive(Debug, Default)]
pub(crate) struct RouteTable {
    routes: Vec<Arc<Route>>,
}

impl RouteTable {
    /// The route for `path` (longest matching prefix) and the path the actor sees.
    pub(crate) fn find<'p>(&self, path: &'p str) -> Option<(&Arc<Route>, &'p str)> {
        self.routes
            .iter()
            .find_map(|route| strip(path, &route.prefix).map(|rest| (route, rest)))
    }

    /// The route with exactly this prefix.
    pub(crate) fn with_prefix(&self, prefix: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|route| &*route.prefix == prefix)
    }

    /// A copy with `route` added, replacing any route with the same prefix.
    pub(crate) fn with(&self, route: Route) -> Self {
        let mut routes: Vec<Arc<Route>> = self
            .routes
            .iter()
            .filter(|r| r.prefix != route.prefix)
            .cloned()
            .collect();
        routes.push(Arc::new(route));
        routes.sort_by_key(|route| std::cmp::Reverse(route.prefix.len()));
        Self { routes }
    }

    /// A copy without the route of (actor, link name) at `prefix`.
    pub(crate) fn without(&self, actor: &ActorRef, link_name: &str, prefix: &str) -> Self {
        let routes = self
            .routes
            .iter()
            .filter(|r| !(r.is_owned_by(actor, link_name) && &*r.prefix == prefix))
            .cloned()
            .collect();
        Self { routes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// The rest of `path` when `prefix` matches it on a segment boundary: `/api` matches `/api`
/// (→ `/`) and `/api/x` (→ `/x`) but not `/apix`. The empty prefix matches every path.
fn strip<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some("/")
    } else if rest.starts_with('/') {
        Some(rest)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, prefix: &str) -> Route {
        Route {
            actor: ActorRef {
                id: name.into(),
                name: name.into(),
            },
            link_name: "default".into(),
            prefix: prefix.into(),
            max_body_bytes: 1,
        }
    }

    #[test]
    fn longest_prefix_wins_on_segment_boundaries() {
        let table = RouteTable::default()
            .with(route("root", ""))
            .with(route("api", "/api"))
            .with(route("v1", "/api/v1"));
        let find = |path| {
            table
                .find(path)
                .map(|(r, rest)| (r.actor.name.to_string(), rest))
        };
        assert_eq!(find("/api/v1/x"), Some(("v1".into(), "/x")));
        assert_eq!(find("/api/v1"), Some(("v1".into(), "/")));
        assert_eq!(find("/api/v2"), Some(("api".into(), "/v2")));
        assert_eq!(find("/apix"), Some(("root".into(), "/apix")));
        let table = table.without(&route("root", "").actor, "default", "");
        assert!(table.find("/other").is_none());
        assert!(table.with_prefix("/api").is_some());
        assert!(!table.is_empty());
    }
}
