//! `[[actor]]` entries: unique names, module files that exist, instance counts and limits.
//!
//! The module file is looked at (exists, is a file, opens) but not read: signature and size
//! checks belong to the host when it loads the actor, and this keeps validation cheap.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::ErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::host::read_limits;
use crate::limits::{DEFAULT_INSTANCES, MAX_ACTOR_NAME_LEN, MAX_INSTANCES, valid_actor_name};
use crate::model::{LimitOverrides, ManifestActor};
use crate::read::{Reader, Value, quoted};

const ACTOR_KEYS: [&str; 4] = ["name", "path", "instances", "limits"];

/// The actors, and every name declared (valid or not) with its line, for link checks.
pub(crate) struct Actors {
    pub(crate) actors: Vec<ManifestActor>,
    pub(crate) names: BTreeMap<String, usize>,
}

/// Reads every `[[actor]]`; a manifest without one is an error.
pub(crate) fn read_actors(
    r: &mut Reader<'_>,
    value: Option<&Value<'_>>,
    base_dir: &Path,
) -> Actors {
    let mut result = Actors {
        actors: Vec::new(),
        names: BTreeMap::new(),
    };
    let entries = value.map(|v| r.tables(v, "[[actor]]")).unwrap_or_default();
    let none_declared =
        value.is_none_or(|v| matches!(v.get_ref(), DeValue::Array(items) if items.is_empty()));
    if none_declared {
        r.diag.error(
            &value.map_or(0..0, |v| v.span()),
            "no [[actor]] in the manifest: at least one actor is needed",
            Some("add an [[actor]] table with name = \"...\" and path = \"....wasm\" (see docs/manifest.md)".to_string()),
        );
    }
    for (table, header) in entries {
        let line = r.diag.line(&header);
        r.check_keys(table, "[[actor]]", &ACTOR_KEYS);
        let name = read_name(r, table, &header, &mut result.names, line);
        let path = read_path(r, table, &header, base_dir);
        let instances = table.get("instances").and_then(|v| read_instances(r, v));
        let limits = table
            .get("limits")
            .map_or_else(LimitOverrides::default, |v| {
                read_limits(r, v, "[actor.limits]")
            });
        if let (Some(name), Some(path)) = (name, path) {
            result.actors.push(ManifestActor {
                name,
                path,
                instances: instances.unwrap_or(DEFAULT_INSTANCES),
                limits,
                line,
            });
        }
    }
    result
}

fn read_name(
    r: &mut Reader<'_>,
    table: &DeTable<'_>,
    header: &Range<usize>,
    names: &mut BTreeMap<String, usize>,
    line: usize,
) -> Option<String> {
    let value = r.required(table, header, "[[actor]]", "name", "\"my-actor\"")?;
    let name = r.string(value, "`name` in [[actor]]")?;
    let mut valid = true;
    if !valid_actor_name(&name) {
        valid = false;
        r.diag.error(
            &value.span(),
            format!("invalid actor name \"{}\"", quoted(&name)),
            Some(format!(
                "use lowercase letters, digits, `_` and `-`, starting with a letter or digit, at most {MAX_ACTOR_NAME_LEN} characters"
            )),
        );
    }
    if let Some(first) = names.get(&name) {
        valid = false;
        r.diag.error(
            &value.span(),
            format!("duplicate actor name \"{}\"", quoted(&name)),
            Some(format!(
                "the first actor with this name is at line {first}; actor names must be unique"
            )),
        );
    } else {
        names.insert(name.clone(), line);
    }
    valid.then_some(name)
}

fn read_path(
    r: &mut Reader<'_>,
    table: &DeTable<'_>,
    header: &Range<usize>,
    base_dir: &Path,
) -> Option<PathBuf> {
    let value = r.required(table, header, "[[actor]]", "path", "\"my_actor.wasm\"")?;
    let path = r.string(value, "`path` in [[actor]]")?;
    let span = value.span();
    if path.contains("://") {
        r.diag.error(
            &span,
            format!(
                "actor path \"{}\" is a URL or registry reference; only local files are supported for now",
                quoted(&path)
            ),
            Some("download or build the module and set `path` to its .wasm file, relative to the manifest's folder".to_string()),
        );
        return None;
    }
    if path.is_empty() {
        r.diag.error(
            &span,
            "`path` in [[actor]] must not be empty",
            Some("set it to the actor's .wasm file, relative to the manifest's folder".to_string()),
        );
        return None;
    }
    let full = base_dir.join(&path);
    let problem = match std::fs::metadata(&full) {
        Err(e) if e.kind() == ErrorKind::NotFound => Some((
            format!("actor module not found: {}", full.display()),
            format!(
                "build the actor first (scripts/build-guests.sh, or `cargo build --release --target wasm32-unknown-unknown`), or fix `path`: it is relative to {}",
                base_dir.display()
            ),
        )),
        Err(e) => Some((
            format!("cannot read actor module {}: {e}", full.display()),
            "check the path and its permissions".to_string(),
        )),
        Ok(meta) if !meta.is_file() => Some((
            format!("actor module {} is not a file", full.display()),
            "`path` must name the actor's .wasm file, not a folder".to_string(),
        )),
        Ok(_) => File::open(&full).err().map(|e| {
            (
                format!("cannot read actor module {}: {e}", full.display()),
                "check the file's permissions".to_string(),
            )
        }),
    };
    match problem {
        Some((message, hint)) => {
            r.diag.error(&span, message, Some(hint));
            None
        }
        None => Some(full),
    }
}

fn read_instances(r: &mut Reader<'_>, value: &Value<'_>) -> Option<u32> {
    let what = "`instances` in [[actor]]";
    let n = r.integer(value, what)?;
    match u32::try_from(n) {
        Ok(n) if (1..=MAX_INSTANCES).contains(&n) => Some(n),
        _ => {
            r.diag.error(
                &value.span(),
                format!("{what} = {n} is out of range 1..={MAX_INSTANCES}"),
                Some(format!(
                    "keep 1 to {MAX_INSTANCES} warm instances; leave it out for {DEFAULT_INSTANCES}"
                )),
            );
            None
        }
    }
}
