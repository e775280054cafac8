//! The watch → rebuild → sign → hot-swap loop of `caplet dev`, and the source snapshots it
//! compares.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use caplet_claims::{ActorSpec, KeyPair};
use caplet_host::{Host, UpdateOptions};

use super::build::Builder;

/// Size and modification time of every file under the source folder (but `target/` and
/// hidden entries).
type Snapshot = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

fn snapshot(dir: &Path) -> Snapshot {
    let mut files = Snapshot::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let path = entry.path();
            if meta.is_dir() {
                pending.push(path);
            } else {
                files.insert(path, (meta.len(), meta.modified().ok()));
            }
        }
    }
    files
}

/// The first file that differs between two snapshots, relative to `dir`.
fn first_change(dir: &Path, before: &Snapshot, after: &Snapshot) -> Option<String> {
    let changed = after
        .iter()
        .find(|(path, stamp)| before.get(*path) != Some(*stamp))
        .map(|(path, _)| path)
        .or_else(|| before.keys().find(|path| !after.contains_key(*path)))?;
    Some(
        changed
            .strip_prefix(dir)
            .unwrap_or(changed)
            .display()
            .to_string(),
    )
}

/// Removes the watcher's scratch folder when the watcher stops (it is aborted at Ctrl-C).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The watch → rebuild → sign → swap loop.
pub(super) struct Watcher {
    pub(super) host: Host,
    pub(super) actor: String,
    pub(super) source: PathBuf,
    pub(super) builder: Builder,
    pub(super) account: KeyPair,
    pub(super) module_key: KeyPair,
    pub(super) poll: Duration,
    /// The module last swapped in, before signing: an identical build is not swapped again.
    pub(super) last: Option<Vec<u8>>,
}

impl Watcher {
    pub(super) async fn run(mut self) {
        // One scratch folder per watcher: each removes its own when it stops.
        let work =
            std::env::temp_dir().join(format!("caplet-dev-{}-{}", std::process::id(), self.actor));
        if let Err(error) = std::fs::create_dir_all(&work) {
            eprintln!(
                "caplet dev: error: cannot create {}: {error}; not watching",
                work.display()
            );
            return;
        }
        let _cleanup = RemoveOnDrop(work.clone());
        let out = work.join(format!("{}.wasm", self.actor));
        let mut seen = self.scan().await;
        eprintln!("caplet dev: initial build of `{}`", self.actor);
        self.rebuild(&out).await;
        loop {
            tokio::time::sleep(self.poll).await;
            let now = self.scan().await;
            let Some(changed) = first_change(&self.source, &seen, &now) else {
                continue;
            };
            eprintln!("caplet dev: {changed} changed; rebuilding `{}`", self.actor);
            self.rebuild(&out).await;
            // Edits made during the build are seen at the next scan.
            seen = now;
        }
    }

    async fn scan(&self) -> Snapshot {
        let dir = self.source.clone();
        tokio::task::spawn_blocking(move || snapshot(&dir))
            .await
            .unwrap_or_default()
    }

    /// One build, signature and swap; prints what happened. Failures leave the running version.
    async fn rebuild(&mut self, out: &Path) {
        let started = Instant::now();
        let Some(running) = self
            .host
            .actors()
            .into_iter()
            .find(|status| *status.actor.name == *self.actor)
        else {
            eprintln!(
                "caplet dev: actor `{}` is not running (stopped through the control API?); start it again to resume swapping",
                self.actor
            );
            return;
        };
        let serving = running.revision.map_or_else(
            || "the running version".to_string(),
            |rev| format!("rev {rev}"),
        );
        let bytes = match self.builder.build(&self.source, out).await {
            Ok(bytes) => bytes,
            Err(output) => {
                eprintln!(
                    "caplet dev: build failed after {:.1} s; `{}` {serving} keeps serving\n{output}",
                    started.elapsed().as_secs_f64(),
                    self.actor
                );
                return;
            }
        };
        let built = started.elapsed();
        if self.last.as_ref() == Some(&bytes) {
            eprintln!(
                "caplet dev: rebuilt in {:.1} s; the module did not change, nothing to swap (`{}` {serving})",
                built.as_secs_f64(),
                self.actor
            );
            return;
        }
        let rev = running.revision.unwrap_or(0).saturating_add(1);
        let mut spec = ActorSpec::new(&self.actor);
        // The running claims' capabilities; an unsigned actor gets those of its links.
        spec.caps = running.capabilities.clone().unwrap_or_else(|| {
            let mut caps: Vec<String> = self
                .host
                .links()
                .into_iter()
                .filter(|link| *link.actor.name == *self.actor)
                .map(|link| link.contract_id)
                .collect();
            caps.sort();
            caps.dedup();
            caps
        });
        spec.rev = Some(rev);
        spec.ver = running.version.clone();
        spec.tags = vec!["dev".to_string()];
        let signed = match caplet_claims::sign(&bytes, &spec, &self.account, &self.module_key) {
            Ok(signed) => signed,
            Err(error) => {
                eprintln!(
                    "caplet dev: rebuilt in {:.1} s but cannot sign the module: {error}; `{}` {serving} keeps serving",
                    built.as_secs_f64(),
                    self.actor
                );
                return;
            }
        };
        let options = UpdateOptions {
            // The first swap replaces the manifest's module key with the development key.
            force_new_identity: true,
            ..UpdateOptions::default()
        };
        match self
            .host
            .update_actor(&self.actor, signed.module, None, options)
            .await
        {
            Ok(report) => {
                self.last = Some(bytes);
                let identity = if report.old_id == report.new_id {
                    String::new()
                } else {
                    format!(
                        "; now signed by the development key (identity {})",
                        report.new_id
                    )
                };
                eprintln!(
                    "caplet dev: rebuilt in {:.1} s; swapped `{}` to rev {rev} (module {}){identity}",
                    built.as_secs_f64(),
                    self.actor,
                    report.new_hash.get(..12).unwrap_or(&report.new_hash)
                );
                for warning in report.warnings {
                    eprintln!("caplet dev: warning: {warning}");
                }
            }
            Err(error) => eprintln!(
                "caplet dev: rebuilt in {:.1} s but the update was refused: {error}; `{}` {serving} keeps serving",
                built.as_secs_f64(),
                self.actor
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_see_edits_additions_and_removals_but_not_target() {
        let dir = std::env::temp_dir().join(format!("caplet-dev-snap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join("target")).unwrap();
        std::fs::write(dir.join("src/lib.rs"), "a").unwrap();
        let before = snapshot(&dir);
        std::fs::write(dir.join("target/x"), "ignored").unwrap();
        assert_eq!(first_change(&dir, &before, &snapshot(&dir)), None);
        std::fs::write(dir.join("src/lib.rs"), "ab").unwrap();
        assert_eq!(
            first_change(&dir, &before, &snapshot(&dir)).as_deref(),
            Some("src/lib.rs")
        );
        std::fs::remove_file(dir.join("src/lib.rs")).unwrap();
        assert_eq!(
            first_change(&dir, &before, &snapshot(&dir)).as_deref(),
            Some("src/lib.rs")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
