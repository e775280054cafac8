//! `caplet claims inspect`: show a module's claims, and whether they check out, without judging.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use caplet_claims::human_time::{format_relative, format_utc, format_with_relative, now_unix};
use caplet_claims::{Inspection, caps, inspect};
use clap::Args;

use super::report_failure;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The module.
    pub input: PathBuf,
    /// Print the header, claims and check results as JSON.
    #[arg(long, conflicts_with = "raw")]
    pub json: bool,
    /// Print only the token (the JWT text).
    #[arg(long)]
    pub raw: bool,
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let module = std::fs::read(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let found = match inspect(&module) {
        Ok(found) => found,
        Err(error) => return Ok(report_failure(&args.input, &error, args.json)),
    };
    let now = now_unix();
    if args.raw {
        println!("{}", found.token().as_str());
    } else if args.json {
        println!("{}", inspection_json(&found, now));
    } else {
        print_inspection(&args.input, &found, now);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_inspection(path: &Path, found: &Inspection, now: u64) {
    let claims = found.claims();
    let meta = &claims.metadata;
    let row = |label: &str, value: &str| println!("  {label:<14}{value}");
    println!("{}", path.display());
    row("Name:", meta.name.as_deref().unwrap_or("(none)"));
    row("Issuer:", &format!("{} (account)", claims.issuer));
    row("Subject:", &format!("{} (module)", claims.subject));
    let capabilities: Vec<String> = meta
        .caps
        .iter()
        .flatten()
        .map(|id| match caps::display_name(id) {
            name if name == id => id.clone(),
            name => format!("{name} ({id})"),
        })
        .collect();
    row("Capabilities:", &list_or_none(&capabilities));
    row(
        "Tags:",
        &list_or_none(meta.tags.as_deref().unwrap_or_default()),
    );
    let version = match (&meta.ver, meta.rev) {
        (Some(ver), Some(rev)) => format!("{ver} (rev {rev})"),
        (Some(ver), None) => ver.clone(),
        (None, Some(rev)) => format!("rev {rev}"),
        (None, None) => "(none)".to_string(),
    };
    row("Version:", &version);
    row(
        "Call alias:",
        meta.call_alias.as_deref().unwrap_or("(none)"),
    );
    row("Issued:", &format_with_relative(claims.issued_at, now));
    row(
        "Expires:",
        &claims
            .expires
            .map_or("never".to_string(), |t| format_with_relative(t, now)),
    );
    let nbf = claims
        .not_before
        .map_or("immediately".to_string(), |t| format_with_relative(t, now));
    row("Not before:", &nbf);
    let hash = if found.hash_matches() {
        format!("{} (matches the module)", meta.module_hash)
    } else {
        format!(
            "{} (MISMATCH: the module's hash is {})",
            meta.module_hash,
            found.actual_hash()
        )
    };
    row("Hash:", &hash);
    let signature = match found.check_signature() {
        Ok(()) => "valid for the issuer".to_string(),
        Err(error) => format!("INVALID: {error}"),
    };
    row("Signature:", &signature);
    let validity = match found.check_validity_window(now) {
        Ok(()) => "valid now".to_string(),
        Err(error) => error.to_string(),
    };
    row("Validity:", &validity);
    let revision = claims
        .wascap_revision
        .map_or("none".to_string(), |r| r.to_string());
    row(
        "Token:",
        &format!(
            "`{}` section, wascap revision {revision}, id {}",
            found.section(),
            claims.id
        ),
    );
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

fn inspection_json(found: &Inspection, now: u64) -> serde_json::Value {
    let claims = found.claims();
    serde_json::json!({
        "section": found.section(),
        "header": { "typ": found.token().header().typ, "alg": found.token().header().alg },
        "claims": claims,
        "module_hash": found.actual_hash(),
        "hash_matches": found.hash_matches(),
        "signature_valid": found.check_signature().is_ok(),
        "expired": claims.expires.is_some_and(|exp| now > exp),
        "not_yet_valid": claims.not_before.is_some_and(|nbf| now < nbf),
        "issued": format_utc(claims.issued_at),
        "expires": claims.expires.map(|t| format!("{} ({})", format_utc(t), format_relative(t, now))),
    })
}
