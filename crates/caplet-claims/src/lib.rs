//! Signed actors: nkeys identities, wascap-compatible claims, and their home in a Wasm module.
//!
//! An account (`A...`) signs a JWT that names a module (`M...`), its hash, and the capabilities
//! it may use; the token travels inside the module in a `wasmcloud_jwt` custom section. The
//! format is wascap's (see `docs/claims.md`), so modules signed by wascap or wash verify here and
//! the other way round. Everything that reads untrusted bytes returns an error, never panics.
//!
//! ```no_run
//! use caplet_claims::{ActorSpec, KeyKind, Policy, caps, generate, sign, verify};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let account = generate(KeyKind::Account);
//! let module_key = generate(KeyKind::Module);
//! let module = std::fs::read("hello.wasm")?;
//! let mut spec = ActorSpec::new("Hello");
//! spec.caps.push(caps::HTTP_SERVER.to_string());
//! let signed = sign(&module, &spec, &account, &module_key)?;
//! let policy = Policy::default().allow_issuers([account.public_key()]);
//! let claims = verify(&signed.module, &policy)?;
//! assert!(claims.has_capability(caps::HTTP_SERVER));
//! # Ok(()) }
//! ```

pub use caplet_wire::contracts as caps;
mod embed;
mod error;
pub mod human_time;
mod jwt;
mod key_store;
mod keys;
mod section;
mod sign;
mod token_id;
mod verify;

pub use embed::{
    ModuleScan, SECTION_LEGACY_JWT, SECTION_WASMCLOUD_JWT, TokenSection, embed_token, module_hash,
    scan, strip_tokens, verbatim_hash,
};
pub use error::{ClaimsError, KeyClaim, Segment, TokenError};
pub use jwt::{
    ActorMetadata, Claims, HEADER_ALGORITHM, HEADER_TYPE, Header, MAX_TOKEN_BYTES, Token,
    WASCAP_REVISION,
};
pub use key_store::{
    DEFAULT_KEYS_SUBDIR, KeyStore, SEED_FILE_EXTENSION, is_readable_by_others, read_seed_file,
    write_seed_file,
};
pub use keys::{KeyError, KeyKind, KeyPair, generate, kind_of, parse_public_key, parse_seed};
pub use section::{MAX_MODULE_BYTES, WasmError};
pub use sign::{ActorSpec, SignError, SignedModule, normalize_call_alias, sign};
pub use token_id::new_token_id;
pub use verify::{Inspection, Policy, VerifiedClaims, inspect, verify};
