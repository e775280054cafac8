//! Helpers shared by the claims integration tests: a small real module and raw section writers.

#![allow(dead_code)]

use caplet_claims::{ActorSpec, KeyKind, KeyPair, SignedModule, generate, sign};

/// A small but complete core module: memory, an export, code and data.
pub fn module() -> Vec<u8> {
    wat::parse_str(
        r#"(module
             (memory (export "memory") 1)
             (func (export "answer") (result i32) i32.const 42)
             (data (i32.const 0) "hello"))"#,
    )
    .unwrap()
}

/// Appends a custom section `name` with `data`, sizes encoded minimally.
pub fn append_custom(module: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut payload = Vec::new();
    leb(&mut payload, name.len());
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    module.push(0);
    leb(module, payload.len());
    module.extend_from_slice(&payload);
}

pub fn leb(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Rewrites the size of the module's first section as a padded 5-byte LEB128, as some linkers do.
pub fn pad_first_section_size(module: &[u8]) -> Vec<u8> {
    let size = module[9];
    assert!(size < 0x80, "test module's first section must be small");
    let mut out = module[..9].to_vec();
    out.extend_from_slice(&[size | 0x80, 0x80, 0x80, 0x80, 0x00]);
    out.extend_from_slice(&module[10..]);
    out
}

pub struct Signer {
    pub account: KeyPair,
    pub module_key: KeyPair,
}

impl Signer {
    pub fn new() -> Self {
        Signer {
            account: generate(KeyKind::Account),
            module_key: generate(KeyKind::Module),
        }
    }

    pub fn sign(&self, module: &[u8], spec: &ActorSpec) -> SignedModule {
        sign(module, spec, &self.account, &self.module_key).unwrap()
    }
}

pub fn now() -> u64 {
    caplet_claims::human_time::now_unix()
}
