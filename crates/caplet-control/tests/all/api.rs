//! Auth, malformed requests, actors (start, hot swap, stop), metrics and the probes.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn requests_without_the_right_token_are_refused_and_change_nothing() {
    let rig = Rig::new().await;
    let before = rig.inventory().await;
    let module = rig.sign(PROBE, &module_key(), "probe", &[], 1);
    let start = json!({ "name": "probe", "module_base64": base64(&module) });
    let wrong = caplet_control::Token::generate()
        .unwrap()
        .as_str()
        .to_string();
    for client in [
        rig.client_with(None),
        rig.client_with(Some(&wrong)),
        rig.client_with(Some("")),
    ] {
        for (method, path) in [
            ("POST", "/v1/actors"),
            ("GET", "/v1/inventory"),
            ("GET", "/metrics"),
            ("GET", "/v1/health"),
            ("DELETE", "/v1/providers/wasmcloud:builtin:logging/default"),
            ("GET", "/no/such/endpoint"),
        ] {
            let reply = client.send(method, path, Some(&start)).await.unwrap();
            assert_eq!(reply.status, 401, "{method} {path}: {}", reply.text());
            assert!(
                reply.error_message().contains("bearer token"),
                "{}",
                reply.text()
            );
        }
    }
    // A Basic header with the right secret is not a bearer token either.
    let basic = format!("Authorization: Basic {}", rig.token.as_str());
    assert_eq!(rig.raw_status("GET /v1/inventory", &basic).await, 401);
    let lower = format!("authorization: bearer {}", rig.token.as_str());
    assert_eq!(rig.raw_status("GET /v1/inventory", &lower).await, 200);
    assert_eq!(rig.inventory().await, before, "nothing may change");
    assert!(rig.host.actors().is_empty());
}

#[tokio::test]
async fn probes_answer_without_a_token_and_readyz_fails_at_shutdown() {
    let rig = Rig::new().await;
    let anonymous = rig.client_with(None);
    for path in ["/livez", "/readyz"] {
        let reply = anonymous.send::<()>("GET", path, None).await.unwrap();
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    }
    rig.host.shutdown().await;
    let ready = anonymous.send::<()>("GET", "/readyz", None).await.unwrap();
    assert_eq!(ready.status, 503, "{}", ready.text());
    let live = anonymous.send::<()>("GET", "/livez", None).await.unwrap();
    assert_eq!(live.status, 200);
    let health = rig.get("/v1/health").await;
    assert_eq!(health.status, 503);
    assert!(health.text().contains("shutting down"), "{}", health.text());
}

#[tokio::test]
async fn malformed_requests_get_400_or_404_with_the_reason() {
    let rig = Rig::new().await;
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "POST",
            "/v1/actors",
            b"{not json".to_vec(),
            400,
            "invalid JSON",
        ),
        (
            "POST",
            "/v1/actors",
            b"{}".to_vec(),
            400,
            "missing field `name`",
        ),
        (
            "POST",
            "/v1/actors",
            br#"{"name":"a","pth":"x"}"#.to_vec(),
            400,
            "unknown field `pth`",
        ),
        (
            "POST",
            "/v1/actors",
            br#"{"name":"a"}"#.to_vec(),
            400,
            "missing module",
        ),
        (
            "POST",
            "/v1/actors",
            br#"{"name":"Bad Name","module_base64":"AA=="}"#.to_vec(),
            400,
            "invalid actor name",
        ),
        (
            "POST",
            "/v1/actors",
            br#"{"name":"a","module_base64":"%%%"}"#.to_vec(),
            400,
            "not valid base64",
        ),
        (
            "POST",
            "/v1/actors",
            br#"{"name":"a","path":"/nonexistent/x.wasm"}"#.to_vec(),
            400,
            "cannot read the module",
        ),
        (
            "POST",
            "/v1/actors",
            br#"{"name":"a","module_base64":"AA==","instances":100000}"#.to_vec(),
            400,
            "instances",
        ),
        (
            "POST",
            "/v1/actors",
            br#"{"name":"a","module_base64":"AGFzbQEAAAA="}"#.to_vec(),
            400,
            "unsigned",
        ),
        ("POST", "/v1/actors", Vec::new(), 400, "needs a JSON body"),
        (
            "PUT",
            "/v1/actors/nobody",
            br#"{"module_base64":"AA=="}"#.to_vec(),
            404,
            "no actor named `nobody`",
        ),
        (
            "DELETE",
            "/v1/actors/nobody",
            Vec::new(),
            404,
            "no actor named `nobody`",
        ),
        (
            "DELETE",
            "/v1/providers/wasmcloud:keyvalue/default",
            Vec::new(),
            404,
            "no `wasmcloud:keyvalue` provider",
        ),
        (
            "DELETE",
            "/v1/providers/wasmcloud:builtin:logging",
            Vec::new(),
            400,
            "built into the host",
        ),
        (
            "POST",
            "/v1/providers",
            br#"{"contract":"acme:nope"}"#.to_vec(),
            400,
            "no built-in provider serves `acme:nope`",
        ),
        (
            "POST",
            "/v1/providers",
            br#"{"contract":"wasmcloud:keyvalue","implementation":"etcd"}"#.to_vec(),
            400,
            "choose one of: memory, redis",
        ),
        (
            "PUT",
            "/v1/links",
            br#"{"actor":"nobody","contract":"wasmcloud:keyvalue"}"#.to_vec(),
            404,
            "no actor named `nobody`",
        ),
        (
            "DELETE",
            "/v1/links",
            br#"{"actor":"nobody","contract":"wasmcloud:keyvalue"}"#.to_vec(),
            404,
            "no link",
        ),
        ("GET", "/v2/everything", Vec::new(), 404, "no endpoint"),
        ("POST", "/v1/inventory", Vec::new(), 405, "use GET"),
    ];
    for (method, path, body, status, reason) in cases {
        let reply = rig
            .client
            .send_raw(method, path, body.clone())
            .await
            .unwrap();
        assert_eq!(
            reply.status,
            status,
            "{method} {path} {}: {}",
            String::from_utf8_lossy(&body),
            reply.text()
        );
        let error = reply.error_message();
        assert!(
            error.contains(reason),
            "{method} {path}: `{error}` lacks `{reason}`"
        );
    }
    assert!(rig.host.actors().is_empty());
}

#[tokio::test]
async fn actors_start_update_and_stop_through_the_api() {
    let rig = Rig::new().await;
    let key = module_key();
    let v1 = rig.sign(PROBE, &key, "probe", &[], 1);
    let path = rig.dir.path().join("probe-v1.wasm");
    std::fs::write(&path, &v1).unwrap();

    let started = rig
        .send(
            "POST",
            "/v1/actors",
            &json!({ "name": "probe", "path": path, "instances": 2 }),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.text());
    let actor: serde_json::Value = started.json().unwrap();
    assert_eq!(actor["name"], "probe");
    assert_eq!(actor["id"], key.public_key());
    assert_eq!(actor["rev"], 1);
    assert_eq!(actor["idle_instances"], 2);
    let again = rig
        .send(
            "POST",
            "/v1/actors",
            &json!({ "name": "probe", "path": path }),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text());

    let v2 = rig.sign(PROBE, &key, "probe", &[], 2);
    let update = json!({ "module_base64": base64(&v2) });
    let swapped = rig.send("PUT", "/v1/actors/probe", &update).await;
    assert_eq!(swapped.status, 200, "{}", swapped.text());
    let report: serde_json::Value = swapped.json().unwrap();
    assert_eq!(
        (report["old_rev"].as_i64(), report["new_rev"].as_i64()),
        (Some(1), Some(2))
    );
    assert_ne!(report["old_hash"], report["new_hash"]);
    let inventory = rig.inventory().await;
    assert_eq!(inventory["actors"][0]["ver"], "2.0.0");
    assert_eq!(inventory["actors"][0]["module_hash"], report["new_hash"]);
    assert_eq!(
        rig.host.call_actor("probe", "echo", b"hi").await.unwrap(),
        b"hi"
    );

    // Same rev again: refused unless forced; another module key: refused.
    let same = rig.send("PUT", "/v1/actors/probe", &update).await;
    assert_eq!(same.status, 409, "{}", same.text());
    assert!(
        same.error_message().contains("not higher"),
        "{}",
        same.text()
    );
    let forced = json!({ "module_base64": base64(&v1), "force_rev": true });
    let rollback = rig.send("PUT", "/v1/actors/probe", &forced).await;
    assert_eq!(rollback.status, 200, "{}", rollback.text());
    let stranger = rig.sign(PROBE, &module_key(), "probe", &[], 9);
    let other = json!({ "module_base64": base64(&stranger) });
    let refused = rig.send("PUT", "/v1/actors/probe", &other).await;
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert!(
        refused.error_message().contains("force_new_identity"),
        "{}",
        refused.text()
    );

    // With `force_new_identity` the actor is known by the new key from now on.
    let new_key = module_key();
    let renamed = rig.sign(PROBE, &new_key, "probe", &[], 3);
    let forced = json!({ "module_base64": base64(&renamed), "force_new_identity": true });
    let changed = rig.send("PUT", "/v1/actors/probe", &forced).await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    let report: serde_json::Value = changed.json().unwrap();
    assert_eq!(report["old_id"], key.public_key());
    assert_eq!(report["new_id"], new_key.public_key());
    assert_eq!(
        rig.inventory().await["actors"][0]["id"],
        new_key.public_key()
    );
    assert_eq!(
        rig.host
            .call_actor(&new_key.public_key(), "echo", b"hi")
            .await
            .unwrap(),
        b"hi"
    );
    assert!(
        rig.host
            .call_actor(&key.public_key(), "echo", b"hi")
            .await
            .is_err()
    );

    let stopped = rig
        .client
        .send::<()>("DELETE", "/v1/actors/probe", None)
        .await
        .unwrap();
    assert_eq!(stopped.status, 200, "{}", stopped.text());
    assert!(
        rig.inventory().await["actors"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn metrics_count_calls_errors_swaps_and_provider_health() {
    let rig = Rig::new().await;
    let key = module_key();
    let v1 = rig.sign(PROBE, &key, "probe", &[], 1);
    let started = rig
        .send(
            "POST",
            "/v1/actors",
            &json!({ "name": "probe", "module_base64": base64(&v1) }),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.text());
    for _ in 0..3 {
        rig.host.call_actor("probe", "echo", b"x").await.unwrap();
    }
    rig.host
        .call_actor("probe", "fail", b"no")
        .await
        .unwrap_err();
    let v2 = rig.sign(PROBE, &key, "probe", &[], 2);
    let swapped = rig
        .send(
            "PUT",
            "/v1/actors/probe",
            &json!({ "module_base64": base64(&v2) }),
        )
        .await;
    assert_eq!(swapped.status, 200, "{}", swapped.text());

    let reply = rig.get("/metrics").await;
    assert_eq!(reply.status, 200);
    let text = reply.text();
    for line in [
        "# TYPE caplet_actor_calls_total counter",
        "caplet_actor_calls_total{actor=\"probe\",operation=\"echo\"} 3",
        "caplet_actor_calls_total{actor=\"probe\",operation=\"fail\"} 1",
        "caplet_actor_call_errors_total{actor=\"probe\",operation=\"fail\",kind=\"actor_failed\"} 1",
        "# TYPE caplet_actor_call_duration_seconds histogram",
        "caplet_actor_call_duration_seconds_bucket{actor=\"probe\",operation=\"echo\",le=\"+Inf\"} 3",
        "caplet_actor_call_duration_seconds_count{actor=\"probe\",operation=\"echo\"} 3",
        "caplet_actor_instances_idle{actor=\"probe\"} 1",
        "caplet_actor_swaps_total{actor=\"probe\"} 1",
        "caplet_provider_healthy{contract=\"wasmcloud:builtin:logging\",link_name=\"default\",implementation=\"builtin\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    assert!(
        !text.contains("operation=\"echo\",kind="),
        "no errors for echo:\n{text}"
    );
}
