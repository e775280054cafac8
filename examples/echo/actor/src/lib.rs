//! echo: answers every HTTP request with the request itself as JSON (method, path, query,
//! headers and body), which shows what an actor receives from the HTTP server provider and is
//! handy for checking a link's path prefix or a proxy's headers.

use std::collections::BTreeMap;

use caplet_guest::{HandlerResult, HttpRequest, HttpResponse};

/// Registers the HTTP handler; the host runs this once after instantiation.
// `no_mangle` is the only unsafe construct in this crate: the host finds `wapc_init` by name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    caplet_guest::register_http_handler(echo);
}

fn echo(request: HttpRequest) -> HandlerResult<HttpResponse> {
    // Sorted, so the same request always gives the same bytes.
    let headers: BTreeMap<&str, &[String]> = request.header.entries().collect();
    let body = serde_json::json!({
        "method": request.method,
        "path": request.path,
        "query": request.query_string,
        "headers": headers,
        "body": String::from_utf8_lossy(&request.body),
    });
    let mut text = serde_json::to_string_pretty(&body)?;
    text.push('\n');
    Ok(HttpResponse::ok("application/json", text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_comes_back_as_json() {
        let mut request = HttpRequest {
            method: "POST".into(),
            path: "/a/b".into(),
            query_string: "x=1".into(),
            body: b"hi \xff".to_vec(),
            ..HttpRequest::default()
        };
        request.header.append("X-Test", "1");
        let response = echo(request).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(json["method"], "POST");
        assert_eq!(json["path"], "/a/b");
        assert_eq!(json["query"], "x=1");
        assert_eq!(json["headers"]["X-Test"][0], "1");
        assert_eq!(json["body"], "hi \u{fffd}");
    }
}
