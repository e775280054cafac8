//! kvcounter: every HTTP GET increments `counter` in the linked key-value store and answers
//! `{"counter":N}`. The smallest actor that uses two capabilities (wasmcloud:httpserver and
//! wasmcloud:keyvalue); with two instances and one store, the count stays exact because
//! `KeyValue.Increment` is atomic in the provider, not read-modify-write in the actor.

use caplet_guest::{GuestError, HandlerError, HandlerResult, HttpRequest, HttpResponse};

/// Registers the HTTP handler; the host runs this once after instantiation.
// `no_mangle` is the only unsafe construct in this crate: the host finds `wapc_init` by name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    caplet_guest::register_http_handler(count);
}

/// GET (any path) → 200 `{"counter":N}`; any other method → 405.
fn count(request: HttpRequest) -> HandlerResult<HttpResponse> {
    if request.method != "GET" {
        let mut response = HttpResponse::text(405, "kvcounter only answers GET\n");
        response.header.append("Allow", "GET");
        return Ok(response);
    }
    // An error goes back to the host with its own message: the host answers 500, or 503 when
    // the key-value capability is unavailable (no provider, provider down).
    let counter = caplet_guest::kv()
        .increment("counter", 1)
        .map_err(|error| match error {
            GuestError::Host { message } => HandlerError::new(message),
            other => HandlerError::from(other),
        })?;
    Ok(HttpResponse::ok(
        "application/json",
        format!("{{\"counter\":{counter}}}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use caplet_guest::testing::{clear_mock_host, mock_host};
    use caplet_guest::wire::{decode, encode, keyvalue};

    fn call(method: &str) -> Result<HttpResponse, GuestError> {
        wapc_init();
        let request = HttpRequest {
            method: method.into(),
            path: "/".into(),
            ..HttpRequest::default()
        };
        let answer = caplet_guest::invoke("HttpServer.HandleRequest", &encode(&request).unwrap())?;
        Ok(decode(&answer).unwrap())
    }

    #[test]
    fn get_increments_and_answers_json() {
        mock_host(|_, namespace, operation, payload| {
            assert_eq!(
                (namespace, operation),
                ("wasmcloud:keyvalue", "KeyValue.Increment")
            );
            let request: keyvalue::IncrementRequest = decode(payload).unwrap();
            assert_eq!((request.key.as_str(), request.value), ("counter", 1));
            Ok(encode(&42i32).unwrap())
        });
        let response = call("GET").unwrap();
        assert_eq!(response.status_code, 200);
        assert_eq!(response.body, br#"{"counter":42}"#);
        assert_eq!(
            response.header.get("content-type"),
            Some("application/json")
        );
        clear_mock_host();
    }

    #[test]
    fn other_methods_are_405() {
        let response = call("POST").unwrap();
        assert_eq!(response.status_code, 405);
        assert_eq!(response.header.get("allow"), Some("GET"));
    }

    #[test]
    fn a_failed_increment_is_an_error_with_the_host_message() {
        mock_host(|_, _, _, _| Err("wasmcloud:keyvalue: no provider".into()));
        let error = call("GET").unwrap_err();
        assert_eq!(error.to_string(), "wasmcloud:keyvalue: no provider");
        clear_mock_host();
    }
}
