//! A small walker over the top-level sections of a Wasm binary that never panics.
//!
//! Claims need only the section framing (id byte, LEB128 size, payload) and the names of custom
//! sections, so this reads exactly that and validates nothing else. Section contents are never
//! interpreted, which keeps the parser small enough to fuzz exhaustively and keeps wasmparser
//! out of this crate. Every read is bounds-checked; bad input becomes a [`WasmError`] that names
//! the byte offset.

/// Largest module this crate will parse, hash or sign.
///
/// Default: 256 MiB (bytes). Fixed; it is deliberately above the host's own load limit
/// (`caplet-runtime`'s `DEFAULT_MAX_MODULE_BYTES`, 50 MiB), so that limit is the one operators
/// meet. When hit: [`WasmError::TooLarge`] before any byte is read.
pub const MAX_MODULE_BYTES: usize = 256 << 20;

/// The four bytes every Wasm binary starts with.
pub const WASM_MAGIC: [u8; 4] = *b"\0asm";
/// Version field of a core module.
const CORE_MODULE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];
/// Version and layer field of a component (component-model layer 1).
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
/// Length of magic plus version.
pub const HEADER_LEN: usize = 8;
/// Section id of custom sections.
pub const CUSTOM_SECTION_ID: u8 = 0;
/// A LEB128-encoded `u32` takes at most this many bytes.
const MAX_LEB_U32_BYTES: usize = 5;

/// Why a byte string is not a well-framed Wasm binary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WasmError {
    /// The input is larger than [`MAX_MODULE_BYTES`].
    #[error("the module is {size} bytes, over the {max}-byte limit for claims processing")]
    TooLarge { size: usize, max: usize },
    /// The input does not start with `\0asm`.
    #[error("the file does not start with the Wasm magic bytes `\\0asm` (is it a .wat text file?)")]
    NotWasm,
    /// The version field is neither a core module's nor a component's.
    #[error(
        "unsupported Wasm binary version {version:02x?}: expected a core module (01 00 00 00) or a component (0d 00 01 00)"
    )]
    UnsupportedVersion { version: [u8; 4] },
    /// The input ends before a header, size or payload it declares.
    #[error(
        "the module ends early: at byte {offset}, {needed} more bytes are needed but {available} remain"
    )]
    Truncated {
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// A section size is not a valid LEB128 `u32`.
    #[error("invalid LEB128 size at byte {offset}")]
    BadLeb { offset: usize },
    /// A custom section's name length runs past the end of the section.
    #[error("the custom section at byte {offset} declares a name longer than the section itself")]
    BadCustomName { offset: usize },
}

/// One top-level section, borrowed from the module bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section<'a> {
    /// The section id byte.
    pub id: u8,
    /// Offset of the id byte in the module.
    pub offset: usize,
    /// The whole section as it appears in the module: id, size, payload.
    pub raw: &'a [u8],
    /// The payload, without id and size.
    pub payload: &'a [u8],
}

/// The parts of a custom section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomSection<'a> {
    /// The name bytes (UTF-8 by the spec; compared as bytes here).
    pub name: &'a [u8],
    /// Everything after the name.
    pub data: &'a [u8],
}

impl<'a> Section<'a> {
    /// The name and data of a custom section, `None` for other sections.
    pub fn as_custom(&self) -> Result<Option<CustomSection<'a>>, WasmError> {
        if self.id != CUSTOM_SECTION_ID {
            return Ok(None);
        }
        let bad_name = WasmError::BadCustomName {
            offset: self.offset,
        };
        let (name_len, leb_len) = read_leb_u32(self.payload, 0).map_err(|_| bad_name.clone())?;
        let name_end = usize::try_from(name_len)
            .ok()
            .and_then(|len| len.checked_add(leb_len))
            .ok_or_else(|| bad_name.clone())?;
        let name = self
            .payload
            .get(leb_len..name_end)
            .ok_or_else(|| bad_name.clone())?;
        let data = self.payload.get(name_end..).ok_or(bad_name)?;
        Ok(Some(CustomSection { name, data }))
    }

    /// True when the size field of this section is not the shortest LEB128 for its payload,
    /// as some linkers emit (padded to five bytes).
    pub fn has_padded_size(&self) -> bool {
        // id byte + size LEB + payload = raw
        self.raw.len() != 1 + leb_u32_len(self.payload.len()) + self.payload.len()
    }
}

/// Iterator over the top-level sections; yields at most one error, then stops.
#[derive(Debug, Clone)]
pub struct Sections<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

/// Checks size, magic and version, and returns the module header and an iterator over its sections.
pub fn sections(module: &[u8]) -> Result<(&[u8], Sections<'_>), WasmError> {
    if module.len() > MAX_MODULE_BYTES {
        return Err(WasmError::TooLarge {
            size: module.len(),
            max: MAX_MODULE_BYTES,
        });
    }
    if module.get(..WASM_MAGIC.len()) != Some(WASM_MAGIC.as_slice()) {
        return Err(WasmError::NotWasm);
    }
    let header = module.get(..HEADER_LEN).ok_or(WasmError::Truncated {
        offset: module.len(),
        needed: HEADER_LEN.saturating_sub(module.len()),
        available: 0,
    })?;
    let version = header
        .get(WASM_MAGIC.len()..)
        .and_then(|v| <[u8; 4]>::try_from(v).ok())
        .ok_or(WasmError::NotWasm)?;
    if version != CORE_MODULE_VERSION && version != COMPONENT_VERSION {
        return Err(WasmError::UnsupportedVersion { version });
    }
    let iter = Sections {
        bytes: module,
        pos: HEADER_LEN,
        done: false,
    };
    Ok((header, iter))
}

impl<'a> Sections<'a> {
    fn read_section(&mut self) -> Result<Section<'a>, WasmError> {
        let offset = self.pos;
        let id = *self.bytes.get(offset).ok_or(WasmError::Truncated {
            offset,
            needed: 1,
            available: 0,
        })?;
        let size_at = offset.saturating_add(1);
        let (size, leb_len) = read_leb_u32(self.bytes, size_at)?;
        let payload_at = size_at.saturating_add(leb_len);
        let available = self.bytes.len().saturating_sub(payload_at);
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size > available {
            return Err(WasmError::Truncated {
                offset: payload_at,
                needed: size,
                available,
            });
        }
        let end = payload_at.saturating_add(size);
        let raw = self.bytes.get(offset..end);
        let payload = self.bytes.get(payload_at..end);
        let (Some(raw), Some(payload)) = (raw, payload) else {
            // Unreachable given the check above; reported as truncation rather than trusted.
            return Err(WasmError::Truncated {
                offset: payload_at,
                needed: size,
                available,
            });
        };
        self.pos = end;
        Ok(Section {
            id,
            offset,
            raw,
            payload,
        })
    }
}

impl<'a> Iterator for Sections<'a> {
    type Item = Result<Section<'a>, WasmError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.bytes.len() {
            return None;
        }
        let result = self.read_section();
        if result.is_err() {
            self.done = true;
        }
        Some(result)
    }
}

/// Reads an unsigned LEB128 `u32` at `pos`; returns the value and the number of bytes read.
pub fn read_leb_u32(bytes: &[u8], pos: usize) -> Result<(u32, usize), WasmError> {
    let mut value: u32 = 0;
    for index in 0..MAX_LEB_U32_BYTES {
        let at = pos.saturating_add(index);
        let byte = *bytes.get(at).ok_or(WasmError::Truncated {
            offset: at,
            needed: 1,
            available: 0,
        })?;
        let low = u32::from(byte & 0x7f);
        if index == MAX_LEB_U32_BYTES - 1 && byte & 0xf0 != 0 {
            // The fifth byte may carry only the top 4 bits of a u32 and no continuation.
            return Err(WasmError::BadLeb { offset: pos });
        }
        value |= low << (7 * index);
        if byte & 0x80 == 0 {
            return Ok((value, index + 1));
        }
    }
    Err(WasmError::BadLeb { offset: pos })
}

/// Appends the shortest LEB128 encoding of `value`.
pub fn write_leb_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Length of the shortest LEB128 encoding of `value` (usize so it can take a payload length).
fn leb_u32_len(value: usize) -> usize {
    let mut len = 1;
    let mut rest = value >> 7;
    while rest != 0 {
        len += 1;
        rest >>= 7;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(body: &[u8]) -> Vec<u8> {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn leb_round_trips_and_is_minimal() {
        for value in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut out = Vec::new();
            write_leb_u32(&mut out, value);
            assert_eq!(out.len(), leb_u32_len(value as usize));
            assert_eq!(read_leb_u32(&out, 0), Ok((value, out.len())));
        }
    }

    #[test]
    fn leb_accepts_padding_and_rejects_overflow() {
        assert_eq!(read_leb_u32(&[0x85, 0x80, 0x80, 0x80, 0x00], 0), Ok((5, 5)));
        assert_eq!(
            read_leb_u32(&[0xff, 0xff, 0xff, 0xff, 0x1f], 0),
            Err(WasmError::BadLeb { offset: 0 })
        );
        assert_eq!(
            read_leb_u32(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 0),
            Err(WasmError::BadLeb { offset: 0 })
        );
        assert!(matches!(
            read_leb_u32(&[0x80], 0),
            Err(WasmError::Truncated { .. })
        ));
    }

    #[test]
    fn walks_sections_and_custom_names() {
        let bytes = module(&[1, 1, 0, 0, 6, 3, b'a', b'b', b'c', 9, 9]);
        let (header, iter) = sections(&bytes).unwrap();
        assert_eq!(header.len(), HEADER_LEN);
        let all: Vec<_> = iter.collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].id, 1);
        assert_eq!(all[0].payload, &[0]);
        let custom = all[1].as_custom().unwrap().unwrap();
        assert_eq!(custom.name, b"abc");
        assert_eq!(custom.data, &[9, 9]);
        assert!(all[0].as_custom().unwrap().is_none());
    }

    #[test]
    fn rejects_bad_headers() {
        assert_eq!(sections(b"").unwrap_err(), WasmError::NotWasm);
        assert_eq!(
            sections(b"\x7fELF\x01\0\0\0").unwrap_err(),
            WasmError::NotWasm
        );
        assert!(matches!(
            sections(b"\0asm\x01").unwrap_err(),
            WasmError::Truncated { .. }
        ));
        assert_eq!(
            sections(b"\0asm\x02\0\0\0").unwrap_err(),
            WasmError::UnsupportedVersion {
                version: [2, 0, 0, 0]
            }
        );
        assert!(sections(b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn reports_truncation_and_bad_names() {
        let bytes = module(&[1, 5, 0, 0]);
        let (_, mut iter) = sections(&bytes).unwrap();
        assert_eq!(
            iter.next(),
            Some(Err(WasmError::Truncated {
                offset: 10,
                needed: 5,
                available: 2
            }))
        );
        assert_eq!(iter.next(), None);

        let bytes = module(&[0, 2, 9, b'a']);
        let (_, mut iter) = sections(&bytes).unwrap();
        let section = iter.next().unwrap().unwrap();
        assert_eq!(
            section.as_custom(),
            Err(WasmError::BadCustomName { offset: 8 })
        );
    }

    #[test]
    fn detects_padded_sizes() {
        let bytes = module(&[1, 0x81, 0x80, 0x80, 0x80, 0x00, 7, 1, 1, 7]);
        let (_, iter) = sections(&bytes).unwrap();
        let all: Vec<_> = iter.collect::<Result<_, _>>().unwrap();
        assert!(all[0].has_padded_size());
        assert!(!all[1].has_padded_size());
    }
}
