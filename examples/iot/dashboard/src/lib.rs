//! iot-dashboard: the HTTP side of the IoT example. It reads what iot-ingest stored in the
//! shared key-value store and, for devices that only speak HTTP, forwards posted readings to
//! messaging, where iot-ingest picks them up. The two actors never call each other: they share
//! a store and a subject space, so either can be replaced or scaled on its own.
//!
//! - `GET /sensors`       → `{"readings":N,"sensors":{"t1":{...},...}}`
//! - `GET /sensors/<id>`  → the latest reading of `<id>`, or 404
//! - `POST /sensors/<id>` → publishes the JSON body to `sensors.<id>`, answers 202

use caplet_guest::{HandlerError, HandlerResult, HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

/// Registers the HTTP handler; the host runs this once after instantiation.
// `no_mangle` is the only unsafe construct in this crate: the host finds `wapc_init` by name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    caplet_guest::register_http_handler(route);
}

fn route(request: HttpRequest) -> HandlerResult<HttpResponse> {
    let path = request.path.trim_end_matches('/');
    let sensor = path.strip_prefix("/sensors/");
    match (request.method.as_str(), path, sensor) {
        ("GET", "/sensors", _) => all_sensors(),
        ("GET", _, Some(id)) => one_sensor(id),
        ("POST", _, Some(id)) => publish_reading(id, &request.body),
        (_, "/sensors", _) => Ok(not_allowed("GET")),
        (_, _, Some(_)) => Ok(not_allowed("GET, POST")),
        _ => Ok(HttpResponse::text(
            404,
            "not found; try GET /sensors, GET /sensors/<id> or POST /sensors/<id>\n",
        )),
    }
}

/// Every sensor's latest reading (sorted by id) and the total number of readings.
fn all_sensors() -> HandlerResult<HttpResponse> {
    let kv = caplet_guest::kv();
    let mut ids = kv.set_query("sensors")?;
    ids.sort();
    let mut sensors = Map::new();
    for id in ids {
        if let Some(reading) = kv.get(&format!("sensor:{id}"))? {
            sensors.insert(id, parse_stored(&reading));
        }
    }
    let readings = kv
        .get("readings")?
        .and_then(|count| count.parse::<u64>().ok())
        .unwrap_or(0);
    json_response(200, &json!({ "readings": readings, "sensors": sensors }))
}

fn one_sensor(id: &str) -> HandlerResult<HttpResponse> {
    match caplet_guest::kv().get(&format!("sensor:{id}"))? {
        Some(reading) => json_response(200, &parse_stored(&reading)),
        None => Ok(HttpResponse::text(
            404,
            format!("no reading from sensor {id:?} yet\n"),
        )),
    }
}

/// Checks the body the way iot-ingest will (so a bad reading is a 400 here rather than an
/// error in another actor's log) and publishes it to `sensors.<id>`.
fn publish_reading(id: &str, body: &[u8]) -> HandlerResult<HttpResponse> {
    let valid_id = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if !valid_id {
        return Ok(HttpResponse::text(
            400,
            "a sensor id is 1 to 64 letters, digits, '-' or '_'\n",
        ));
    }
    let reading: Result<Map<String, Value>, _> = serde_json::from_slice(body);
    if !reading.is_ok_and(|object| object.get("value").is_some_and(Value::is_number)) {
        return Ok(HttpResponse::text(
            400,
            format!(
                "the body must be a JSON object with a numeric \"value\", e.g. \
                 {{\"sensor\":\"{id}\",\"value\":21.5}}\n"
            ),
        ));
    }
    let subject = format!("sensors.{id}");
    caplet_guest::msg().publish(&subject, body)?;
    json_response(202, &json!({ "published": subject }))
}

/// A stored reading as JSON; text that is not JSON (written by something else) stays a string.
fn parse_stored(reading: &str) -> Value {
    serde_json::from_str(reading).unwrap_or_else(|_| Value::String(reading.to_owned()))
}

fn json_response(status: u16, value: &Value) -> HandlerResult<HttpResponse> {
    let mut body = serde_json::to_vec(value).map_err(HandlerError::from)?;
    body.push(b'\n');
    let mut response = HttpResponse::ok("application/json", body);
    response.status_code = status;
    Ok(response)
}

fn not_allowed(allow: &str) -> HttpResponse {
    let mut response = HttpResponse::text(405, format!("method not allowed; use {allow}\n"));
    response.header.append("Allow", allow);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use caplet_guest::testing::{clear_mock_host, mock_host};
    use caplet_guest::wire::{decode, encode, keyvalue, messaging};

    fn request(method: &str, path: &str, body: &[u8]) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            path: path.into(),
            body: body.to_vec(),
            ..HttpRequest::default()
        }
    }

    fn get_response(value: &str) -> Vec<u8> {
        encode(&keyvalue::GetResponse {
            value: value.into(),
            exists: true,
        })
        .unwrap()
    }

    #[test]
    fn get_sensors_lists_every_reading_and_the_count() {
        mock_host(|_, _, operation, payload| match operation {
            "KeyValue.SetQuery" => Ok(encode(&["t2", "t1"]).unwrap()),
            "KeyValue.Get" => match decode::<String>(payload).unwrap().as_str() {
                "readings" => Ok(get_response("3")),
                "sensor:t1" => Ok(get_response(r#"{"sensor":"t1","value":21.5}"#)),
                "sensor:t2" => Ok(get_response(r#"{"sensor":"t2","value":-4}"#)),
                other => panic!("unexpected key {other}"),
            },
            other => panic!("unexpected {other}"),
        });
        let response = route(request("GET", "/sensors/", b"")).unwrap();
        assert_eq!(response.status_code, 200);
        let json: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(json["readings"], 3);
        assert_eq!(json["sensors"]["t1"]["value"], 21.5);
        assert_eq!(json["sensors"]["t2"]["value"], -4);
        clear_mock_host();
    }

    #[test]
    fn post_publishes_the_reading_to_its_subject() {
        mock_host(|_, namespace, operation, payload| {
            assert_eq!(
                (namespace, operation),
                ("wasmcloud:messaging", "Messaging.Publish")
            );
            let message: messaging::PubMessage = decode(payload).unwrap();
            assert_eq!(message.subject, "sensors.t1");
            assert_eq!(message.body, br#"{"value":21.5}"#);
            Ok(Vec::new())
        });
        let response = route(request("POST", "/sensors/t1", br#"{"value":21.5}"#)).unwrap();
        assert_eq!(response.status_code, 202);
        clear_mock_host();
    }

    #[test]
    fn bad_requests_never_reach_a_capability() {
        let status =
            |method, path, body: &[u8]| route(request(method, path, body)).unwrap().status_code;
        assert_eq!(status("POST", "/sensors/t1", b"21.5"), 400);
        assert_eq!(status("POST", "/sensors/a.b", br#"{"value":1}"#), 400);
        assert_eq!(status("DELETE", "/sensors", b""), 405);
        assert_eq!(status("PUT", "/sensors/t1", b""), 405);
        assert_eq!(status("GET", "/", b""), 404);
    }
}
