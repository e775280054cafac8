//! The clients send exactly the caplet-wire messages (checked by decoding what reached a fake
//! host), decode the answers, and the handler helpers decode and encode through `invoke`.

use std::cell::RefCell;
use std::rc::Rc;

use caplet_wire::{decode, encode, health, httpclient, httpserver, keyvalue, messaging};
use serde::Serialize;

use crate::testing::{MockResult, clear_mock_host, mock_host};
use crate::{GuestError, HandlerError, invoke};

/// One host call as the fake host saw it.
#[derive(Debug, Clone)]
struct Call {
    binding: String,
    namespace: String,
    operation: String,
    payload: Vec<u8>,
}

/// Installs a fake host that records every call and answers with `answer(operation)`.
fn fake_host(answer: impl Fn(&str) -> MockResult + 'static) -> Rc<RefCell<Vec<Call>>> {
    let calls = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&calls);
    mock_host(move |binding, namespace, operation, payload| {
        log.borrow_mut().push(Call {
            binding: binding.into(),
            namespace: namespace.into(),
            operation: operation.into(),
            payload: payload.to_vec(),
        });
        answer(operation)
    });
    calls
}

fn answer<T: Serialize>(value: T) -> MockResult {
    Ok(encode(&value).unwrap())
}

fn only_call(calls: &Rc<RefCell<Vec<Call>>>) -> Call {
    let calls = calls.borrow();
    assert_eq!(calls.len(), 1, "{calls:?}");
    calls[0].clone()
}

#[test]
fn kv_get_sends_the_bare_key_and_maps_exists_to_option() {
    let calls = fake_host(|_| {
        answer(keyvalue::GetResponse {
            value: "42".into(),
            exists: true,
        })
    });
    assert_eq!(crate::kv().get("counter").unwrap().as_deref(), Some("42"));
    let call = only_call(&calls);
    assert_eq!(
        (call.binding.as_str(), call.namespace.as_str()),
        ("default", "wasmcloud:keyvalue")
    );
    assert_eq!(call.operation, "KeyValue.Get");
    // A MessagePack string (fixstr), not a struct.
    assert_eq!(call.payload, [&[0xa7][..], b"counter"].concat());

    fake_host(|_| answer(keyvalue::GetResponse::default()));
    assert_eq!(crate::kv().get("missing").unwrap(), None);
    clear_mock_host();
}

#[test]
fn kv_set_sends_a_set_request_as_a_map() {
    let calls = fake_host(|_| Ok(Vec::new()));
    crate::kv().set("k", "v").unwrap();
    crate::kv_on("cache").set_expiring("k", "v", 30).unwrap();
    let calls = calls.borrow();
    assert_eq!(calls[0].operation, "KeyValue.Set");
    assert_eq!(calls[0].payload.first(), Some(&0x83), "a map of 3 fields");
    let first: keyvalue::SetRequest = decode(&calls[0].payload).unwrap();
    assert_eq!(
        first,
        keyvalue::SetRequest {
            key: "k".into(),
            value: "v".into(),
            expires: 0
        }
    );
    let second: keyvalue::SetRequest = decode(&calls[1].payload).unwrap();
    assert_eq!(second.expires, 30);
    assert_eq!(calls[1].binding, "cache");
    drop(calls);
    clear_mock_host();
}

#[test]
fn kv_increment_sends_key_and_amount_and_returns_the_new_value() {
    let calls = fake_host(|_| answer(-3i32));
    assert_eq!(crate::kv().increment("readings", -5).unwrap(), -3);
    let call = only_call(&calls);
    assert_eq!(call.operation, "KeyValue.Increment");
    let request: keyvalue::IncrementRequest = decode(&call.payload).unwrap();
    assert_eq!(
        request,
        keyvalue::IncrementRequest {
            key: "readings".into(),
            value: -5
        }
    );
    clear_mock_host();
}

#[test]
fn kv_flags_counts_and_lists() {
    let calls = fake_host(|operation| match operation {
        "KeyValue.Del" | "KeyValue.Contains" | "KeyValue.ListDel" => answer(true),
        "KeyValue.ListClear" | "KeyValue.SetClear" => answer(false),
        "KeyValue.ListAdd" | "KeyValue.SetAdd" | "KeyValue.SetDel" => answer(3u32),
        _ => answer(vec!["a", "b"]),
    });
    let kv = crate::kv();
    assert!(kv.del("k").unwrap());
    assert!(kv.contains("k").unwrap());
    assert_eq!(kv.list_add("l", "x").unwrap(), 3);
    assert_eq!(kv.list_range("l", 0, -1).unwrap(), ["a", "b"]);
    assert!(kv.list_del("l", "x").unwrap());
    assert!(!kv.list_clear("l").unwrap());
    assert_eq!(kv.set_add("s", "x").unwrap(), 3);
    assert_eq!(kv.set_del("s", "x").unwrap(), 3);
    assert_eq!(kv.set_query("s").unwrap(), ["a", "b"]);
    assert_eq!(kv.set_union(&["s", "t"]).unwrap(), ["a", "b"]);
    assert_eq!(kv.set_intersection(&["s", "t"]).unwrap(), ["a", "b"]);
    assert!(!kv.set_clear("s").unwrap());

    let calls = calls.borrow();
    let operations: Vec<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    assert_eq!(
        operations,
        [
            "KeyValue.Del",
            "KeyValue.Contains",
            "KeyValue.ListAdd",
            "KeyValue.ListRange",
            "KeyValue.ListDel",
            "KeyValue.ListClear",
            "KeyValue.SetAdd",
            "KeyValue.SetDel",
            "KeyValue.SetQuery",
            "KeyValue.SetUnion",
            "KeyValue.SetIntersection",
            "KeyValue.SetClear",
        ]
    );
    let payload = |i: usize| calls[i].payload.as_slice();
    assert_eq!(decode::<String>(payload(0)).unwrap(), "k");
    assert_eq!(decode::<String>(payload(1)).unwrap(), "k");
    let add: keyvalue::ListAddRequest = decode(payload(2)).unwrap();
    assert_eq!((add.list_name.as_str(), add.value.as_str()), ("l", "x"));
    let range: keyvalue::ListRangeRequest = decode(payload(3)).unwrap();
    assert_eq!(
        (range.list_name.as_str(), range.start, range.stop),
        ("l", 0, -1)
    );
    let del: keyvalue::ListDelRequest = decode(payload(4)).unwrap();
    assert_eq!((del.list_name.as_str(), del.value.as_str()), ("l", "x"));
    assert_eq!(decode::<String>(payload(5)).unwrap(), "l");
    let set_add: keyvalue::SetAddRequest = decode(payload(6)).unwrap();
    assert_eq!(
        (set_add.set_name.as_str(), set_add.value.as_str()),
        ("s", "x")
    );
    let set_del: keyvalue::SetDelRequest = decode(payload(7)).unwrap();
    assert_eq!(
        (set_del.set_name.as_str(), set_del.value.as_str()),
        ("s", "x")
    );
    assert_eq!(decode::<String>(payload(8)).unwrap(), "s");
    assert_eq!(decode::<Vec<String>>(payload(9)).unwrap(), ["s", "t"]);
    assert_eq!(decode::<Vec<String>>(payload(10)).unwrap(), ["s", "t"]);
    assert_eq!(decode::<String>(payload(11)).unwrap(), "s");
    drop(calls);
    clear_mock_host();
}

#[test]
fn a_malformed_answer_is_a_decode_error_naming_the_operation() {
    fake_host(|_| answer("seven"));
    let error = crate::kv().increment("counter", 1).unwrap_err();
    assert!(
        matches!(&error, GuestError::Decode { operation, .. } if operation == "KeyValue.Increment")
    );
    let text = error.to_string();
    assert!(
        text.starts_with("cannot decode the answer to KeyValue.Increment: malformed i32 message"),
        "{text}"
    );
    clear_mock_host();
}

#[test]
fn host_errors_pass_through_unchanged() {
    fake_host(|_| Err("wasmcloud:keyvalue is not linked for this actor".into()));
    let error = crate::kv().increment("counter", 1).unwrap_err();
    assert_eq!(
        error,
        GuestError::Host {
            message: "wasmcloud:keyvalue is not linked for this actor".into()
        }
    );
    clear_mock_host();
}

#[test]
fn messaging_publish_and_request() {
    let calls = fake_host(|operation| match operation {
        "Messaging.Request" => answer(messaging::ReplyMessage {
            subject: "_INBOX.1".into(),
            reply_to: None,
            body: b"pong".to_vec(),
        }),
        _ => Ok(Vec::new()),
    });
    crate::msg().publish("sensors.t1", b"{}").unwrap();
    crate::msg_on("bus")
        .publish_with_reply("jobs", "jobs.done", b"x")
        .unwrap();
    let reply = crate::msg().request("ping", b"hi", 250).unwrap();
    assert_eq!(reply.body, b"pong");

    let calls = calls.borrow();
    assert_eq!(calls[0].namespace, "wasmcloud:messaging");
    assert_eq!(calls[0].operation, "Messaging.Publish");
    let first: messaging::PubMessage = decode(&calls[0].payload).unwrap();
    assert_eq!(
        first,
        messaging::PubMessage {
            subject: "sensors.t1".into(),
            reply_to: None,
            body: b"{}".to_vec()
        }
    );
    // The body is MessagePack bin (serde_bytes), not an array of integers.
    assert!(calls[0].payload.windows(2).any(|w| w == [0xc4, 2]));
    let second: messaging::PubMessage = decode(&calls[1].payload).unwrap();
    assert_eq!(second.reply_to.as_deref(), Some("jobs.done"));
    assert_eq!(calls[1].binding, "bus");
    assert_eq!(calls[2].operation, "Messaging.Request");
    let request: messaging::RequestMessage = decode(&calls[2].payload).unwrap();
    assert_eq!(
        request,
        messaging::RequestMessage {
            subject: "ping".into(),
            body: b"hi".to_vec(),
            timeout_ms: 250
        }
    );
    drop(calls);
    clear_mock_host();
}

#[test]
fn http_client_sends_the_request_and_decodes_the_response() {
    let calls = fake_host(|_| {
        answer(httpclient::HttpResponse {
            status_code: 204,
            ..Default::default()
        })
    });
    let response = crate::http_client().get("http://127.0.0.1:9/x").unwrap();
    assert_eq!(response.status_code, 204);
    let call = only_call(&calls);
    assert_eq!(
        (call.namespace.as_str(), call.operation.as_str()),
        ("wasmcloud:httpclient", "HttpClient.Request")
    );
    let request: httpclient::HttpRequest = decode(&call.payload).unwrap();
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("GET", "http://127.0.0.1:9/x")
    );
    clear_mock_host();
}

#[test]
fn logging_and_numbergen() {
    let calls = fake_host(|operation| match operation {
        "NumberGen.GenerateGuid" => answer("5f0c-guid"),
        "NumberGen.RandomInRange" => answer(7u32),
        "NumberGen.Random32" => answer(u32::MAX),
        _ => Ok(Vec::new()),
    });
    crate::logging::write_log("trace", "t").unwrap();
    crate::logging::warn("careful").unwrap();
    assert_eq!(crate::numbergen::guid().unwrap(), "5f0c-guid");
    assert_eq!(crate::numbergen::random_in_range(1, 10).unwrap(), 7);
    assert_eq!(crate::numbergen::random_u32().unwrap(), u32::MAX);

    let calls = calls.borrow();
    assert_eq!(calls[0].namespace, "wasmcloud:builtin:logging");
    assert_eq!(calls[0].operation, "Logging.WriteLog");
    let entry: caplet_wire::logging::LogEntry = decode(&calls[1].payload).unwrap();
    assert_eq!(
        (entry.level.as_str(), entry.text.as_str()),
        ("warn", "careful")
    );
    assert_eq!(calls[2].namespace, "wasmcloud:builtin:numbergen");
    assert!(calls[2].payload.is_empty(), "GenerateGuid has no input");
    let range: caplet_wire::numbergen::RangeLimit = decode(&calls[3].payload).unwrap();
    assert_eq!((range.min, range.max), (1, 10));
    assert!(calls[4].payload.is_empty(), "Random32 has no input");
    drop(calls);
    clear_mock_host();
}

#[test]
fn http_handler_decodes_the_request_and_encodes_the_response() {
    crate::register_http_handler(|request| {
        if request.path == "/fail" {
            return Err(HandlerError::new("kv down"));
        }
        let body = format!(
            "{} {} {}",
            request.method, request.path, request.query_string
        );
        Ok(httpserver::HttpResponse::ok("text/plain", body))
    });
    let request = httpserver::HttpRequest {
        method: "GET".into(),
        path: "/a".into(),
        query_string: "x=1".into(),
        ..Default::default()
    };
    let answer = invoke("HttpServer.HandleRequest", &encode(&request).unwrap()).unwrap();
    let response: httpserver::HttpResponse = decode(&answer).unwrap();
    assert_eq!(response.status_code, 200);
    assert_eq!(response.body, b"GET /a x=1");
    assert_eq!(response.header.get("content-type"), Some("text/plain"));

    let failing = httpserver::HttpRequest {
        path: "/fail".into(),
        ..request
    };
    let error = invoke("HttpServer.HandleRequest", &encode(&failing).unwrap()).unwrap_err();
    assert_eq!(error, GuestError::Handler("kv down".into()));

    let error = invoke("HttpServer.HandleRequest", b"\xc1").unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with(
            "HttpServer.HandleRequest: cannot decode the request (malformed HttpRequest message"
        ),
        "{text}"
    );
}

#[test]
fn message_handler_answers_under_both_operation_names() {
    crate::register_message_handler(|message| {
        if message.subject == "bad" {
            return Err("bad subject".into());
        }
        Ok(message
            .reply_to
            .map(|_| [b"re: ".as_slice(), &message.body].concat()))
    });
    let request = messaging::SubMessage {
        subject: "sensors.t1".into(),
        reply_to: Some("_INBOX.9".into()),
        body: b"21.5".to_vec(),
    };
    let payload = encode(&request).unwrap();
    for operation in ["Messaging.HandleMessage", "MessageSubscriber.HandleMessage"] {
        assert_eq!(invoke(operation, &payload).unwrap(), b"re: 21.5");
    }
    let no_reply = messaging::SubMessage {
        reply_to: None,
        ..request
    };
    let answer = invoke("Messaging.HandleMessage", &encode(&no_reply).unwrap()).unwrap();
    assert!(answer.is_empty());
    let bad = messaging::SubMessage {
        subject: "bad".into(),
        ..no_reply
    };
    let error = invoke("Messaging.HandleMessage", &encode(&bad).unwrap()).unwrap_err();
    assert_eq!(error.to_string(), "bad subject");
    let error = invoke("MessageSubscriber.HandleMessage", b"").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("MessageSubscriber.HandleMessage: cannot decode the request"),
        "{error}"
    );
}

#[test]
fn health_handler_accepts_empty_and_encoded_requests() {
    crate::register_health_handler(|_| {
        Ok(health::HealthCheckResponse {
            healthy: true,
            message: Some("fine".into()),
        })
    });
    for payload in [Vec::new(), encode(&health::HealthCheckRequest {}).unwrap()] {
        let answer = invoke("Actor.HealthRequest", &payload).unwrap();
        let response: health::HealthCheckResponse = decode(&answer).unwrap();
        assert!(response.healthy);
        assert_eq!(response.message.as_deref(), Some("fine"));
    }
}
