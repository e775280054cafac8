//! `caplet claims`: sign a module, show its claims, and verify them with one exit code per cause.
//!
//! The work happens in `caplet-claims`. The three subcommands live in `claims/`; this file maps
//! each `ClaimsError` to a documented exit code, the single table that `--help`, `verify` and
//! `inspect` share, so scripts and CI can tell a tampered module from an expired one.

use std::path::Path;
use std::process::ExitCode;

use caplet_claims::ClaimsError;
use clap::Subcommand;

mod inspect;
mod sign;
mod verify;

#[derive(Subcommand, Debug)]
pub enum ClaimsCommand {
    /// Sign a module: embed a wascap-compatible token with its hash, name and capabilities.
    Sign(Box<sign::SignArgs>),
    /// Show the claims embedded in a module, and whether they check out.
    #[command(after_help = exit_codes_help("Exit codes (when no token can be read):"))]
    Inspect(inspect::InspectArgs),
    /// Check a module's claims; the exit code says which check failed.
    #[command(after_help = exit_codes_help("Exit codes:"))]
    Verify(verify::VerifyArgs),
}

pub fn run(cmd: ClaimsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ClaimsCommand::Sign(args) => sign::run(*args),
        ClaimsCommand::Inspect(args) => inspect::run(args),
        ClaimsCommand::Verify(args) => verify::run(args),
    }
}

/// Prints what failed, on which file, and what to do; returns the documented exit code.
fn report_failure(path: &Path, error: &ClaimsError, json: bool) -> ExitCode {
    let (code, kind, _) = exit_code_for(error);
    if json {
        let failure = serde_json::json!({
            "verified": false, "exit_code": code, "kind": kind, "error": error.to_string(), "hint": error.hint(),
        });
        println!("{failure}");
    }
    eprintln!("error: {}: {error}", path.display());
    eprintln!("hint: {}", error.hint());
    ExitCode::from(code)
}

/// Every exit code of `verify` (and of `inspect` when no token can be read):
/// (code, kind, meaning). The single source for `--help` and `report_failure`.
const EXIT_CODES: [(u8, &str, &str); 14] = [
    (
        0,
        "verified",
        "signed token present, signature valid, hash matches, within [nbf, exp], issuer allowed",
    ),
    (1, "error", "the file could not be read, or another error"),
    (2, "usage", "invalid command-line arguments"),
    (10, "unsigned", "no `wasmcloud_jwt` or `jwt` custom section"),
    (11, "multiple_tokens", "more than one claims section"),
    (12, "empty_token", "the claims section is empty"),
    (
        13,
        "malformed_token",
        "the token is not a readable wascap JWT",
    ),
    (
        14,
        "invalid_key_claim",
        "`iss` is not an account key or `sub` not a module key",
    ),
    (
        15,
        "invalid_signature",
        "the signature is not valid for the issuer (the token was altered)",
    ),
    (16, "hash_mismatch", "the module changed after signing"),
    (17, "expired", "the token has expired"),
    (
        18,
        "not_yet_valid",
        "the token's not-before time is in the future",
    ),
    (
        19,
        "issuer_not_allowed",
        "the issuer is not one of the --issuer keys",
    ),
    (
        20,
        "malformed_module",
        "the file is not a complete Wasm binary",
    ),
];

fn exit_code_for(error: &ClaimsError) -> (u8, &'static str, &'static str) {
    let code = match error {
        ClaimsError::Unsigned => 10,
        ClaimsError::MultipleTokens { .. } => 11,
        ClaimsError::EmptyToken { .. } => 12,
        ClaimsError::MalformedToken { .. } => 13,
        ClaimsError::InvalidKeyClaim { .. } => 14,
        ClaimsError::InvalidSignature { .. } => 15,
        ClaimsError::HashMismatch { .. } => 16,
        ClaimsError::Expired { .. } => 17,
        ClaimsError::NotYetValid { .. } => 18,
        ClaimsError::IssuerNotAllowed { .. } => 19,
        ClaimsError::MalformedModule(_) => 20,
    };
    EXIT_CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .copied()
        .unwrap_or((1, "error", "another error"))
}

fn exit_codes_help(title: &str) -> String {
    let mut help = format!("{title}\n");
    for (code, kind, meaning) in EXIT_CODES {
        help.push_str(&format!("  {code:>3}  {kind:<19} {meaning}\n"));
    }
    help
}

#[cfg(test)]
mod tests {
    use super::*;
    use caplet_claims::{TokenSection, WasmError};

    #[test]
    fn every_error_has_a_distinct_listed_exit_code() {
        let errors = [
            ClaimsError::Unsigned,
            ClaimsError::MultipleTokens { count: 2 },
            ClaimsError::EmptyToken {
                section: TokenSection::WasmcloudJwt,
            },
            ClaimsError::MalformedToken {
                section: TokenSection::LegacyJwt,
                error: caplet_claims::TokenError::NotUtf8,
            },
            ClaimsError::InvalidKeyClaim {
                claim: caplet_claims::KeyClaim::Issuer,
                value: String::new(),
                reason: String::new(),
            },
            ClaimsError::InvalidSignature {
                issuer: String::new(),
            },
            ClaimsError::HashMismatch {
                claimed: String::new(),
                actual: String::new(),
            },
            ClaimsError::Expired {
                expires_at: 0,
                now: 1,
            },
            ClaimsError::NotYetValid {
                not_before: 1,
                now: 0,
            },
            ClaimsError::IssuerNotAllowed {
                issuer: String::new(),
                allowed: 1,
            },
            ClaimsError::MalformedModule(WasmError::NotWasm),
        ];
        let mut codes: Vec<u8> = errors.iter().map(|e| exit_code_for(e).0).collect();
        assert!(codes.iter().all(|c| *c >= 10));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
        let help = exit_codes_help("Exit codes:");
        for code in codes {
            assert!(help.contains(&format!("  {code:>3}  ")));
        }
    }
}
