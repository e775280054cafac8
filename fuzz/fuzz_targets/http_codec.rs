//! Fuzzes the hand-written `HttpRequest` / `HttpResponse` codec (`caplet_wire::httpserver`)
//! against rmp-serde, which it must agree with on every input: the host decodes an actor's
//! `HttpResponse` with it (untrusted bytes), and guests decode their `HttpRequest` with it.
//!
//! For each input: the fast decoders give the same value as `caplet_wire::decode`, or both
//! fail; a response read in place (`HttpResponse::read_in_place`, what the HTTP server uses)
//! has the status, headers and body rmp-serde decodes; and a decoded response encodes to the
//! same bytes as rmp-serde writes for it. Panics and disagreements are bugs.

#![no_main]

use caplet_wire::httpserver::{HttpRequest, HttpResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fast = HttpRequest::decode(data).ok();
    let slow = caplet_wire::decode::<HttpRequest>(data).ok();
    assert_eq!(fast, slow, "HttpRequest decoders disagree");
    let fast = HttpResponse::decode(data).ok();
    let slow = caplet_wire::decode::<HttpResponse>(data).ok();
    assert_eq!(fast, slow, "HttpResponse decoders disagree");
    let mut headers = Vec::new();
    if let Some((status, body)) = HttpResponse::read_in_place(data, |n, v| headers.push((n, v))) {
        let slow = slow
            .as_ref()
            .expect("read in place, but rmp-serde refuses it");
        assert_eq!(status, slow.status_code, "read in place: status differs");
        assert_eq!(body, slow.body.as_slice(), "read in place: body differs");
        assert!(
            headers.iter().copied().eq(slow.header.iter()),
            "read in place: headers differ"
        );
    }
    if let Some(response) = fast {
        assert_eq!(
            Some(response.encode()),
            caplet_wire::encode(&response).ok(),
            "HttpResponse encoders disagree"
        );
    }
});
