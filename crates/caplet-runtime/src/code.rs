//! The code of a module, apart from the metadata that does not change what is compiled.
//!
//! A signed actor carries its claims in a custom section, and every re-signing (a new `rev`, a
//! new expiry) changes the module's bytes without changing one instruction. The compile cache is
//! keyed by the bytes that reach Cranelift, so the runtime compiles the module with those custom
//! sections left out: a re-signed module, or a swap back to a version seen before, loads its
//! compiled code from the cache in microseconds instead of compiling it again (up to a second of
//! CPU taken from the calls being served). The `name` section and DWARF (`.debug_*`) stay, because
//! they name functions and lines in traps.

use std::borrow::Cow;

/// Section id of custom sections (the Wasm binary format, §5.5.3).
const CUSTOM_SECTION_ID: u8 = 0;
/// Bytes of the magic number and version that open every module.
const PREAMBLE_BYTES: usize = 8;

/// `bytes` without the custom sections that cannot affect compilation, or `bytes` itself when
/// there are none or the framing is malformed (compiling the original then reports the error).
pub(crate) fn compiled_code(bytes: &[u8]) -> Cow<'_, [u8]> {
    match strip(bytes) {
        Some(stripped) => Cow::Owned(stripped),
        None => Cow::Borrowed(bytes),
    }
}

/// `None` when nothing is dropped or the section framing does not parse.
fn strip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut kept = Vec::with_capacity(bytes.len());
    kept.extend_from_slice(bytes.get(..PREAMBLE_BYTES)?);
    let mut rest = bytes.get(PREAMBLE_BYTES..)?;
    let mut dropped = false;
    while let Some((&id, after_id)) = rest.split_first() {
        let (size, size_len) = leb128_u32(after_id)?;
        let end = size_len.checked_add(usize::try_from(size).ok()?)?;
        let payload = after_id.get(size_len..end)?;
        let section_len = end.checked_add(1)?;
        if id == CUSTOM_SECTION_ID && !affects_code(payload)? {
            dropped = true;
        } else {
            kept.extend_from_slice(rest.get(..section_len)?);
        }
        rest = rest.get(section_len..)?;
    }
    dropped.then_some(kept)
}

/// Whether a custom section must stay: `name` and DWARF sections, which traps and backtraces
/// read. `None` when the section's name does not parse.
fn affects_code(payload: &[u8]) -> Option<bool> {
    let (len, len_len) = leb128_u32(payload)?;
    let end = len_len.checked_add(usize::try_from(len).ok()?)?;
    let name = payload.get(len_len..end)?;
    // A name that is not UTF-8 makes the module invalid: keep everything, let compilation say so.
    std::str::from_utf8(name).ok()?;
    Some(name == b"name" || name.starts_with(b".debug_"))
}

/// Decodes an unsigned LEB128 u32 exactly as the Wasm spec does (at most 5 bytes, no bits beyond
/// 32): the value and the bytes it took. Anything a validator would refuse is `None`, so a
/// malformed module is never "repaired" into a valid one by stripping.
fn leb128_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u32 = 0;
    for (index, &byte) in bytes.iter().enumerate().take(5) {
        let bits = u32::from(byte & 0x7f);
        if index == 4 && (byte & 0x80 != 0 || bits > 0x0f) {
            return None;
        }
        let shift = u32::try_from(index * 7).ok()?;
        value |= bits.checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some((value, index + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(id: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![id, u8::try_from(payload.len()).unwrap()];
        out.extend_from_slice(payload);
        out
    }

    fn custom(name: &str, data: &[u8]) -> Vec<u8> {
        let mut payload = vec![u8::try_from(name.len()).unwrap()];
        payload.extend_from_slice(name.as_bytes());
        payload.extend_from_slice(data);
        section(CUSTOM_SECTION_ID, &payload)
    }

    fn module(sections: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"\0asm\x01\0\0\0".to_vec();
        for s in sections {
            out.extend_from_slice(s);
        }
        out
    }

    #[test]
    fn claims_and_other_metadata_are_left_out_name_and_dwarf_stay() {
        let types = section(1, &[0]);
        let bytes = module(&[
            types.clone(),
            custom("jwt", b"eyJ0eXAi.claims.sig"),
            custom("name", b"\x00\x01"),
            custom(".debug_info", b"dwarf"),
            custom("producers", b"rustc"),
        ]);
        let code = compiled_code(&bytes);
        let expected = module(&[
            types,
            custom("name", b"\x00\x01"),
            custom(".debug_info", b"dwarf"),
        ]);
        assert_eq!(code.as_ref(), expected.as_slice());
    }

    #[test]
    fn two_signings_of_the_same_code_compile_the_same_bytes() {
        let code = section(1, &[0]);
        let first = module(&[code.clone(), custom("jwt", b"rev-1")]);
        let second = module(&[code, custom("jwt", b"rev-2, a longer token")]);
        assert_ne!(first, second);
        assert_eq!(compiled_code(&first), compiled_code(&second));
    }

    #[test]
    fn modules_without_droppable_sections_or_with_bad_framing_are_kept_as_they_are() {
        let plain = module(&[section(1, &[0])]);
        assert!(matches!(compiled_code(&plain), Cow::Borrowed(_)));
        let mut truncated = module(&[custom("jwt", b"token")]);
        truncated.pop();
        assert!(matches!(compiled_code(&truncated), Cow::Borrowed(_)));
        assert!(matches!(compiled_code(b"\0as"), Cow::Borrowed(_)));
        let overlong_size = [
            b"\0asm\x01\0\0\0".as_slice(),
            &[0, 0xff, 0xff, 0xff, 0xff, 0xff],
        ]
        .concat();
        assert!(matches!(compiled_code(&overlong_size), Cow::Borrowed(_)));
        // Bits beyond 32 in the fifth byte: a validator refuses it, so nothing is stripped.
        let wide_size = [
            b"\0asm\x01\0\0\0".as_slice(),
            &[0, 0x83, 0x80, 0x80, 0x80, 0x10],
        ]
        .concat();
        assert!(matches!(compiled_code(&wide_size), Cow::Borrowed(_)));
        let bad_name = module(&[section(CUSTOM_SECTION_ID, &[2, 0xff, 0xfe, 1])]);
        assert!(matches!(compiled_code(&bad_name), Cow::Borrowed(_)));
        assert_eq!(
            leb128_u32(&[0xff, 0xff, 0xff, 0xff, 0x0f]),
            Some((u32::MAX, 5))
        );
        assert_eq!(leb128_u32(&[0x80, 0x80, 0x00]), Some((0, 3)));
    }
}
