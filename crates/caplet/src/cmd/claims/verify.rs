//! `caplet claims verify`: run every check and exit with the code of the first that fails.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use caplet_claims::human_time::{format_utc, now_unix, parse_instant};
use caplet_claims::{KeyKind, Policy, VerifiedClaims, parse_public_key, verify};
use clap::Args;

use super::report_failure;

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The module.
    pub input: PathBuf,
    /// Trust only modules signed by this account key (A...). Repeatable; none means any issuer.
    #[arg(long = "issuer", value_name = "ACCOUNT_KEY", value_parser = parse_account_key)]
    pub issuers: Vec<String>,
    /// Check the validity window at this time instead of now (same forms as sign --not-before).
    #[arg(long, value_name = "WHEN")]
    pub at: Option<String>,
    /// Print the verified claims, or the failure, as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let module = std::fs::read(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let mut policy = Policy::default().allow_issuers(args.issuers.iter().cloned());
    if let Some(at) = &args.at {
        policy = policy.at(parse_instant(at, now_unix()).context("--at")?);
    }
    match verify(&module, &policy) {
        Ok(claims) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "verified": true, "claims": claims })
                );
            } else {
                print_verified(&args.input, &claims);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(report_failure(&args.input, &error, args.json)),
    }
}

fn print_verified(path: &Path, claims: &VerifiedClaims) {
    let until = claims.expires().map_or("never expires".to_string(), |t| {
        format!("valid until {}", format_utc(t))
    });
    println!(
        "verified {}: {:?} ({}) signed by {}; hash matches; {until}",
        path.display(),
        claims.name().unwrap_or("unnamed"),
        claims.subject(),
        claims.issuer(),
    );
}

fn parse_account_key(text: &str) -> Result<String, String> {
    parse_public_key(text, Some(KeyKind::Account))
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}
