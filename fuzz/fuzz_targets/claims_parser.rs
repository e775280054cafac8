//! Fuzzes everything in `caplet-claims` that reads untrusted bytes: the section walker, the
//! token section lookup, the JWT parser and the whole `verify` path. The first input byte picks
//! how the rest is framed, so the fuzzer reaches the JSON and signature code without first having
//! to discover the Wasm header, a section name and base64 by chance. Nothing may panic, and
//! stripping token sections must be idempotent and undo embedding.

#![no_main]

use caplet_claims::{Policy, Token, embed_token, inspect, strip_tokens, verbatim_hash, verify};
use data_encoding::BASE64URL_NOPAD;
use libfuzzer_sys::fuzz_target;

const HEADER: &[u8] = b"\0asm\x01\0\0\0";
const WASCAP_HEADER_B64: &str = "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 5 {
        // Raw bytes as a whole module.
        0 => check_module(rest),
        // Raw bytes as the sections of a module with a valid header.
        1 => check_module(&[HEADER, rest].concat()),
        // Raw bytes as a token, parsed directly and inside a `wasmcloud_jwt` / `jwt` section.
        2 => {
            let _ = Token::parse(rest);
            check_module(&with_custom_section("wasmcloud_jwt", rest));
            check_module(&with_custom_section("jwt", rest));
        }
        // Raw bytes as the claims JSON of a token with a valid header and a zero signature.
        3 => {
            let jwt = format!(
                "{WASCAP_HEADER_B64}.{}.{}",
                BASE64URL_NOPAD.encode(rest),
                BASE64URL_NOPAD.encode(&[0u8; 64])
            );
            check_module(&with_custom_section("wasmcloud_jwt", jwt.as_bytes()));
        }
        // Raw bytes as the header JSON.
        _ => {
            let jwt = format!(
                "{}.e30.{}",
                BASE64URL_NOPAD.encode(rest),
                BASE64URL_NOPAD.encode(&[0u8; 64])
            );
            let _ = Token::parse(jwt.as_bytes());
        }
    }
});

fn check_module(module: &[u8]) {
    let _ = verify(module, &Policy::default());
    let _ = inspect(module);
    let _ = verbatim_hash(module);
    if let Ok(stripped) = strip_tokens(module) {
        // Stripping is idempotent, and embedding then stripping gives the stripped module back.
        assert_eq!(strip_tokens(&stripped).ok().as_ref(), Some(&stripped));
        let embedded = embed_token(module, "a.b.c").ok();
        let restripped = embedded.as_deref().and_then(|m| strip_tokens(m).ok());
        assert_eq!(restripped.as_ref(), Some(&stripped));
    }
}

fn with_custom_section(name: &str, data: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(data.len() + name.len() + 1);
    payload.push(name.len() as u8);
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    let mut module = HEADER.to_vec();
    module.push(0);
    let mut size = payload.len();
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        if size == 0 {
            module.push(byte);
            break;
        }
        module.push(byte | 0x80);
    }
    module.extend_from_slice(&payload);
    module
}
