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
        "/v1/services/{id}/locations",
        "/v1/organizations",
        "/v1/organizations/{id_or_slug}",
        "/v1/topics",
        "/v1/topics/{id_or_slug}",
        "/v1/life-events",
        "/v1/life-events/{id_or_slug}",
        "/v1/segments",
        "/v1/channel-types",
        "/v1/municipalities",
        "/v1/municipalities/{ibge_code}",
        "/v1/locations",
        "/v1/locations/{id}",
        "/health/live",
        "/health/ready",
        "/v1/auth/token",
        "/.well-known/jwks.json",
        "/v1/services/{id}/draft",
        "/v1/services/{id}/submit",
        "/v1/services/{id}/publish",
        "/v1/services/{id}/archive",
        "/v1/services/{id}/restore",
        "/v1/services/{id}/revisions",
        "/v1/services/{id}/revisions/{number}",
        "/v1/services/{id}/revisions/{number}/diff/{to}",
        "/v1/services/{id}/revisions/{number}/rollback",
        "/v1/audit",
        "/v1/changes",
        "/v1/webhooks",
        "/v1/webhooks/{id}",
        "/v1/webhooks/{id}/deliveries",
        "/v1/services/{id_or_slug}/feedback",
        "/v1/services/{id_or_slug}/ratings",
        "/v1/services/{id_or_slug}/opinion",
        "/v1/organizations/{id_or_slug}/opinion",
        "/v1/organizations/{id_or_slug}/panel",
        "/v1/organizations/{id_or_slug}/feedback",
        "/v1/organizations/{id_or_slug}/ratings",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            assert!(
                operation["summary"].is_string(),
                "{method} {path} has no summary"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|code| code.starts_with('2')),
                "{method} {path} has no success response"
            );
            // Every operation that needs a token says so, with the least role it requires,
            // and documents the 401 and 403 it answers.
            let secured = operation["security"].as_array().is_some();
            let public = method == "get"
                && !path.contains("/draft")
                && !path.contains("/revisions")
                && path != "/v1/audit"
                && !path.starts_with("/v1/webhooks")
                && !(path.starts_with("/v1/organizations/")
                    && (path.ends_with("/feedback") || path.ends_with("/ratings")));
            // Citizens vote anonymously.
            let open_write = path == "/v1/auth/token"
                || (path.starts_with("/v1/services/")
                    && (path.ends_with("/feedback") || path.ends_with("/ratings")));
            assert_eq!(secured, !public && !open_write, "{method} {path}: security");
            // A partner's own webhooks: another's are 404, never 403 (only naming an owner is).
            let own_only = path.starts_with("/v1/webhooks") && method != "post";
            if secured {
                let roles = operation["security"][0]["bearer"].as_array().unwrap();
                assert_eq!(roles.len(), 1, "{method} {path}: one required role");
                assert!(
                    responses.contains_key("401") && (responses.contains_key("403") || own_only),
                    "{method} {path}"
                );
            }
        }
    }
    assert_eq!(
        json["components"]["securitySchemes"]["bearer"]["scheme"], "bearer",
        "the bearer scheme is documented"
    );
}

/// Client generators stop at a reference to a schema the document does not hold (as a query
/// parameter's enum once was); clients/check proves the rest, this fails fast without node or python.
#[test]
fn every_reference_resolves() {
    fn references<'a>(value: &'a serde_json::Value, found: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::Object(members) => {
                for (name, member) in members {
                    match member {
                        serde_json::Value::String(target) if name == "$ref" => found.push(target),
                        _ => references(member, found),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                items.iter().for_each(|item| references(item, found))
            }
            _ => {}
        }
    }
    let json = serde_json::to_value(carta_api::openapi()).unwrap();
    let mut found = Vec::new();
    references(&json, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let pointer = target.strip_prefix('#').unwrap_or(target);
        assert!(
            target.starts_with("#/") && json.pointer(pointer).is_some(),
            "{target} does not resolve"
        );
    }
}
