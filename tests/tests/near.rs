//! "Near me": service units nearest first (`/v1/locations?near=`) and where a published service
//! is offered near a point (`/v1/services/{id}/locations`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use carta_tests::{app, app_for, get, ok, state, Reply, TestDb};
use diesel_async::SimpleAsyncConnection;
use domain::near::haversine_km;
use domain::place::GeoPoint;
use persistence::seed;
use serde_json::Value;

/// The municipalities' points in the seed (IBGE): where a citizen in town asks from.
const CUIABA: GeoPoint = GeoPoint {
    lat: -15.601,
    lon: -56.0974,
};
const RONDONOPOLIS: GeoPoint = GeoPoint {
    lat: -16.4673,
    lon: -54.6372,
};
const ALTA_FLORESTA: GeoPoint = GeoPoint {
    lat: -9.86674,
    lon: -56.0867,
};

const GANHA_TEMPO_RONDONOPOLIS: &str = "00000000-0000-4000-8000-000000000004";
const CIN: &str = "emitir-carteira-identidade-cin";

fn near(point: GeoPoint) -> String {
    format!("{},{}", point.lat, point.lon)
}

async fn execute(db: &TestDb, sql: &str) {
    let mut conn = db.connect().await;
    conn.batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn items(body: &Value) -> &Vec<Value> {
    body["items"].as_array().expect("items")
}

fn ids(body: &Value) -> Vec<String> {
    items(body)
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

fn distances(body: &Value) -> Vec<f64> {
    items(body)
        .iter()
        .map(|item| item["distance_km"].as_f64().expect("distance_km"))
        .collect()
}

/// The seeded units (id, point) within `radius_km` of `from`, nearest first, checking that none
/// lies so close to the edge that rounding could decide it.
fn seeded_within(from: GeoPoint, radius_km: f64) -> Vec<(String, f64)> {
    let data = seed::data().unwrap();
    let mut within: Vec<(String, f64)> = data
        .locations
        .iter()
        .filter_map(|l| l.point.map(|p| (l.id.to_string(), haversine_km(from, p))))
        .inspect(|(id, d)| assert!((d - radius_km).abs() > 0.05, "{id} is on the edge"))
        .filter(|(_, d)| *d <= radius_km)
        .collect();
    within.sort_by(|a, b| a.1.total_cmp(&b.1));
    within
}

#[actix_web::test]
async fn units_near_a_point_come_nearest_first_with_their_distance() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;

    // From Cuiabá, the default radius (50 km) holds the units of Cuiabá and Várzea Grande only.
    let body = ok(
        &app,
        &format!("/v1/locations?near={}&per_page=100", near(CUIABA)),
    )
    .await;
    let expected = seeded_within(CUIABA, 50.0);
    assert!(expected.len() >= 10, "{expected:?}");
    assert_eq!(body["total"], expected.len());
    let got: BTreeSet<String> = ids(&body).into_iter().collect();
    let want: BTreeSet<String> = expected.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(got, want);
    assert_eq!(ids(&body)[0], expected[0].0, "the nearest first");
    let shown = distances(&body);
    assert!(shown.windows(2).all(|w| w[0] <= w[1]), "{shown:?}");
    for (item, d) in items(&body).iter().zip(&shown) {
        let (_, exact) = expected
            .iter()
            .find(|(id, _)| item["id"] == id.as_str())
            .unwrap();
        // Rounded to 10 m, from the same great circle.
        assert!((d - exact).abs() <= 0.006, "{item}: {d} vs {exact}");
        assert!(
            (d * 100.0 - (d * 100.0).round()).abs() < 1e-6,
            "two decimals: {d}"
        );
        assert!(item["point"].is_object() && item["name"].is_string());
        assert!(*d <= 50.0);
    }
    let municipalities: BTreeSet<i64> = items(&body)
        .iter()
        .map(|item| item["municipality"]["ibge_code"].as_i64().unwrap())
        .collect();
    assert_eq!(municipalities, BTreeSet::from([5103403, 5108402]));

    // From Rondonópolis, its two units, the Ganha Tempo one at a known distance from Cuiabá.
    let body = ok(&app, &format!("/v1/locations?near={}", near(RONDONOPOLIS))).await;
    let expected = seeded_within(RONDONOPOLIS, 50.0);
    assert_eq!(
        ids(&body),
        expected
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(body["total"], 2);
    assert!(items(&body)
        .iter()
        .all(|item| item["municipality"]["name"] == "Rondonópolis"));

    let far = ok(
        &app,
        &format!(
            "/v1/locations?near={}&radius_km=500&per_page=100",
            near(CUIABA)
        ),
    )
    .await;
    let rondonopolis = items(&far)
        .iter()
        .find(|item| item["id"] == GANHA_TEMPO_RONDONOPOLIS)
        .expect("Rondonópolis is within 500 km of Cuiabá");
    // About 183 km in a straight line (the road is some 215 km); 183.621 km on the sphere.
    let d = rondonopolis["distance_km"].as_f64().unwrap();
    assert!((d - 183.0).abs() < 2.0, "{d}");
    assert_eq!(d, 183.62);

    // Without `near` there is no distance and the order is by name.
    let plain = ok(&app, "/v1/locations?per_page=100").await;
    assert!(items(&plain)
        .iter()
        .all(|item| item.get("distance_km").is_none()));
}

#[actix_web::test]
async fn the_radius_bounds_the_list() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    for radius in [1.0, 10.0, 50.0, 150.0, 250.0, 500.0] {
        let body = ok(
            &app,
            &format!(
                "/v1/locations?near={}&radius_km={radius}&per_page=100",
                near(CUIABA)
            ),
        )
        .await;
        let expected: Vec<String> = seeded_within(CUIABA, radius)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(body["total"], expected.len(), "{radius} km");
        let got: BTreeSet<String> = ids(&body).into_iter().collect();
        assert_eq!(got, expected.iter().cloned().collect(), "{radius} km");
        assert!(distances(&body).iter().all(|d| *d <= radius), "{radius} km");
    }
    // Within 10 km: Cuiabá and Várzea Grande, not Rondonópolis (~183 km) nor Sinop (~350 km).
    let small = ok(
        &app,
        &format!("/v1/locations?near={}&radius_km=10", near(CUIABA)),
    )
    .await;
    assert!(!ids(&small).contains(&GANHA_TEMPO_RONDONOPOLIS.to_owned()));
    // Decimal radii are fine.
    let tiny = ok(
        &app,
        &format!("/v1/locations?near={}&radius_km=0.5", near(CUIABA)),
    )
    .await;
    assert!(distances(&tiny).iter().all(|d| *d <= 0.5));
    // Nothing near the middle of the Pantanal: an empty page, not an error.
    let none = ok(&app, "/v1/locations?near=-18.0,-57.0&radius_km=5").await;
    assert_eq!(none["total"], 0);
    assert!(items(&none).is_empty());
}

#[actix_web::test]
async fn ties_break_by_name_then_id_and_units_without_coordinates_are_left_out() {
    let db = TestDb::seeded().await;
    // Three units on the same spot, two of them with the same name; one unit with no point.
    execute(
        &db,
        "UPDATE locations SET lat = -15.5, lon = -56.5 WHERE id IN (
             '00000000-0000-4000-8000-000000000017', '00000000-0000-4000-8000-000000000014',
             '00000000-0000-4000-8000-000000000023');
         UPDATE locations SET name = 'Defensoria Pública – Núcleo de Cuiabá'
             WHERE id = '00000000-0000-4000-8000-000000000023';
         UPDATE locations SET lat = NULL, lon = NULL
             WHERE id = '00000000-0000-4000-8000-000000000001';",
    )
    .await;
    let app = app(&db).await;
    let body = ok(&app, "/v1/locations?near=-15.5,-56.5&radius_km=1").await;
    assert_eq!(
        ids(&body),
        [
            // Same distance and name: by id.
            "00000000-0000-4000-8000-000000000014",
            "00000000-0000-4000-8000-000000000023",
            // "JUCEMAT" after "Defensoria".
            "00000000-0000-4000-8000-000000000017",
        ]
    );
    assert_eq!(distances(&body), [0.0, 0.0, 0.0]);

    let cuiaba = ok(
        &app,
        &format!(
            "/v1/locations?near={}&radius_km=500&per_page=100",
            near(CUIABA)
        ),
    )
    .await;
    assert!(!ids(&cuiaba).contains(&"00000000-0000-4000-8000-000000000001".to_owned()));
    let all = ok(&app, "/v1/locations?per_page=100").await;
    assert!(ids(&all).contains(&"00000000-0000-4000-8000-000000000001".to_owned()));
    // The seed's units within 500 km of Cuiabá, less the one without a point (the three moved
    // ones stay within it).
    let within = seeded_within(CUIABA, 500.0)
        .into_iter()
        .filter(|(id, _)| id != "00000000-0000-4000-8000-000000000001")
        .count();
    assert_eq!(cuiaba["total"], within);
}

#[actix_web::test]
async fn near_combines_with_the_other_filters_and_fields() {
    let db = TestDb::seeded().await;
    execute(
        &db,
        "UPDATE locations SET updated_at = '2020-01-01T00:00:00Z';
         UPDATE locations SET updated_at = '2026-06-01T00:00:00Z'
             WHERE id IN ('00000000-0000-4000-8000-000000000003',
                          '00000000-0000-4000-8000-000000000004');",
    )
    .await;
    let app = app(&db).await;
    let at = near(CUIABA);

    let ganha_tempo = ok(
        &app,
        &format!("/v1/locations?near={at}&organization=ganha-tempo"),
    )
    .await;
    assert_eq!(ganha_tempo["total"], 3, "{ganha_tempo}");
    assert!(items(&ganha_tempo)
        .iter()
        .all(|item| item["organization"]["slug"] == "ganha-tempo"));
    let shown = distances(&ganha_tempo);
    assert!(shown.windows(2).all(|w| w[0] <= w[1]));

    let varzea_grande = ok(
        &app,
        &format!("/v1/locations?near={at}&municipality=5108402"),
    )
    .await;
    assert_eq!(varzea_grande["total"], 2, "{varzea_grande}");
    assert!(items(&varzea_grande)
        .iter()
        .all(|item| item["municipality"]["ibge_code"] == 5108402));

    // Changed since: Várzea Grande's Ganha Tempo within 50 km; Rondonópolis's only within 200.
    let changed = ok(
        &app,
        &format!("/v1/locations?near={at}&modified_after=2025-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(ids(&changed), ["00000000-0000-4000-8000-000000000003"]);
    let changed = ok(
        &app,
        &format!("/v1/locations?near={at}&radius_km=200&modified_after=2025-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(
        ids(&changed),
        [
            "00000000-0000-4000-8000-000000000003",
            GANHA_TEMPO_RONDONOPOLIS
        ]
    );

    // `distance_km` is a member `fields` may choose.
    let minimal = ok(
        &app,
        &format!("/v1/locations?near={at}&fields=id,distance_km&per_page=3"),
    )
    .await;
    for item in items(&minimal) {
        let keys: BTreeSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(["id", "distance_km"]), "{item}");
    }
    let only_distance = ok(
        &app,
        &format!("/v1/locations?near={at}&fields=distance_km&per_page=3"),
    )
    .await;
    assert!(items(&only_distance)
        .iter()
        .all(|item| item.as_object().unwrap().len() == 1 && item["distance_km"].is_f64()));
}

#[actix_web::test]
async fn pages_under_near_follow_the_distance_order() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let base = format!("/v1/locations?near={}&radius_km=500", near(CUIABA));
    let whole = ok(&app, &format!("{base}&per_page=100")).await;
    let total = whole["total"].as_i64().unwrap();
    assert!(total > 10);
    let mut paged = Vec::new();
    let mut page = 1;
    loop {
        let uri = format!("{base}&per_page=4&page={page}");
        let reply = get(&app, &uri).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let link = reply.header("link").unwrap().to_owned();
        assert!(link.contains("near="), "{link}");
        let body = reply.json();
        assert_eq!(body["total"], total);
        assert_eq!(body["page"], page);
        paged.extend(ids(&body));
        if !link.contains("rel=\"next\"") {
            break;
        }
        page += 1;
    }
    assert_eq!(paged, ids(&whole));
    let past = get(&app, &format!("{base}&per_page=4&page={}", page + 1)).await;
    past.problem(422, "invalid_query");
}

/// The parameter errors of a 422, as (parameter, code).
fn errors(reply: &Reply) -> Vec<(String, String)> {
    let body = reply.problem(422, "invalid_query");
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(
                e["message"].as_str().is_some_and(|m| m.len() > 10),
                "a message: {e}"
            );
            (
                e["parameter"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn bad_points_and_radii_are_422_with_an_error_per_parameter() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("near=abc", &[("near", "invalid")]),
        ("near=", &[("near", "invalid")]),
        ("near=-15.6", &[("near", "invalid")]),
        ("near=-15.6,-56.1,3", &[("near", "invalid")]),
        ("near=-15.6;-56.1", &[("near", "invalid")]),
        ("near=1e1,-56", &[("near", "invalid")]),
        ("near=NaN,-56", &[("near", "invalid")]),
        ("near=-15.6,inf", &[("near", "invalid")]),
        ("near=-95,-56", &[("near", "out_of_range")]),
        ("near=-15,-190", &[("near", "out_of_range")]),
        // Swapped: a longitude read as a latitude lands in the South Atlantic.
        ("near=-56.0974,-15.601", &[("near", "outside_brazil")]),
        ("near=40.7,-74.0", &[("near", "outside_brazil")]),
        ("near=-34.6,-58.4", &[("near", "outside_brazil")]),
        (
            "near=-15.6,-56.1&radius_km=0",
            &[("radius_km", "out_of_range")],
        ),
        (
            "near=-15.6,-56.1&radius_km=-5",
            &[("radius_km", "out_of_range")],
        ),
        (
            "near=-15.6,-56.1&radius_km=500.01",
            &[("radius_km", "out_of_range")],
        ),
        (
            "near=-15.6,-56.1&radius_km=abc",
            &[("radius_km", "invalid")],
        ),
        (
            "near=-15.6,-56.1&radius_km=1e2",
            &[("radius_km", "invalid")],
        ),
        ("radius_km=10", &[("radius_km", "requires_near")]),
        (
            "near=abc&radius_km=0",
            &[("near", "invalid"), ("radius_km", "out_of_range")],
        ),
        (
            "near=-15.6,-56.1&near=-15.6,-56.1",
            &[("near", "duplicate")],
        ),
        (
            "near=-15.6,-56.1&fields=id,distance",
            &[("fields", "unknown_field")],
        ),
    ];
    let service = format!("/v1/services/{CIN}/locations");
    for base in ["/v1/locations", service.as_str()] {
        for (query, expected) in cases {
            let reply = get(&app, &format!("{base}?{query}")).await;
            let mut got = errors(&reply);
            got.sort();
            let mut want: Vec<(String, String)> = expected
                .iter()
                .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
                .collect();
            want.sort();
            assert_eq!(got, want, "{base}?{query}: {}", reply.text);
        }
    }
    // The edges are accepted: Brazil's box includes Trindade, the radius includes 500.
    for query in [
        "near=-20.5,-29.3",
        "near=5.3,-60.2&radius_km=500",
        "near=%2D15.6%2C%20%2D56.1", // encoded, with a space after the comma
        "near=-15,-56&radius_km=0.01",
    ] {
        ok(&app, &format!("/v1/locations?{query}")).await;
    }
    // The per-service list takes only its own parameters.
    let reply = get(&app, &format!("{service}?organization=ganha-tempo")).await;
    assert_eq!(
        errors(&reply),
        [("organization".to_owned(), "unknown".to_owned())]
    );
}

#[actix_web::test]
async fn where_a_service_is_offered_near_me() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let data = seed::data().unwrap();
    let cin = data.services.iter().find(|s| s.form.slug == CIN).unwrap();
    let mut offered: BTreeSet<String> =
        cin.form.locations.iter().map(|id| id.to_string()).collect();
    offered.extend(
        cin.form
            .content
            .channel_location_ids()
            .iter()
            .map(|id| id.to_string()),
    );

    // Without a point: every unit of the service, by name, without distances.
    let all = ok(&app, &format!("/v1/services/{CIN}/locations?per_page=100")).await;
    assert_eq!(all["total"], offered.len());
    assert_eq!(ids(&all).into_iter().collect::<BTreeSet<_>>(), offered);
    // In the catalogue's name order (pt-BR collation: "Cáceres" before "Cuiabá").
    let by_name: Vec<String> = ids(&ok(&app, "/v1/locations?per_page=100").await)
        .into_iter()
        .filter(|id| offered.contains(id))
        .collect();
    assert_eq!(ids(&all), by_name);
    assert!(items(&all)
        .iter()
        .all(|item| item.get("distance_km").is_none()));

    // From Cuiabá: the service's units within 50 km, nearest first.
    let body = ok(
        &app,
        &format!("/v1/services/{CIN}/locations?near={}", near(CUIABA)),
    )
    .await;
    let expected: Vec<String> = seeded_within(CUIABA, 50.0)
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| offered.contains(id))
        .collect();
    assert_eq!(ids(&body), expected);
    assert!(expected.len() >= 3);
    let shown = distances(&body);
    assert!(shown.windows(2).all(|w| w[0] <= w[1]));

    // From Alta Floresta, the nearest Ganha Tempo is the town's own, then Sinop's (~230 km).
    let body = ok(
        &app,
        &format!(
            "/v1/services/agendar-atendimento-ganha-tempo/locations?near={}&radius_km=500",
            near(ALTA_FLORESTA)
        ),
    )
    .await;
    assert_eq!(items(&body)[0]["name"], "Ganha Tempo Alta Floresta");
    assert!(distances(&body)[0] < 5.0);
    assert_eq!(items(&body)[1]["name"], "Ganha Tempo Sinop");

    // By id too, with a municipality filter and a choice of fields.
    let detail = ok(&app, &format!("/v1/services/{CIN}")).await;
    let id = detail["id"].as_str().unwrap();
    let body = ok(
        &app,
        &format!(
            "/v1/services/{id}/locations?near={}&radius_km=500&municipality=5107602&fields=name,distance_km",
            near(CUIABA)
        ),
    )
    .await;
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(items(&body)[0]["name"], "Ganha Tempo Rondonópolis");
    assert_eq!(items(&body)[0].as_object().unwrap().len(), 2);

    // Pages.
    let page2 = ok(
        &app,
        &format!("/v1/services/{CIN}/locations?per_page=5&page=2"),
    )
    .await;
    assert_eq!(ids(&page2), ids(&all)[5..10]);
    get(
        &app,
        &format!("/v1/services/{CIN}/locations?per_page=5&page=9"),
    )
    .await
    .problem(422, "invalid_query");

    // A service offered online only has no units.
    let online = data
        .services
        .iter()
        .find(|s| {
            s.status == domain::service::ServiceStatus::Published
                && s.form.locations.is_empty()
                && s.form.content.channel_location_ids().is_empty()
        })
        .expect("a published service without units");
    let body = ok(
        &app,
        &format!(
            "/v1/services/{}/locations?near={}",
            online.form.slug,
            near(CUIABA)
        ),
    )
    .await;
    assert_eq!(body["total"], 0);
}

#[actix_web::test]
async fn units_named_only_by_channels_count_and_unpublished_services_have_none() {
    let db = TestDb::seeded().await;
    // Without its link rows the service still names units in its channels.
    execute(
        &db,
        &format!(
            "DELETE FROM service_locations
               WHERE service_id = (SELECT id FROM services WHERE slug = '{CIN}');
             INSERT INTO service_old_slugs (slug, service_id)
               SELECT 'carteira-de-identidade-antiga', id FROM services WHERE slug = '{CIN}';"
        ),
    )
    .await;
    let app = app(&db).await;
    let data = seed::data().unwrap();
    let cin = data.services.iter().find(|s| s.form.slug == CIN).unwrap();
    let body = ok(&app, &format!("/v1/services/{CIN}/locations?per_page=100")).await;
    assert_eq!(body["total"], cin.form.content.channel_location_ids().len());

    for missing in [
        "/v1/services/nao-existe/locations",
        "/v1/services/00000000-0000-4000-8000-00000000dead/locations",
        // A draft and a service in review are not public.
        "/v1/services/mudar-categoria-cnh/locations",
        "/v1/services/ajuizar-acao-juizado-especial/locations?near=-15.6,-56.1",
    ] {
        get(&app, missing).await.problem(404, "not_found");
    }
    get(
        &app,
        "/v1/services/declarar-vacinacao-febre-aftosa/locations",
    )
    .await
    .problem(410, "gone");
    // An old slug points to the current list, the question kept.
    let moved = get(
        &app,
        "/v1/services/carteira-de-identidade-antiga/locations?near=-15.6,-56.1",
    )
    .await;
    assert_eq!(moved.status, 308);
    assert_eq!(
        moved.header("location"),
        Some(format!("/v1/services/{CIN}/locations?near=-15.6,-56.1").as_str())
    );
    // The service's own page is still where it was: the list did not shadow it.
    assert_eq!(get(&app, &format!("/v1/services/{CIN}")).await.status, 200);
}

#[actix_web::test]
async fn a_moved_unit_changes_the_answer() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let uri = format!("/v1/locations?near={}&radius_km=20", near(RONDONOPOLIS));
    let before = ok(&app, &uri).await;
    assert_eq!(before["total"], 2);
    // Remembered until the catalogue changes, then read again.
    assert_eq!(ok(&app, &uri).await, before);
    execute(
        &db,
        &format!(
            "UPDATE locations SET lat = -15.6, lon = -56.1 WHERE id = '{GANHA_TEMPO_RONDONOPOLIS}'"
        ),
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    let after = ok(&app, &uri).await;
    assert_eq!(after["total"], 1, "{after}");
    assert!(!ids(&after).contains(&GANHA_TEMPO_RONDONOPOLIS.to_owned()));
}
