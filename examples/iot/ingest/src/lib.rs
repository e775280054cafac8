//! iot-ingest: receives sensor readings over messaging and keeps the latest one per sensor in
//! key-value, so any other actor (iot-dashboard) can serve them. It has no HTTP at all: devices
//! publish to `sensors.<id>` (directly on NATS, or through iot-dashboard's POST), and this actor
//! only sees the messages its manifest subscribes it to (`subscriptions = "sensors.>"`).
//!
//! Per reading `{"sensor":"t1","value":21.5}` on `sensors.t1`: `sensor:t1` ← the reading (JSON),
//! `t1` joins the set `sensors`, `readings` += 1. A message with a replyTo is answered `ok`.

use caplet_guest::{HandlerError, HandlerResult, SubMessage};
use serde_json::{Map, Value};

/// The subject prefix readings arrive on; the rest of the subject is the sensor id.
const SUBJECT_PREFIX: &str = "sensors.";

/// Registers the message handler; the host runs this once after instantiation.
// `no_mangle` is the only unsafe construct in this crate: the host finds `wapc_init` by name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    caplet_guest::register_message_handler(ingest);
}

fn ingest(message: SubMessage) -> HandlerResult<Option<Vec<u8>>> {
    let id = sensor_id(&message.subject)?;
    let reading = reading(id, &message.body)?;
    let kv = caplet_guest::kv();
    kv.set(&format!("sensor:{id}"), &reading)?;
    kv.set_add("sensors", id)?;
    let readings = kv.increment("readings", 1)?;
    caplet_guest::log!("sensor {id}: {reading} (reading {readings})");
    Ok(message.reply_to.map(|_| b"ok".to_vec()))
}

/// The `<id>` of `sensors.<id>`: 1 to 64 ASCII letters, digits, `-` or `_`.
fn sensor_id(subject: &str) -> HandlerResult<&str> {
    let id = subject.strip_prefix(SUBJECT_PREFIX).unwrap_or_default();
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if valid {
        Ok(id)
    } else {
        Err(HandlerError::new(format!(
            "iot-ingest: ignoring a message on {subject:?}: readings go to sensors.<id>, with an \
             id of 1 to 64 letters, digits, '-' or '_'"
        )))
    }
}

/// The stored form of a reading: the JSON object as sent, with `sensor` set to `id` (the
/// subject decides which sensor it is). It must have a numeric `value`.
fn reading(id: &str, body: &[u8]) -> HandlerResult<String> {
    let mut object: Map<String, Value> = serde_json::from_slice(body).map_err(|error| {
        HandlerError::new(format!(
            "iot-ingest: the reading for {id} is not a JSON object ({error}); send e.g. \
             {{\"sensor\":\"{id}\",\"value\":21.5}}"
        ))
    })?;
    if !object.get("value").is_some_and(Value::is_number) {
        return Err(HandlerError::new(format!(
            "iot-ingest: the reading for {id} has no numeric \"value\"; send e.g. \
             {{\"sensor\":\"{id}\",\"value\":21.5}}"
        )));
    }
    object.insert("sensor".to_owned(), Value::String(id.to_owned()));
    Ok(Value::Object(object).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use caplet_guest::testing::{clear_mock_host, mock_host};
    use caplet_guest::wire::{decode, encode, keyvalue};
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn a_reading_is_stored_indexed_counted_and_acknowledged() {
        let calls = Rc::new(RefCell::new(Vec::new()));
        let log = Rc::clone(&calls);
        mock_host(move |_, namespace, operation, payload| {
            assert_eq!(namespace, "wasmcloud:keyvalue");
            log.borrow_mut()
                .push((operation.to_owned(), payload.to_vec()));
            match operation {
                "KeyValue.Set" => Ok(Vec::new()),
                "KeyValue.SetAdd" => Ok(encode(&1u32).unwrap()),
                _ => Ok(encode(&5i32).unwrap()),
            }
        });
        let message = SubMessage {
            subject: "sensors.t1".into(),
            reply_to: Some("_INBOX.1".into()),
            body: br#"{"sensor":"t1","value":21.5,"unit":"C"}"#.to_vec(),
        };
        assert_eq!(ingest(message).unwrap(), Some(b"ok".to_vec()));

        let calls = calls.borrow();
        let set: keyvalue::SetRequest = decode(&calls[0].1).unwrap();
        assert_eq!(set.key, "sensor:t1");
        let stored: Value = serde_json::from_str(&set.value).unwrap();
        assert_eq!(stored["value"], 21.5);
        assert_eq!(stored["unit"], "C");
        let add: keyvalue::SetAddRequest = decode(&calls[1].1).unwrap();
        assert_eq!(
            (add.set_name.as_str(), add.value.as_str()),
            ("sensors", "t1")
        );
        assert_eq!(calls[2].0, "KeyValue.Increment");
        drop(calls);
        clear_mock_host();
    }

    #[test]
    fn bad_subjects_and_bodies_are_refused_before_any_host_call() {
        let message = |subject: &str, body: &[u8]| SubMessage {
            subject: subject.into(),
            reply_to: None,
            body: body.to_vec(),
        };
        for subject in ["sensors.", "sensors.a.b", "other.t1"] {
            let error = ingest(message(subject, br#"{"value":1}"#)).unwrap_err();
            assert!(error.message().contains("sensors.<id>"), "{error:?}");
        }
        let error = ingest(message("sensors.t1", b"21.5")).unwrap_err();
        assert!(error.message().contains("not a JSON object"), "{error:?}");
        let error = ingest(message("sensors.t1", br#"{"value":"hot"}"#)).unwrap_err();
        assert!(error.message().contains("numeric"), "{error:?}");
    }
}
