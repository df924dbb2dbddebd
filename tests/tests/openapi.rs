//! The committed `openapi.yaml` is what the code generates. Regenerate it with
//! `cargo run -q --bin carta -- openapi > openapi.yaml`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn committed_openapi_document_matches_the_code() {
    let committed = include_str!("../../openapi.yaml");
    let generated = carta_api::openapi_yaml().unwrap();
    assert!(
        committed == generated,
        "openapi.yaml is stale: run `cargo run -q --bin carta -- openapi > openapi.yaml` and commit it"
    );
}

#[test]
fn every_operation_is_documented_with_its_errors() {
    let document = carta_api::openapi();
    let json = serde_json::to_value(&document).unwrap();
    let paths = json["paths"].as_object().unwrap();
    for expected in [
        "/v1/services",
        "/v1/services/{id_or_slug}",
        "/v1/organizations",
        "/v1/organizations/{id_or_slug}",
        "/v1/topics",
        "/v1/life-events",
        "/v1/segments",
        "/v1/channel-types",
        "/v1/municipalities",
        "/v1/locations",
        "/v1/locations/{id}",
        "/health/live",
        "/health/ready",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    for (path, item) in paths {
        let get = &item["get"];
        assert!(get["summary"].is_string(), "{path} has no summary");
        assert!(get["responses"]["200"].is_object(), "{path} has no 200");
    }
}
