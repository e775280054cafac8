//! Hand-written MessagePack for the two messages of every HTTP request: [`HttpRequest`] and
//! [`HttpResponse`].
//!
//! Why: every request through the HTTP server decodes an `HttpRequest` in the guest and an
//! `HttpResponse` in the host, and encodes both; through rmp-serde that was most of the guest's
//! time on a small request (a visitor per field, a `String` per key, a writer wrapper per
//! value). These functions read and write the common shape directly: a map keyed by field
//! name, headers as `{name: value | [values]}`, bodies as `bin`.
//!
//! They never decide anything rmp-serde would decide differently: a message in any other
//! shape (struct as an array, integer field keys, a body as a string or an integer array, a
//! repeated field, nesting past [`MAX_SKIP_DEPTH`] in an unknown field…) makes the fast reader
//! give up (`None`), and the caller decodes it with rmp-serde, which accepts it or reports the
//! error it always did. Tests check both paths give the same value on every message they try.

use crate::HeaderMap;
use crate::httpserver::{HttpRequest, HttpResponse};

/// Deepest nesting the reader skips inside an unknown field (default 32 levels); deeper
/// messages go to rmp-serde, whose own limit then applies.
const MAX_SKIP_DEPTH: u32 = 32;

/// Decodes the map form of an `HttpRequest`; `None` for anything else.
pub(crate) fn decode_request(bytes: &[u8]) -> Option<HttpRequest> {
    let mut r = Reader { bytes, pos: 0 };
    let fields = r.map_len()?;
    let (mut method, mut path, mut query, mut header, mut body) = (None, None, None, None, None);
    for _ in 0..fields {
        match r.key()? {
            b"method" => set_once(&mut method, r.str()?.to_owned())?,
            b"path" => set_once(&mut path, r.str()?.to_owned())?,
            b"queryString" => set_once(&mut query, r.str()?.to_owned())?,
            b"header" => set_once(&mut header, r.headers()?)?,
            b"body" => set_once(&mut body, r.bin()?.to_vec())?,
            other => r.skip_field(other)?,
        }
    }
    r.finished()?;
    Some(HttpRequest {
        method: method?,
        path: path?,
        query_string: query.unwrap_or_default(),
        header: header.unwrap_or_default(),
        body: body.unwrap_or_default(),
    })
}

/// Decodes the map form of an `HttpResponse`; `None` for anything else.
pub(crate) fn decode_response(bytes: &[u8]) -> Option<HttpResponse> {
    let mut r = Reader { bytes, pos: 0 };
    let fields = r.map_len()?;
    let (mut status, mut header, mut body) = (None, None, None);
    for _ in 0..fields {
        match r.key()? {
            b"statusCode" => set_once(&mut status, u16::try_from(r.uint()?).ok()?)?,
            b"header" => set_once(&mut header, r.headers()?)?,
            b"body" => set_once(&mut body, r.bin()?.to_vec())?,
            other => r.skip_field(other)?,
        }
    }
    r.finished()?;
    Some(HttpResponse {
        status_code: status.unwrap_or(200),
        header: header.unwrap_or_default(),
        body: body.unwrap_or_default(),
    })
}

/// Reads the map form of an `HttpResponse` in place: `header` gets every (name, value) in
/// order, and the result is the status code and the body, all borrowed from `bytes`; `None`
/// for anything else, as [`decode_response`] (which it agrees with on every message: tests).
/// `header` may have been called before a `None`.
pub(crate) fn read_response<'a>(
    bytes: &'a [u8],
    mut header: impl FnMut(&'a str, &'a str),
) -> Option<(u16, &'a [u8])> {
    let mut r = Reader { bytes, pos: 0 };
    let fields = r.map_len()?;
    let (mut status, mut headers, mut body) = (None, None, None);
    for _ in 0..fields {
        match r.key()? {
            b"statusCode" => set_once(&mut status, u16::try_from(r.uint()?).ok()?)?,
            b"header" => set_once(&mut headers, r.headers_each(&mut header)?)?,
            b"body" => set_once(&mut body, r.bin()?)?,
            other => r.skip_field(other)?,
        }
    }
    r.finished()?;
    Some((status.unwrap_or(200), body.unwrap_or_default()))
}

/// Writes `response` as rmp-serde's `encode` does (struct as a map), byte for byte.
pub(crate) fn encode_response(response: &HttpResponse) -> Vec<u8> {
    let headers: usize = response
        .header
        .entries()
        .map(|(name, values)| name.len() + 8 + values.iter().map(|v| v.len() + 5).sum::<usize>())
        .sum();
    let mut out = Vec::with_capacity(32 + headers + response.body.len());
    // Writes into a Vec cannot fail.
    let _ = rmp::encode::write_map_len(&mut out, 3);
    let _ = rmp::encode::write_str(&mut out, "statusCode");
    let _ = rmp::encode::write_uint(&mut out, u64::from(response.status_code));
    let _ = rmp::encode::write_str(&mut out, "header");
    write_headers(&mut out, &response.header);
    let _ = rmp::encode::write_str(&mut out, "body");
    let _ = rmp::encode::write_bin(&mut out, &response.body);
    out
}

/// Headers as `{name: [values]}`, as [`HeaderMap`]'s `Serialize` writes them.
pub(crate) fn write_headers(out: &mut Vec<u8>, header: &HeaderMap) {
    let _ = rmp::encode::write_map_len(out, len_u32(header.len()));
    for (name, values) in header.entries() {
        let _ = rmp::encode::write_str(out, name);
        let _ = rmp::encode::write_array_len(out, len_u32(values.len()));
        for value in values {
            let _ = rmp::encode::write_str(out, value);
        }
    }
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Stores the first value of a field; a repeated field is left to rmp-serde (which refuses it).
fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// A strict cursor over one MessagePack message. Every method returns `None` on anything it
/// does not expect, including a truncated message.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }

    fn be(&mut self, n: usize) -> Option<u64> {
        Some(
            self.take(n)?
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        )
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The whole message was read: trailing bytes are rmp-serde's to judge.
    fn finished(&self) -> Option<()> {
        (self.pos == self.bytes.len()).then_some(())
    }

    fn map_len(&mut self) -> Option<usize> {
        match self.byte()? {
            m @ 0x80..=0x8f => Some(usize::from(m & 0x0f)),
            0xde => self.len(2),
            0xdf => self.len(4),
            _ => None,
        }
    }

    fn array_len(&mut self) -> Option<usize> {
        match self.byte()? {
            m @ 0x90..=0x9f => Some(usize::from(m & 0x0f)),
            0xdc => self.len(2),
            0xdd => self.len(4),
            _ => None,
        }
    }

    fn len(&mut self, width: usize) -> Option<usize> {
        usize::try_from(self.be(width)?).ok()
    }

    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.str_bytes()?).ok()
    }

    /// A map key's bytes, not yet validated: the field names matched against it are ASCII, so
    /// a match proves it valid, and any other key goes to [`Reader::skip_field`].
    fn key(&mut self) -> Option<&'a [u8]> {
        self.str_bytes()
    }

    /// Skips the value of an unknown field, whose key must still be valid UTF-8 (as
    /// [`Reader::str`] requires of every key).
    fn skip_field(&mut self, key: &[u8]) -> Option<()> {
        std::str::from_utf8(key).ok()?;
        self.skip(0)
    }

    fn str_bytes(&mut self) -> Option<&'a [u8]> {
        let len = match self.byte()? {
            m @ 0xa0..=0xbf => usize::from(m & 0x1f),
            0xd9 => self.len(1)?,
            0xda => self.len(2)?,
            0xdb => self.len(4)?,
            _ => return None,
        };
        self.take(len)
    }

    fn bin(&mut self) -> Option<&'a [u8]> {
        let len = match self.byte()? {
            0xc4 => self.len(1)?,
            0xc5 => self.len(2)?,
            0xc6 => self.len(4)?,
            _ => return None,
        };
        self.take(len)
    }

    /// A non-negative integer in any width.
    fn uint(&mut self) -> Option<u64> {
        match self.byte()? {
            m @ 0x00..=0x7f => Some(u64::from(m)),
            0xcc => self.be(1),
            0xcd => self.be(2),
            0xce => self.be(4),
            0xcf => self.be(8),
            0xd0 => self.signed(1),
            0xd1 => self.signed(2),
            0xd2 => self.signed(4),
            0xd3 => self.signed(8),
            _ => None,
        }
    }

    /// A signed integer of `width` bytes, when it is not negative.
    fn signed(&mut self, width: usize) -> Option<u64> {
        let raw = self.be(width)?;
        let bits = u32::try_from(width * 8).ok()?;
        let negative = raw >> (bits - 1) & 1 == 1;
        (!negative).then_some(raw)
    }

    /// `{name: value | [values]}` or nil (no headers).
    fn headers(&mut self) -> Option<HeaderMap> {
        if self.peek()? == 0xc0 {
            self.pos += 1;
            return Some(HeaderMap::new());
        }
        let names = self.map_len()?;
        let mut map = HeaderMap::with_capacity(names.min(64));
        for _ in 0..names {
            let name = self.str()?.to_owned();
            let values = match self.peek()? {
                0xa0..=0xbf | 0xd9..=0xdb => vec![self.str()?.to_owned()],
                _ => {
                    let count = self.array_len()?;
                    let mut values = Vec::with_capacity(count.min(64));
                    for _ in 0..count {
                        values.push(self.str()?.to_owned());
                    }
                    values
                }
            };
            map.push(name, values);
        }
        Some(map)
    }

    /// The same shapes as [`Reader::headers`], handed out one (name, value) at a time.
    fn headers_each(&mut self, each: &mut impl FnMut(&'a str, &'a str)) -> Option<()> {
        if self.peek()? == 0xc0 {
            self.pos += 1;
            return Some(());
        }
        for _ in 0..self.map_len()? {
            let name = self.str()?;
            match self.peek()? {
                0xa0..=0xbf | 0xd9..=0xdb => each(name, self.str()?),
                _ => {
                    for _ in 0..self.array_len()? {
                        each(name, self.str()?);
                    }
                }
            }
        }
        Some(())
    }

    /// Skips one value of any type (an unknown field).
    fn skip(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_SKIP_DEPTH {
            return None;
        }
        let marker = self.byte()?;
        let (skip, items) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * usize::from(marker & 0x0f)),
            0x90..=0x9f => (0, usize::from(marker & 0x0f)),
            0xa0..=0xbf => (usize::from(marker & 0x1f), 0),
            0xc4 | 0xd9 => (self.len(1)?, 0),
            0xc5 | 0xda => (self.len(2)?, 0),
            0xc6 | 0xdb => (self.len(4)?, 0),
            0xc7 => (self.len(1)?.checked_add(1)?, 0),
            0xc8 => (self.len(2)?.checked_add(1)?, 0),
            0xc9 => (self.len(4)?.checked_add(1)?, 0),
            0xca | 0xce | 0xd2 => (4, 0),
            0xcb | 0xcf | 0xd3 => (8, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (0, self.len(2)?),
            0xdd => (0, self.len(4)?),
            0xde => (0, 2 * self.len(2)?),
            0xdf => (0, self.len(4)?.checked_mul(2)?),
            0xc1 => return None,
        };
        self.take(skip)?;
        for _ in 0..items {
            self.skip(depth + 1)?;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(header: &[(&str, &str)], body: &[u8]) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path: "/a/b".into(),
            query_string: "x=1&y=é".into(),
            header: header.iter().copied().collect(),
            body: body.to_vec(),
        }
    }

    fn response(status: u16, header: &[(&str, &str)], body: &[u8]) -> HttpResponse {
        HttpResponse {
            status_code: status,
            header: header.iter().copied().collect(),
            body: body.to_vec(),
        }
    }

    /// A map of `fields` entries that starts with the string pairs `strings`; the caller writes
    /// the remaining entries.
    fn map_starting(fields: u32, strings: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        rmp::encode::write_map_len(&mut out, fields).unwrap();
        for (key, value) in strings {
            rmp::encode::write_str(&mut out, key).unwrap();
            rmp::encode::write_str(&mut out, value).unwrap();
        }
        out
    }

    /// Both paths agree: the same value, or both an error.
    fn agree(bytes: &[u8]) {
        let slow_req = crate::decode::<HttpRequest>(bytes).ok();
        assert_eq!(
            HttpRequest::decode(bytes).ok(),
            slow_req,
            "request {bytes:02x?}"
        );
        let slow_resp = crate::decode::<HttpResponse>(bytes).ok();
        assert_eq!(
            HttpResponse::decode(bytes).ok(),
            slow_resp,
            "response {bytes:02x?}"
        );
        // Read in place: the same status, headers and body whenever it reads the message.
        let mut headers = Vec::new();
        if let Some((status, body)) = read_response(bytes, |n, v| headers.push((n, v))) {
            let slow = slow_resp.expect("read in place, but rmp-serde refuses it");
            assert_eq!(status, slow.status_code, "status {bytes:02x?}");
            assert_eq!(body, slow.body, "body {bytes:02x?}");
            assert!(
                headers.iter().copied().eq(slow.header.iter()),
                "headers {bytes:02x?}"
            );
        }
    }

    fn samples() -> Vec<Vec<u8>> {
        let long = "v".repeat(70_000);
        let mut out = Vec::new();
        for body in [&b""[..], b"hi", &[7u8; 300], &[1u8; 70_000]] {
            for header in [
                &[][..],
                &[("host", "example")][..],
                &[("x-a", "1"), ("x-a", "2"), ("Content-Type", "text/plain")][..],
                &[("x-long", long.as_str())][..],
            ] {
                out.push(crate::encode(&request(header, body)).unwrap());
                for status in [0, 200, 404, 65_535] {
                    out.push(crate::encode(&response(status, header, body)).unwrap());
                }
            }
        }
        out
    }

    #[test]
    fn the_usual_shapes_take_the_fast_path_and_match_rmp_serde() {
        for bytes in samples() {
            agree(&bytes);
        }
        let req = request(&[("host", "h"), ("x-a", "1"), ("x-a", "2")], b"body");
        let bytes = crate::encode(&req).unwrap();
        assert_eq!(decode_request(&bytes), Some(req));
        let resp = response(201, &[("x-b", "1"), ("x-c", "2"), ("x-b", "3")], &[0; 300]);
        let bytes = crate::encode(&resp).unwrap();
        assert_eq!(decode_response(&bytes), Some(resp.clone()));
        let mut headers = Vec::new();
        let read = read_response(&bytes, |n, v| headers.push((n, v)));
        assert_eq!(read, Some((201, &[0u8; 300][..])));
        assert_eq!(headers, [("x-b", "1"), ("x-b", "3"), ("x-c", "2")]);
        // The encoder writes what rmp-serde writes, byte for byte.
        for bytes in samples() {
            if let Some(resp) = decode_response(&bytes) {
                assert_eq!(resp.encode(), crate::encode(&resp).unwrap());
            }
        }
    }

    #[test]
    fn other_shapes_fall_back_to_rmp_serde() {
        let req = request(&[("h", "v")], b"b");
        let as_array = rmp_serde::to_vec(&req).unwrap();
        assert_eq!(decode_request(&as_array), None);
        assert_eq!(HttpRequest::decode(&as_array).unwrap(), req);
        // Single-valued headers (wasmCloud 0.18) are read by the fast path too.
        let mut legacy = map_starting(3, &[("method", "GET"), ("path", "/")]);
        rmp::encode::write_str(&mut legacy, "header").unwrap();
        rmp::encode::write_map_len(&mut legacy, 1).unwrap();
        rmp::encode::write_str(&mut legacy, "Host").unwrap();
        rmp::encode::write_str(&mut legacy, "example").unwrap();
        let fast = decode_request(&legacy).unwrap();
        assert_eq!(fast.header.get("host"), Some("example"));
        agree(&legacy);
        // A body written as a string, a repeated field, trailing bytes: rmp-serde decides.
        let body_str = map_starting(3, &[("method", "GET"), ("path", "/"), ("body", "text")]);
        assert_eq!(decode_request(&body_str), None);
        agree(&body_str);
        let repeated = map_starting(3, &[("method", "GET"), ("path", "/"), ("path", "/x")]);
        assert_eq!(decode_request(&repeated), None);
        assert!(HttpRequest::decode(&repeated).is_err());
        let mut trailing = crate::encode(&req).unwrap();
        trailing.push(0xc0);
        assert_eq!(decode_request(&trailing), None);
        agree(&trailing);
        // An unknown key that is not UTF-8: the fast path does not skip it, rmp-serde decides.
        let mut bad_key = map_starting(3, &[("method", "GET"), ("path", "/")]);
        rmp::encode::write_str_len(&mut bad_key, 2).unwrap();
        bad_key.extend_from_slice(&[0xff, 0xfe]);
        rmp::encode::write_uint(&mut bad_key, 1).unwrap();
        assert_eq!(decode_request(&bad_key), None);
        agree(&bad_key);
        let mut bad_key = crate::encode(&response(200, &[], b"")).unwrap();
        bad_key[0] += 1; // one more field
        rmp::encode::write_str_len(&mut bad_key, 1).unwrap();
        bad_key.push(0xc3);
        rmp::encode::write_nil(&mut bad_key).unwrap();
        assert_eq!(decode_response(&bad_key), None);
        assert_eq!(read_response(&bad_key, |_, _| {}), None);
        agree(&bad_key);
    }

    #[test]
    fn unknown_fields_are_skipped_whatever_they_hold() {
        let mut bytes = map_starting(4, &[("method", "GET")]);
        rmp::encode::write_str(&mut bytes, "extra").unwrap();
        // [1, -5, 3.5, nil, true, {"k": [bin]}, ext8]
        rmp::encode::write_array_len(&mut bytes, 7).unwrap();
        rmp::encode::write_uint(&mut bytes, 1).unwrap();
        rmp::encode::write_sint(&mut bytes, -5).unwrap();
        rmp::encode::write_f64(&mut bytes, 3.5).unwrap();
        rmp::encode::write_nil(&mut bytes).unwrap();
        rmp::encode::write_bool(&mut bytes, true).unwrap();
        rmp::encode::write_map_len(&mut bytes, 1).unwrap();
        rmp::encode::write_str(&mut bytes, "k").unwrap();
        rmp::encode::write_array_len(&mut bytes, 1).unwrap();
        rmp::encode::write_bin(&mut bytes, &[1, 2]).unwrap();
        rmp::encode::write_ext_meta(&mut bytes, 3, 5).unwrap();
        bytes.extend_from_slice(&[9, 9, 9]);
        rmp::encode::write_str(&mut bytes, "path").unwrap();
        rmp::encode::write_str(&mut bytes, "/").unwrap();
        rmp::encode::write_str(&mut bytes, "header").unwrap();
        rmp::encode::write_nil(&mut bytes).unwrap();
        agree(&bytes);
        let fast = decode_request(&bytes);
        assert_eq!(fast.as_ref().map(|r| r.path.as_str()), Some("/"));
        // Nesting past the skip depth goes to rmp-serde.
        let mut deep = map_starting(3, &[("method", "GET"), ("path", "/")]);
        rmp::encode::write_str(&mut deep, "deep").unwrap();
        for _ in 0..40 {
            rmp::encode::write_array_len(&mut deep, 1).unwrap();
        }
        rmp::encode::write_nil(&mut deep).unwrap();
        assert_eq!(decode_request(&deep), None);
        agree(&deep);
    }

    /// Every truncation and many single-byte corruptions of real messages: the fast path never
    /// accepts what rmp-serde refuses, nor reads a different value.
    #[test]
    fn corrupted_messages_get_the_same_answer_from_both_paths() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let small = [
            crate::encode(&request(&[("host", "h"), ("x", "1")], b"abc")).unwrap(),
            crate::encode(&response(302, &[("location", "/")], b"")).unwrap(),
            crate::encode(&response(200, &[], &[5; 40])).unwrap(),
        ];
        for bytes in &small {
            for cut in 0..bytes.len() {
                agree(bytes.get(..cut).unwrap());
            }
            for _ in 0..3000 {
                let mut copy = bytes.clone();
                let at = usize::try_from(next() % copy.len() as u64).unwrap();
                *copy.get_mut(at).unwrap() = u8::try_from(next() & 0xff).unwrap();
                agree(&copy);
            }
        }
    }
}
