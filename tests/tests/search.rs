//! Service search (`GET /v1/services?q=`) and autocomplete (`GET /v1/search/suggest`), through the
//! real app on a seeded database: relevance, Portuguese analysis, synonyms, filters, facets,
//! highlights, errors, and how quickly the index follows writes to the catalogue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use carta_tests::{app, app_for, get, ok, rename_sql, slugs, state, Reply, TestDb};
use diesel_async::SimpleAsyncConnection;
use domain::service::{ServiceDraft, ServiceStatus};
use persistence::seed;
use serde_json::{json, Value};

/// How long a change made behind the app's back may take to become searchable (the test apps
/// follow the change log every 100 ms).
const FRESHNESS: Duration = Duration::from_secs(2);

// ----------------------------------------------------------------------------------------------
// Helpers

/// Percent-encodes a query-string value.
fn enc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn seeded_services() -> Vec<ServiceDraft> {
    seed::data().unwrap().services
}

fn seeded(slug: &str) -> ServiceDraft {
    seeded_services()
        .into_iter()
        .find(|s| s.form.slug == slug)
        .unwrap_or_else(|| panic!("{slug} is not in the seed"))
}

fn published_slugs() -> BTreeSet<String> {
    seeded_services()
        .into_iter()
        .filter(|s| s.status == ServiceStatus::Published)
        .map(|s| s.form.slug)
        .collect()
}

/// The whole first page (100 hits) of a search.
async fn search<S, B>(app: &S, text: &str, filters: &str) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut uri = format!("/v1/services?q={}&per_page=100", enc(text));
    if !filters.is_empty() {
        uri.push('&');
        uri.push_str(filters);
    }
    ok(app, &uri).await
}

async fn search_slugs<S, B>(app: &S, text: &str) -> Vec<String>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    slugs(&search(app, text, "").await)
}

async fn suggest<S, B>(app: &S, typed: &str) -> Vec<Value>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = ok(app, &format!("/v1/search/suggest?q={}", enc(typed))).await;
    body["items"].as_array().expect("items").clone()
}

fn suggested_slugs(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["service_slug"].as_str().unwrap().to_owned())
        .collect()
}

/// Asks `uri` again until `done` holds, for at most [`FRESHNESS`].
async fn eventually<S, B>(app: &S, uri: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let deadline = Instant::now() + FRESHNESS;
    loop {
        let body = ok(app, uri).await;
        if done(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still not visible after {FRESHNESS:?} at {uri}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn execute(db: &TestDb, sql: &str) {
    let mut conn = db.connect().await;
    conn.batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn set_status_sql(slug: &str, status: &str) -> String {
    format!(
        "UPDATE services SET status = '{status}', published_at = coalesce(published_at, now()), \
         updated_at = now() WHERE slug = '{slug}'"
    )
}

/// A highlighted text back to plain text.
fn unmark(html: &str) -> String {
    html.replace("<mark>", "")
        .replace("</mark>", "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The words in `<mark>` of a highlighted text.
fn marked(html: &str) -> Vec<String> {
    html.split("<mark>")
        .skip(1)
        .map(|part| part.split("</mark>").next().unwrap_or_default().to_owned())
        .collect()
}

fn item<'a>(body: &'a Value, slug: &str) -> &'a Value {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["slug"] == slug)
        .unwrap_or_else(|| panic!("{slug} not among the hits: {body}"))
}

/// Lowercase without accents, like the search analysis.
fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

const FACETS: [&str; 7] = [
    "organization",
    "topic",
    "segment",
    "channel",
    "free",
    "digital",
    "municipality",
];

/// A facet as value → (count, selected).
fn facet(body: &Value, name: &str) -> BTreeMap<String, (u64, bool)> {
    body["facets"][name]
        .as_array()
        .unwrap_or_else(|| panic!("facet {name} missing: {body}"))
        .iter()
        .map(|v| {
            assert!(v["label"].as_str().is_some_and(|l| !l.is_empty()), "{v}");
            (
                v["value"].as_str().unwrap().to_owned(),
                (
                    v["count"].as_u64().unwrap(),
                    v["selected"].as_bool().unwrap(),
                ),
            )
        })
        .collect()
}

// ----------------------------------------------------------------------------------------------
// Relevance

#[actix_web::test]
async fn search_lists_only_published_services_name_matches_first() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let published = published_slugs();

    // "alvará" is in the name of one service and only in the description of another.
    let body = search(&app, "alvará", "").await;
    let found = slugs(&body);
    assert_eq!(
        found[0], "solicitar-alvara-funcionamento-cuiaba",
        "{found:?}"
    );
    assert!(found.contains(&"abrir-empresa".to_owned()), "{found:?}");
    assert_eq!(body["total"], found.len());

    // Same for "vistoria": the service named after it first, mentions in other text after.
    let found = search_slugs(&app, "vistoria").await;
    assert_eq!(found[0], "agendar-vistoria-veicular", "{found:?}");
    assert!(found.len() > 1, "{found:?}");

    // A draft, an archived service and one in review are never found, even by their names.
    let found = search_slugs(&app, "categoria").await;
    assert!(
        !found.contains(&"mudar-categoria-cnh".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"primeira-habilitacao".to_owned()),
        "{found:?}"
    );
    assert_eq!(search(&app, "aftosa", "").await["total"], 0);
    let found = search_slugs(&app, "juizado especial").await;
    assert!(
        !found.contains(&"ajuizar-acao-juizado-especial".to_owned()),
        "{found:?}"
    );

    for text in [
        "cnh",
        "certidão",
        "emitir",
        "segunda via",
        "nota fiscal",
        "de",
    ] {
        let body = search(&app, text, "").await;
        let found = slugs(&body);
        assert!(!found.is_empty(), "{text}");
        assert_eq!(body["total"], found.len(), "{text}");
        for slug in &found {
            assert!(published.contains(slug), "{text}: {slug} is not published");
        }
        // Relevance is the default order with `q`.
        let explicit = search(&app, text, "sort=relevance").await;
        assert_eq!(slugs(&explicit), found, "{text}");
    }
}

#[actix_web::test]
async fn most_words_in_the_name_outrank_every_word_scattered_in_the_steps() {
    let db = TestDb::seeded().await;
    // As "carteira de trabalho digital" on the federal catalogue: the work card's name has two
    // of the words, a trade-union form's steps all three.
    execute(
        &db,
        &rename_sql("emitir-segunda-via-conta-agua", "Obter zorbal mirpeu"),
    )
    .await;
    execute(
        &db,
        "UPDATE services SET content = jsonb_set(content, '{outcome}', \
             '\"Envie o mirpeu assinado, com zorbal e quetzo, ao sindicato.\"'), updated_at = now() \
             WHERE slug = 'registrar-manifestacao-ouvidoria'",
    )
    .await;
    let app = app(&db).await;
    let found = search_slugs(&app, "zorbal mirpeu quetzo").await;
    assert_eq!(
        found,
        [
            "emitir-segunda-via-conta-agua",
            "registrar-manifestacao-ouvidoria"
        ],
        "{found:?}"
    );
}

#[actix_web::test]
async fn when_few_services_have_most_words_those_with_one_follow() {
    let db = TestDb::seeded().await;
    // As "levar gato para o exterior": the pet travel service has "gato" only, and no service
    // has two of the words but one.
    execute(&db, &rename_sql("emitir-gta", "Viajar com seu quetzo")).await;
    execute(&db, &rename_sql("emitir-ptv", "Autorizar pirlim no zambo")).await;
    let app = app(&db).await;
    let found = search_slugs(&app, "quetzo pirlim zambo").await;
    // Two words weigh more than one.
    assert_eq!(found, ["emitir-ptv", "emitir-gta"], "{found:?}");
}

/// Puts `words` before the description of the services `condition` selects.
fn description_prefix_sql(words: &str, condition: &str) -> String {
    format!(
        "UPDATE services SET content = jsonb_set(content, '{{description}}', \
             to_jsonb('{words} ' || (content->>'description'))), updated_at = now() \
         WHERE {condition}"
    )
}

#[actix_web::test]
async fn a_filtered_search_adds_looser_matches_when_none_passes_the_filter() {
    let db = TestDb::seeded().await;
    // Both words in every published service of the other organizations, one in a service of
    // the animal health agency.
    execute(
        &db,
        &description_prefix_sql(
            "zorbal mirpeu",
            "organization_id <> (SELECT organization_id FROM services WHERE slug = 'emitir-gta')",
        ),
    )
    .await;
    execute(&db, &rename_sql("emitir-gta", "Viajar com zorbal")).await;
    let app = app(&db).await;
    let everywhere = search(&app, "zorbal mirpeu", "").await;
    assert!(everywhere["total"].as_u64().unwrap() >= 10, "{everywhere}");
    assert!(!slugs(&everywhere).contains(&"emitir-gta".to_owned()));
    let agency = search(&app, "zorbal", "").await;
    let agency = item(&agency, "emitir-gta")["organization"]["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = search(&app, "zorbal mirpeu", &format!("organization={agency}")).await;
    assert_eq!(slugs(&body), ["emitir-gta"], "{body}");
}

#[actix_web::test]
async fn a_facet_count_is_the_total_its_filter_gives_where_looser_matches_exist() {
    let db = TestDb::seeded().await;
    // Both words in every published service outside the animal health agency; there, one
    // service has both and another one of them: a looser match the agency's filter could add.
    execute(
        &db,
        &description_prefix_sql(
            "zorbal mirpeu",
            "organization_id <> (SELECT id FROM organizations WHERE slug = 'indea-mt')",
        ),
    )
    .await;
    execute(&db, &rename_sql("emitir-gta", "Viajar com zorbal mirpeu")).await;
    execute(&db, &rename_sql("emitir-ptv", "Autorizar zorbal")).await;
    let app = app(&db).await;
    let text = "zorbal mirpeu";
    let body = search(&app, text, "").await;
    assert!(!slugs(&body).contains(&"emitir-ptv".to_owned()), "{body}");
    assert_eq!(facet(&body, "organization")["indea-mt"], (1, false));
    for name in FACETS {
        for (value, (count, _)) in facet(&body, name) {
            let filtered = search(&app, text, &format!("{name}={}", enc(&value))).await;
            assert_eq!(filtered["total"], count, "{name}={value}");
        }
    }
    let body = search(&app, text, "organization=indea-mt").await;
    assert_eq!(slugs(&body), ["emitir-gta"], "{body}");
}

#[actix_web::test]
async fn a_search_can_be_ordered_by_name_or_update() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    for text in ["emissao", "certidão", "cnh"] {
        let matched: BTreeSet<String> = search_slugs(&app, text).await.into_iter().collect();
        assert!(matched.len() >= 2, "{text}");
        // By update: as the list without a search orders them.
        let listed = slugs(&ok(&app, "/v1/services?per_page=100&sort=updated").await);
        let expected: Vec<String> = listed
            .into_iter()
            .filter(|slug| matched.contains(slug))
            .collect();
        assert_eq!(
            slugs(&search(&app, text, "sort=updated").await),
            expected,
            "{text}"
        );
        // By name, accents and case aside.
        let body = search(&app, text, "sort=name").await;
        let names: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hit| fold(hit["name"].as_str().unwrap()))
            .collect();
        assert_eq!(names.len(), matched.len(), "{text}");
        assert!(names.windows(2).all(|w| w[0] <= w[1]), "{text}: {names:?}");
        // Page by page as in one page: each page's end is where names are compared.
        let whole = slugs(&body);
        let mut paged = Vec::new();
        for page in 1..=whole.len().div_ceil(2) {
            let uri = format!(
                "/v1/services?q={}&sort=name&per_page=2&page={page}",
                enc(text)
            );
            paged.extend(slugs(&ok(&app, &uri).await));
        }
        assert_eq!(paged, whole, "{text}");
    }
}

#[actix_web::test]
async fn equal_scores_keep_one_order_across_requests_pages_and_instances() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    // Most of these hits match "emissão" once, in their description: many ties.
    let full = search_slugs(&app, "emissao").await;
    assert!(full.len() >= 10, "{full:?}");
    assert_eq!(search_slugs(&app, "emissao").await, full);
    // A different query string for the same search is computed again, not served from cache.
    let reordered = ok(&app, "/v1/services?per_page=100&q=emissao").await;
    assert_eq!(slugs(&reordered), full);

    // Pages cut the same ranking.
    let mut paged = Vec::new();
    let mut page = 1;
    loop {
        let reply = get(
            &app,
            &format!("/v1/services?q=emissao&per_page=3&page={page}"),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let body = reply.json();
        assert_eq!(body["total"], full.len());
        let link = reply.header("link").unwrap().to_owned();
        assert!(link.contains("q=emissao"), "{link}");
        paged.extend(slugs(&body));
        if !link.contains("rel=\"next\"") {
            break;
        }
        page += 1;
    }
    assert_eq!(paged, full);

    // Another instance with its own index ranks the same way.
    let other = app_for(state(&db).await).await;
    assert_eq!(search_slugs(&other, "emissao").await, full);
}

// ----------------------------------------------------------------------------------------------
// Portuguese analysis

#[actix_web::test]
async fn accents_and_case_are_ignored() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let expected = search_slugs(&app, "emissão").await;
    assert!(expected.len() >= 10, "{expected:?}");
    for text in ["emissao", "EMISSÃO", "Emissao", "EmIsSãO"] {
        assert_eq!(search_slugs(&app, text).await, expected, "{text}");
    }
    // Accents typed as combining marks (Apple keyboards, pasted text), fullwidth letters.
    assert_eq!(search_slugs(&app, "emissa\u{303}o").await, expected);
    assert_eq!(
        suggest(&app, "emissa\u{303}").await,
        suggest(&app, "emissã").await
    );
    assert_eq!(
        search_slugs(&app, "ｃｎｈ").await,
        search_slugs(&app, "cnh").await
    );
    // The degree sign phones offer for the ordinal indicator.
    let second = search_slugs(&app, "2º via").await;
    assert!(!second.is_empty());
    assert_eq!(search_slugs(&app, "2° via").await, second);
    // A zero-width space pasted inside a word (from a web page or a chat).
    assert_eq!(search_slugs(&app, "emis\u{200B}são").await, expected);
    assert_eq!(
        suggest(&app, "emis\u{200B}sã").await,
        suggest(&app, "emissã").await
    );
    let expected = search_slugs(&app, "alvará").await;
    assert_eq!(search_slugs(&app, "ALVARA").await, expected);
    assert_eq!(expected[0], "solicitar-alvara-funcionamento-cuiaba");
}

#[actix_web::test]
async fn plural_and_singular_find_the_same_services() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let singular = search_slugs(&app, "certidão").await;
    assert!(singular.len() >= 3, "{singular:?}");
    for name_match in [
        "emitir-certidao-negativa-debitos-estaduais",
        "emitir-certidao-simplificada",
        "emitir-certidao-negativa-criminal-tjmt",
    ] {
        assert!(
            singular[..3].contains(&name_match.to_owned()),
            "{singular:?}"
        );
    }
    assert_eq!(search_slugs(&app, "certidões").await, singular);
    assert_eq!(search_slugs(&app, "certidoes").await, singular);
    // And the other way round: the seed says "declaração", "declarações" finds it.
    let plural = search_slugs(&app, "declarações").await;
    assert_eq!(plural[0], "emitir-declaracao-escolar", "{plural:?}");
    assert_eq!(search_slugs(&app, "declaração").await, plural);
    // Four-letter plurals of three-letter words, which Snowball leaves whole: "dia" (too short
    // to be corrected) finds the service whose description counts "dias".
    let body = search(&app, "dia ", "").await;
    let description = &item(&body, "transferir-propriedade-veiculo")["highlights"]["description"];
    assert_eq!(
        marked(description.as_str().unwrap()),
        ["dias"],
        "{description}"
    );
}

#[actix_web::test]
async fn a_misspelt_word_is_corrected() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    // One wrong letter in "habilitação".
    let body = search(&app, "habilitasao", "").await;
    let found = slugs(&body);
    assert_eq!(found[0], "primeira-habilitacao", "{found:?}");
    assert!(found.contains(&"renovar-cnh".to_owned()), "{found:?}");
    // The highlight shows the word the query was corrected to.
    assert_eq!(
        item(&body, "primeira-habilitacao")["highlights"]["name"],
        "Obter a primeira <mark>habilitação</mark>"
    );
    // The answer says how the text was read, spelt as the catalogue spells it.
    assert_eq!(
        body["correction"],
        json!({"text": "habilitação",
               "words": [{"typed": "habilitasao", "read_as": "habilitação"}]})
    );
    // One wrong letter in "vistoria"; the rest of the text is kept as typed, and the word read
    // takes the case of the word typed.
    let body = search(&app, "Agendar  VISTORJA", "").await;
    let found = slugs(&body);
    assert_eq!(found[0], "agendar-vistoria-veicular", "{found:?}");
    assert_eq!(
        body["correction"],
        json!({"text": "Agendar  VISTORIA",
               "words": [{"typed": "VISTORJA", "read_as": "VISTORIA"}]})
    );
    // The text read is trimmed: a trailing space only says the last word is finished.
    assert_eq!(
        search(&app, "habilitasao ", "").await["correction"]["text"],
        "habilitação"
    );
    // A plural the catalogue only writes in the singular is found by its stem: no correction.
    let body = search(&app, "vistorias ", "").await;
    assert_eq!(slugs(&body)[0], "agendar-vistoria-veicular");
    assert!(body.get("correction").is_none(), "{body}");
    // Known words are not corrected, nor is a word being typed that known words begin with.
    for text in ["renovar cnh", "habilitação", "agendar vist"] {
        let body = search(&app, text, "").await;
        assert!(body.get("correction").is_none(), "{text}: {body}");
    }
    // A word nothing resembles finds nothing, and is not corrected.
    let body = search(&app, "xyzwqkj", "").await;
    assert_eq!(body["total"], 0);
    assert!(body.get("correction").is_none(), "{body}");
}

#[actix_web::test]
async fn a_plural_acronym_is_read_as_its_singular_not_as_a_typo() {
    let db = TestDb::seeded().await;
    execute(&db, &rename_sql("emitir-gta", "Emitir NF-e")).await;
    execute(&db, &rename_sql("emitir-ptv", "Emitir NFS-e")).await;
    let app = app(&db).await;
    for (plural, singular) in [("cnhs ", "cnh "), ("rgs ", "rg "), ("CPFs ", "cpf ")] {
        let wanted = search(&app, singular, "").await;
        assert!(wanted["total"].as_u64().unwrap() > 0, "{singular}");
        let body = search(&app, plural, "").await;
        assert_eq!(slugs(&body), slugs(&wanted), "{plural}");
        // As "vistorias": the same word, nothing to tell.
        assert!(body.get("correction").is_none(), "{plural}: {body}");
    }
    // A plural the catalogue has is first what it says: "nfs" is NFS-e before NF-e.
    let found = search_slugs(&app, "nfs ").await;
    assert_eq!(found[..2], ["emitir-ptv", "emitir-gta"], "{found:?}");
    // Synonyms of the singular count: "rg" is "carteira de identidade", which the CIN's name has.
    let found = search_slugs(&app, "rgs").await;
    assert!(
        found
            .iter()
            .take(2)
            .any(|slug| slug == "emitir-carteira-identidade-cin"),
        "{found:?}"
    );
}

#[actix_web::test]
async fn a_common_word_no_service_has_is_meant_not_misspelt() {
    let db = TestDb::seeded().await;
    // "contém" is one edit from "ontem" (yesterday), which no service has.
    execute(
        &db,
        &rename_sql("emitir-gta", "Emitir guia que contém o trânsito animal"),
    )
    .await;
    let app = app(&db).await;
    let wanted = search(&app, "renovar cnh ", "").await;
    let body = search(&app, "renovar cnh ontem ", "").await;
    assert!(body.get("correction").is_none(), "{body}");
    assert_eq!(slugs(&body), slugs(&wanted), "{body}");
    // A word of no language is still read as the catalogue's.
    let body = search(&app, "contwm ", "").await;
    assert!(slugs(&body).contains(&"emitir-gta".to_owned()), "{body}");
    assert_eq!(body["correction"]["text"], "contém", "{body}");
}

#[actix_web::test]
async fn words_typed_without_the_space_between_them_are_read_apart() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    for (together, apart, read_as) in [
        ("segurodesemprego", "seguro desemprego", "seguro desemprego"),
        (
            "carteiradeidentidade ",
            "carteira de identidade ",
            "carteira de identidade",
        ),
        ("CARTAOSUS ", "cartão sus ", "CARTÃO SUS"),
    ] {
        let body = search(&app, together, "").await;
        let wanted = search(&app, apart, "").await;
        assert_eq!(slugs(&body)[0], slugs(&wanted)[0], "{together}: {body}");
        assert_eq!(
            body["correction"]["words"][0]["read_as"], read_as,
            "{together}: {body}"
        );
    }
    // Read apart, a synonym is one: "2ºvia" is "segunda via" (once a service writes "2º").
    execute(
        &db,
        &description_prefix_sql("Pedido de 2º", "slug = 'emitir-gta'"),
    )
    .await;
    let wanted = search(&app, "segunda via ", "").await;
    let body = eventually(&app, "/v1/services?q=2%C2%BAvia%20", "2º", |body| {
        body.get("correction").is_some()
    })
    .await;
    assert_eq!(body["correction"]["text"], "2º via", "{body}");
    assert_eq!(body["total"], wanted["total"], "{body}");
    // A weak word is not required in the phrase: no name has "tirar" next to "RG".
    let body = search(&app, "tirarrg ", "").await;
    assert_eq!(
        slugs(&body),
        slugs(&search(&app, "rg ", "").await),
        "{body}"
    );
    assert_eq!(body["correction"]["text"], "tirar RG", "{body}");
    // Nor read apart when only weak words are left.
    for text in ["tirarfazer ", "comopedir"] {
        let body = search(&app, text, "").await;
        assert!(body.get("correction").is_none(), "{text}: {body}");
    }
    // In the name, the words read are marked, and the synonyms of the phrase they make.
    let body = search(&app, "cartaosus ", "").await;
    assert_eq!(
        item(&body, "emitir-cartao-sus")["highlights"]["name"],
        "Emitir o <mark>Cartão</mark> <mark>Nacional</mark> de <mark>Saúde</mark> \
         (<mark>Cartão</mark> <mark>SUS</mark>)"
    );
}

#[actix_web::test]
async fn a_number_is_found_without_its_thousands_separators_and_never_corrected() {
    let db = TestDb::seeded().await;
    execute(
        &db,
        &description_prefix_sql("Conforme a Lei nº 8.112.", "slug = 'emitir-gta'"),
    )
    .await;
    let app = app(&db).await;
    for text in ["lei 8112", "8.112", "Lei 8.112 "] {
        let body = search(&app, text, "").await;
        assert_eq!(slugs(&body)[0], "emitir-gta", "{text}: {body}");
        assert_eq!(
            marked(
                item(&body, "emitir-gta")["highlights"]["description"]
                    .as_str()
                    .unwrap()
            )
            .last()
            .map(String::as_str),
            Some("8.112"),
            "{text}: {body}"
        );
    }
    // One digit from a known number is another number, not a typo of it.
    let body = search(&app, "8113 ", "").await;
    assert_eq!(body["total"], 0, "{body}");
    assert!(body.get("correction").is_none(), "{body}");
}

#[actix_web::test]
async fn words_around_what_is_wanted_are_neither_required_nor_corrected() {
    let db = TestDb::seeded().await;
    // "face" is one edit from "faço", and a word of the catalogue.
    execute(
        &db,
        &rename_sql("emitir-gta", "Reconhecer a face do animal"),
    )
    .await;
    // "cadê" (where is) folds to the competition authority's acronym.
    execute(&db, &rename_sql("emitir-ptv", "Denunciar ao CADE")).await;
    let app = app(&db).await;
    let wanted = search(&app, "renovar cnh", "").await;
    for text in [
        "cadê renovar cnh",
        // Verbs as general as "tirar": many names have them, a service need not.
        "pagar e renovar cnh",
        "como faço para renovar cnh",
        "quanto custa renovar cnh",
        "eu quero renovar cnh",
        "me ajude a renovar cnh",
    ] {
        let body = search(&app, text, "").await;
        assert!(body.get("correction").is_none(), "{text}: {body}");
        assert_eq!(
            body["total"],
            wanted["total"],
            "{text}: {:?} {:?}",
            slugs(&body),
            slugs(&wanted)
        );
        assert_eq!(slugs(&body)[0], "renovar-cnh", "{text}");
    }
}

#[actix_web::test]
async fn two_typos_keep_the_first_letter() {
    let db = TestDb::seeded().await;
    execute(&db, &rename_sql("emitir-gta", "Contestar zorbalino")).await;
    let app = app(&db).await;
    // Two edits after the first letter: read as the word of the catalogue.
    let body = search(&app, "zorbelinu", "").await;
    assert_eq!(slugs(&body), ["emitir-gta"], "{body}");
    assert_eq!(
        body["correction"]["words"][0]["read_as"], "zorbalino",
        "{body}"
    );
    // Two edits, the first letter one of them: another word ("rescisão" is not "decisão").
    let body = search(&app, "morbalinu", "").await;
    assert!(!slugs(&body).contains(&"emitir-gta".to_owned()), "{body}");
    assert!(body.get("correction").is_none(), "{body}");
    // One edit still mends the first letter ("sertidão" for "certidão").
    let body = search(&app, "morbalino", "").await;
    assert_eq!(slugs(&body), ["emitir-gta"], "{body}");
}

#[actix_web::test]
async fn a_misspelt_word_is_told_as_the_word_the_best_match_has() {
    let db = TestDb::seeded().await;
    // "zorbalino" in three descriptions, the most frequent; "zorbelino" in a name.
    execute(
        &db,
        &description_prefix_sql(
            "zorbalino",
            "slug IN ('emitir-ptv', 'declarar-estoque-rebanho', 'cadastrar-propriedade-rural-indea')",
        ),
    )
    .await;
    execute(&db, &rename_sql("emitir-gta", "Contestar zorbelino")).await;
    let app = app(&db).await;
    // One edit from both: both are searched, and the one the first result has is told.
    let page_two = ok(&app, "/v1/services?q=zorbilino&per_page=1&page=2").await;
    for body in [
        search(&app, "zorbilino", "").await,
        search(&app, "zorbilino", "sort=name").await,
        search(&app, "zorbilino", "sort=popular").await,
        page_two,
    ] {
        assert_eq!(body["total"], 4, "{body}");
        assert_eq!(
            body["correction"]["words"][0]["read_as"], "zorbelino",
            "{body}"
        );
    }
    assert_eq!(slugs(&search(&app, "zorbilino", "").await)[0], "emitir-gta");
}

/// Sets the title of a service's first step, as an editor's change stores it.
fn first_step_title_sql(slug: &str, title: &str) -> String {
    format!(
        "UPDATE services SET content = jsonb_set(content, '{{steps,0,title}}', to_jsonb('{title}'::text)), \
         updated_at = now() WHERE slug = '{slug}'"
    )
}

#[actix_web::test]
async fn a_word_several_services_write_in_their_steps_is_not_read_as_another() {
    let db = TestDb::seeded().await;
    execute(&db, &rename_sql("emitir-gta", "Contestar zorbalino")).await;
    let title = "Entregar o termo de zorbelinu";
    execute(&db, &first_step_title_sql("emitir-ptv", title)).await;
    // In one service's steps, a word may still be a typo of a name's word.
    let body = search(&app(&db).await, "zorbelinu", "").await;
    assert_eq!(
        body["correction"]["words"][0]["read_as"], "zorbalino",
        "{body}"
    );
    // Written in two, it is the catalogue's own ("rescisão" is not "revisão"): found as typed.
    execute(
        &db,
        &first_step_title_sql("declarar-estoque-rebanho", title),
    )
    .await;
    let body = search(&app(&db).await, "zorbelinu", "").await;
    assert!(body.get("correction").is_none(), "{body}");
    let mut found = slugs(&body);
    found.sort();
    assert_eq!(found, ["declarar-estoque-rebanho", "emitir-ptv"], "{body}");
}

#[actix_web::test]
async fn a_word_an_edit_took_out_of_the_catalogue_is_read_as_a_typo() {
    let db = TestDb::seeded().await;
    execute(&db, &rename_sql("emitir-gta", "Contestar zorbalino")).await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    execute(&db, &rename_sql("emitir-gta", "Contestar zorbelino")).await;
    state.search.catch_up(&state.pool).await.unwrap();
    // The index keeps the replaced version, deleted, until its segment is merged: the word must
    // not stay known because of it.
    let body = search(&app, "zorbalino", "").await;
    assert_eq!(slugs(&body), ["emitir-gta"], "{body}");
    assert_eq!(
        body["correction"]["words"][0]["read_as"], "zorbelino",
        "{body}"
    );
    // Nor begun, while typing: the prefix is read as the new name's.
    let body = ok(&app, "/v1/search/suggest?q=zorbal").await;
    assert_eq!(body["read_as"], "zorbel", "{body}");
    assert_eq!(body["items"][0]["service_slug"], "emitir-gta", "{body}");
}

#[actix_web::test]
async fn citizens_words_from_the_second_audit_find_the_services() {
    let db = TestDb::seeded().await;
    execute(
        &db,
        &rename_sql("emitir-ptv", "Contestar indeferimento de benefício"),
    )
    .await;
    execute(
        &db,
        &rename_sql(
            "solicitar-medicamento-alto-custo",
            "Obter carteira de registro migratório",
        ),
    )
    .await;
    execute(
        &db,
        &rename_sql("emitir-gta", "Alistar-se no serviço militar obrigatório"),
    )
    .await;
    execute(
        &db,
        &rename_sql(
            "declarar-estoque-rebanho",
            "Inscrever pessoa jurídica no CNPJ",
        ),
    )
    .await;
    let app = app(&db).await;
    let found = search_slugs(&app, "abertura de empresa").await;
    assert!(
        found.contains(&"declarar-estoque-rebanho".to_owned()),
        "{found:?}"
    );
    for (text, wanted) in [
        ("reservista", "emitir-gta"),
        ("rescisão", "solicitar-seguro-desemprego"),
        ("benefício negado", "emitir-ptv"),
        ("lai", "solicitar-acesso-informacao-publica"),
        ("crnm", "solicitar-medicamento-alto-custo"),
        ("rne", "solicitar-medicamento-alto-custo"),
    ] {
        let found = search_slugs(&app, text).await;
        assert_eq!(
            found.first().map(String::as_str),
            Some(wanted),
            "{text}: {found:?}"
        );
    }
}

#[actix_web::test]
async fn the_last_word_is_completed_as_a_prefix() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let body = search(&app, "renov", "").await;
    let found = slugs(&body);
    assert_eq!(found[0], "renovar-cnh", "{found:?}");
    assert_eq!(
        item(&body, "renovar-cnh")["highlights"]["name"],
        "<mark>Renovar</mark> a Carteira Nacional de Habilitação (CNH)"
    );
    let found = search_slugs(&app, "alvar").await;
    assert_eq!(
        found[0], "solicitar-alvara-funcionamento-cuiaba",
        "{found:?}"
    );
    // Earlier words whole, the last one a prefix.
    let found = search_slugs(&app, "agendar vist").await;
    assert_eq!(found[0], "agendar-vistoria-veicular", "{found:?}");
}

#[actix_web::test]
async fn the_word_being_typed_is_completed_in_the_context_of_the_earlier_ones() {
    let db = TestDb::seeded().await;
    // Six words in "fab" more frequent than "fabril", and one service whose name has "seguro"
    // and "fabril": the catalogue's most frequent completions of "fab" miss it.
    let renames = [
        ("emitir-gta", "Fabricar fabricante fabuloso"),
        ("emitir-ptv", "Fabricar fabricante fabuloso"),
        ("emitir-dar-icms", "Fabiana fabula fabular"),
        ("pagar-ipva", "Fabiana fabula fabular"),
        ("solicitar-seguro-desemprego", "Solicitar seguro fabril"),
        // "hábil" is a word of the catalogue, and the start of "habilitação".
        (
            "consultar-processo-judicial",
            "Consultar processo em dia hábil",
        ),
        // "passar" is one letter away from "passap", which begins "passaporte".
        (
            "transferir-propriedade-veiculo",
            "Passar o veículo a outro dono",
        ),
        ("emitir-segunda-via-rg", "Emitir passaporte"),
    ];
    let sql: Vec<String> = renames
        .iter()
        .map(|(slug, name)| rename_sql(slug, name))
        .collect();
    execute(&db, &sql.join(";")).await;
    let app = app(&db).await;

    let body = search(&app, "seguro fab", "").await;
    let found = slugs(&body);
    assert_eq!(
        found.first().map(String::as_str),
        Some("solicitar-seguro-desemprego"),
        "{found:?}"
    );
    // Found for both words, not only for "seguro".
    assert_eq!(
        item(&body, "solicitar-seguro-desemprego")["highlights"]["name"],
        "Solicitar <mark>seguro</mark> <mark>fabril</mark>"
    );

    // A known word is completed too while it is being typed…
    let found = search_slugs(&app, "habil").await;
    assert!(
        found.contains(&"consultar-processo-judicial".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"primeira-habilitacao".to_owned()),
        "{found:?}"
    );
    // …but not once it is finished.
    let found = search_slugs(&app, "habil ").await;
    assert_eq!(found, ["consultar-processo-judicial"]);

    // An unknown word that known words begin with is unfinished, not misspelt.
    let found = search_slugs(&app, "passap").await;
    assert_eq!(
        found.first().map(String::as_str),
        Some("emitir-segunda-via-rg"),
        "{found:?}"
    );
    assert!(
        !found.contains(&"transferir-propriedade-veiculo".to_owned()),
        "{found:?}"
    );
    // Misspelt, it is corrected.
    let found = search_slugs(&app, "pasaporte").await;
    assert_eq!(
        found.first().map(String::as_str),
        Some("emitir-segunda-via-rg"),
        "{found:?}"
    );
}

// ----------------------------------------------------------------------------------------------
// Synonyms

#[actix_web::test]
async fn an_acronym_does_not_find_every_service_with_a_generic_word_of_its_group() {
    let db = TestDb::seeded().await;
    execute(
        &db,
        &rename_sql("emitir-gta", "Obter habilitação de mecânico de aeronaves"),
    )
    .await;
    let app = app(&db).await;
    let found = search_slugs(&app, "cnh").await;
    assert_eq!(found[0], "renovar-cnh", "{found:?}");
    assert!(!found.contains(&"emitir-gta".to_owned()), "{found:?}");
    // "habilitação" typed still finds the licence by its name.
    let found = search_slugs(&app, "renovar habilitação").await;
    assert_eq!(found[0], "renovar-cnh", "{found:?}");
}

#[actix_web::test]
async fn synonyms_find_services_named_by_another_expression() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let identity: BTreeSet<String> = ["emitir-segunda-via-rg", "emitir-carteira-identidade-cin"]
        .map(str::to_owned)
        .into();
    let driving: BTreeSet<String> = [
        "renovar-cnh",
        "emitir-segunda-via-cnh",
        "primeira-habilitacao",
    ]
    .map(str::to_owned)
    .into();
    let cases: Vec<(&str, &BTreeSet<String>)> = vec![
        // The acronym finds services named by the long form, and the reverse.
        ("rg", &identity),
        ("carteira de identidade", &identity),
        // Nothing in the catalogue says "cédula" or "carta de motorista": only synonyms match.
        ("cédula de identidade", &identity),
        ("cnh", &driving),
        ("carteira nacional de habilitação", &driving),
        ("carta de motorista", &driving),
    ];
    for (text, expected) in cases {
        let found = search_slugs(&app, text).await;
        let top: BTreeSet<String> = found.iter().take(expected.len()).cloned().collect();
        assert_eq!(&top, expected, "{text}: {found:?}");
    }
    // Nothing says "micro empreendedor": the microcredit service is found by "mei".
    let found = search_slugs(&app, "micro empreendedor individual").await;
    assert_eq!(
        found[0], "solicitar-microcredito-desenvolve-mt",
        "{found:?}"
    );
    // "mei" is the microentrepreneur, not "meio" ("meio salário mínimo").
    let found = search_slugs(&app, "mei").await;
    assert_eq!(
        found[0], "solicitar-microcredito-desenvolve-mt",
        "{found:?}"
    );
    for meio in ["inscrever-cadunico", "solicitar-tarifa-social-energia"] {
        assert!(!found.contains(&meio.to_owned()), "{found:?}");
    }
    assert_eq!(search_slugs(&app, "ipva").await[0], "pagar-ipva");
    assert_eq!(
        search_slugs(&app, "imposto do carro").await[0],
        "pagar-ipva"
    );
    // "2º via" (the masculine ordinal, as often typed) means "segunda via".
    let second_copies: BTreeSet<String> = published_slugs()
        .into_iter()
        .filter(|slug| slug.contains("segunda-via"))
        .collect();
    assert!(second_copies.len() >= 3, "{second_copies:?}");
    let total = search(&app, "segunda via", "").await["total"].clone();
    for text in ["2º via", "2o via", "segunda via"] {
        let body = search(&app, text, "").await;
        // The same services, not every one that says "via".
        assert_eq!(body["total"], total, "{text}");
        let top: BTreeSet<String> = slugs(&body).into_iter().take(second_copies.len()).collect();
        assert_eq!(top, second_copies, "{text}");
    }
    // "médico" means a medical appointment ("consulta médica"), not "consultar" (to look up),
    // which shares the stem of "consulta".
    let found = search_slugs(&app, "médico").await;
    for doctor in [
        "renovar-cnh",
        "primeira-habilitacao",
        "solicitar-isencao-ipva-pcd",
        "solicitar-medicamento-alto-custo",
    ] {
        assert!(found.contains(&doctor.to_owned()), "{found:?}");
    }
    for lookup in [
        "consultar-multas-de-transito",
        "consultar-processo-judicial",
    ] {
        assert!(!found.contains(&lookup.to_owned()), "{found:?}");
    }
    // The tariff service only says "CadÚnico".
    let found = search_slugs(&app, "cadastro único").await;
    assert_eq!(found[0], "inscrever-cadunico", "{found:?}");
    assert!(
        found.contains(&"solicitar-tarifa-social-energia".to_owned()),
        "{found:?}"
    );
}

#[actix_web::test]
async fn citizens_names_for_the_record_certificate_and_organ_donation_find_them() {
    let db = TestDb::seeded().await;
    for (slug, name) in [
        (
            "declarar-estoque-rebanho",
            "Emitir certidão de antecedentes criminais",
        ),
        (
            "emitir-ptv",
            "Inscrever-se na lista de espera para transplante de órgãos",
        ),
        // "bons" is a word of the catalogue, so it is required (as on the federal one).
        ("emitir-gta", "Premiar bons produtores rurais"),
    ] {
        execute(&db, &rename_sql(slug, name)).await;
    }
    let app = app(&db).await;
    // The certificate named without "atestado" nor "bons" is found with the one named so.
    let found = search_slugs(&app, "atestado de bons antecedentes").await;
    let top: BTreeSet<&str> = found.iter().take(2).map(String::as_str).collect();
    let certificates = [
        "emitir-atestado-antecedentes-criminais",
        "declarar-estoque-rebanho",
    ];
    assert_eq!(top, certificates.into(), "{found:?}");
    // Only the transplant list, not every text with "órgão" (the agency) or "doação".
    for text in [
        "doação de órgãos",
        "doador de órgãos",
        "quero ser doador de órgãos",
    ] {
        let found = search_slugs(&app, text).await;
        assert_eq!(found, ["emitir-ptv"], "{text}");
    }
}

#[actix_web::test]
async fn a_word_finds_its_own_meaning_before_rare_synonyms_and_false_relatives() {
    let db = TestDb::seeded().await;
    let medicines = [
        "solicitar-medicamento-alto-custo",
        "emitir-cartao-sus",
        "emitir-ptv",
        "emitir-gta",
    ];
    for (slug, name) in [
        ("emitir-cartao-sus", "Retirar medicamentos na farmácia"),
        ("emitir-ptv", "Receber medicamentos em casa"),
        ("emitir-gta", "Doar medicamentos"),
        // Snowball cuts "remediadores" as "remédio", the synonym of "medicamento".
        (
            "declarar-estoque-rebanho",
            "Registrar remediadores ambientais",
        ),
        // "remédio" is in one name, "medicamento" in four.
        ("solicitar-ligacao-agua-esgoto", "Bula de remédio"),
    ] {
        execute(&db, &rename_sql(slug, name)).await;
    }
    let app = app(&db).await;

    let found = search_slugs(&app, "medicamento").await;
    let top: BTreeSet<&str> = found.iter().take(4).map(String::as_str).collect();
    assert_eq!(top, medicines.into(), "{found:?}");
    assert!(
        found.contains(&"solicitar-ligacao-agua-esgoto".to_owned()),
        "{found:?}"
    );
    assert!(
        !found.contains(&"declarar-estoque-rebanho".to_owned()),
        "{found:?}"
    );

    // The word typed first (the high-cost medicines have it as a popular name), then its
    // synonym.
    let found = search_slugs(&app, "remédio").await;
    let top: BTreeSet<&str> = found.iter().take(2).map(String::as_str).collect();
    let typed = [
        "solicitar-medicamento-alto-custo",
        "solicitar-ligacao-agua-esgoto",
    ];
    assert_eq!(top, typed.into(), "{found:?}");
    let next: BTreeSet<&str> = found.iter().skip(2).take(3).map(String::as_str).collect();
    assert_eq!(next, medicines[1..].iter().copied().collect(), "{found:?}");
    assert!(
        !found.contains(&"declarar-estoque-rebanho".to_owned()),
        "{found:?}"
    );
}

#[actix_web::test]
async fn a_synonym_group_added_at_runtime_takes_effect() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let uri = format!("/v1/services?q={}", enc("zarabatana"));
    assert_eq!(ok(&app, &uri).await["total"], 0);

    execute(
        &db,
        "INSERT INTO search_synonyms (terms, note) VALUES ('{zarabatana,vistoria}', 'test')",
    )
    .await;
    let body = eventually(&app, &uri, "new synonym group", |b| b["total"] != 0).await;
    assert_eq!(slugs(&body)[0], "agendar-vistoria-veicular", "{body}");

    execute(&db, "DELETE FROM search_synonyms WHERE note = 'test'").await;
    eventually(&app, &uri, "deleted synonym group", |b| b["total"] == 0).await;
}

// ----------------------------------------------------------------------------------------------
// Filters and facets

#[actix_web::test]
async fn filters_combine_with_the_search_text() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let filters = [
        "organization=detran-mt",
        "organization=sefaz-mt",
        "free=true",
        "free=false",
        "digital=true",
        "digital=false",
        "segment=companies",
        "channel=in_person",
        "topic=documentos-e-identificacao",
        // Cuiabá: statewide services and Cuiabá's own.
        "municipality=5103403",
        // Sinop: statewide services and the Ganha Tempo, nothing of Cuiabá's.
        "municipality=5107909",
        "organization=detran-mt&free=false",
        "free=true&municipality=5103403",
        // Filters that are not facets, read from the full records.
        "life_event=documentos-e-certidoes",
        "life_event=veiculos&free=false",
        "modified_after=2000-01-01T00:00:00Z",
        "modified_after=2100-01-01T00:00:00Z",
    ];
    for text in ["segunda via", "emitir", "certidão", "cnh"] {
        let ranked = search_slugs(&app, text).await;
        for filter in filters {
            // What the filter alone lists, without a search.
            let listed: BTreeSet<String> =
                slugs(&ok(&app, &format!("/v1/services?per_page=100&{filter}")).await)
                    .into_iter()
                    .collect();
            let expected: Vec<String> = ranked
                .iter()
                .filter(|s| listed.contains(*s))
                .cloned()
                .collect();
            let body = search(&app, text, filter).await;
            assert_eq!(slugs(&body), expected, "q={text}&{filter}");
            assert_eq!(body["total"], expected.len(), "q={text}&{filter}");
        }
    }
    // Spot checks against the seed.
    let body = search(&app, "segunda via", "municipality=5107909").await;
    for slug in slugs(&body) {
        let service = seeded(&slug);
        assert!(
            service.form.municipalities.is_empty()
                || service.form.municipalities.contains(&5107909),
            "{slug}"
        );
    }
    let body = search(&app, "segunda via", "organization=detran-mt").await;
    assert_eq!(slugs(&body), vec!["emitir-segunda-via-cnh"]);
}

#[actix_web::test]
async fn facets_count_the_matches_per_value() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let text = "emitir";
    let body = search(&app, text, "").await;
    let total = body["total"].as_u64().unwrap();
    assert!(total >= 10);
    for name in FACETS {
        let values = facet(&body, name);
        assert!(!values.is_empty(), "{name}: {body}");
        for (value, (count, selected)) in values {
            assert!(!selected, "{name}={value}");
            assert!(count > 0 && count <= total, "{name}={value}");
            let filtered = search(&app, text, &format!("{name}={}", enc(&value))).await;
            assert_eq!(
                filtered["total"], count,
                "{name}={value}: the facet count is the total of the filtered search"
            );
        }
    }
    // Yes/no facets split the matches (every seeded published service says if it is free).
    let free = facet(&body, "free");
    assert_eq!(free.values().map(|(c, _)| c).sum::<u64>(), total);
    let digital = facet(&body, "digital");
    assert_eq!(digital.values().map(|(c, _)| c).sum::<u64>(), total);
    let organizations = facet(&body, "organization");
    assert_eq!(organizations.values().map(|(c, _)| c).sum::<u64>(), total);
    // Most frequent first.
    let counts: Vec<u64> = body["facets"]["organization"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["count"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
}

#[actix_web::test]
async fn a_facet_ignores_its_own_filter_and_follows_the_others() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let text = "emitir";
    let unfiltered = search(&app, text, "").await;
    let organizations = facet(&unfiltered, "organization");
    assert!(organizations.len() >= 3, "{organizations:?}");
    let chosen = organizations.keys().next().unwrap().clone();
    let filter = format!("organization={chosen}");
    let body = search(&app, text, &filter).await;
    assert_eq!(body["total"], organizations[&chosen].0);

    // The organization facet still lists every organization with its unfiltered count…
    let listed = facet(&body, "organization");
    assert_eq!(
        listed.keys().collect::<Vec<_>>(),
        organizations.keys().collect::<Vec<_>>()
    );
    for (value, (count, selected)) in &listed {
        assert_eq!(*count, organizations[value].0, "{value}");
        assert_eq!(*selected, *value == chosen, "{value}");
    }
    // …the selected one first.
    assert_eq!(body["facets"]["organization"][0]["value"], chosen.as_str());
    assert_eq!(body["facets"]["organization"][0]["selected"], true);

    // Other facets count within the chosen organization.
    for name in FACETS.iter().filter(|f| **f != "organization") {
        for (value, (count, selected)) in facet(&body, name) {
            assert!(!selected, "{name}={value}");
            let filtered = search(&app, text, &format!("{filter}&{name}={}", enc(&value))).await;
            assert_eq!(filtered["total"], count, "{filter}&{name}={value}");
        }
    }

    // The same with a yes/no filter: its facet keeps both counts, the others narrow.
    let body = search(&app, text, "free=true").await;
    assert_eq!(
        facet(&body, "free")
            .into_iter()
            .map(|(v, (c, _))| (v, c))
            .collect::<Vec<_>>(),
        facet(&unfiltered, "free")
            .into_iter()
            .map(|(v, (c, _))| (v, c))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        facet(&body, "free")["true"],
        (body["total"].as_u64().unwrap(), true)
    );
    assert!(!facet(&body, "free")["false"].1);
    for (value, (count, _)) in facet(&body, "organization") {
        let filtered = search(&app, text, &format!("free=true&organization={value}")).await;
        assert_eq!(filtered["total"], count, "free=true&organization={value}");
    }

    // A selected value without matches is listed, with 0.
    let body = search(&app, "alvará", "organization=detran-mt").await;
    assert_eq!(body["total"], 0);
    assert_eq!(facet(&body, "organization")["detran-mt"], (0, true));
}

#[actix_web::test]
async fn the_municipality_facet_counts_statewide_services_everywhere() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let body = search(&app, "segunda via", "").await;
    let statewide = slugs(&body)
        .iter()
        .filter(|s| seeded(s).form.municipalities.is_empty())
        .count() as u64;
    let cuiaba_only = slugs(&body)
        .iter()
        .filter(|s| seeded(s).form.municipalities.contains(&5103403))
        .count() as u64;
    assert!(statewide > 0 && cuiaba_only > 0);
    let municipalities = facet(&body, "municipality");
    assert_eq!(municipalities["5103403"], (statewide + cuiaba_only, false));
    let label = body["facets"]["municipality"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["value"] == "5103403")
        .unwrap()["label"]
        .clone();
    assert_eq!(label, "Cuiabá (MT)");
    // Municipalities with no service of their own among the matches are not listed.
    assert!(
        !municipalities.contains_key("5107909"),
        "{municipalities:?}"
    );
}

// ----------------------------------------------------------------------------------------------
// Highlights

#[actix_web::test]
async fn highlights_mark_the_matching_words_of_name_and_description() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let body = search(&app, "alvará", "").await;
    let named = &item(&body, "solicitar-alvara-funcionamento-cuiaba")["highlights"];
    assert_eq!(
        named["name"],
        "Solicitar <mark>alvará</mark> de funcionamento em Cuiabá"
    );
    let description = named["description"].as_str().unwrap();
    assert!(
        marked(description).iter().all(|w| w == "alvará"),
        "{description}"
    );
    assert!(!marked(description).is_empty(), "{description}");
    // Matched in the description only: the name has no mark, the passage has.
    let described = &item(&body, "abrir-empresa")["highlights"];
    assert_eq!(
        described["name"],
        "Abrir empresa (registro na Junta Comercial)"
    );
    let description = described["description"].as_str().unwrap();
    assert_eq!(marked(description), vec!["alvará"], "{description}");
    assert!(
        fold(&seeded("abrir-empresa").form.content.description).contains(&fold(&unmark(
            description.trim_start_matches("… ").trim_end_matches(" …")
        ))),
        "the passage is a piece of the description: {description}"
    );

    // Matched by a popular name: it says so, and only where the name does not.
    let body = search(&app, "dar entrada", "").await;
    let popular = &item(&body, "solicitar-seguro-desemprego")["highlights"];
    assert_eq!(popular["name"], "Solicitar seguro-desemprego");
    assert_eq!(
        popular["popular_name"],
        "<mark>dar</mark> <mark>entrada</mark> no seguro-desemprego"
    );
    assert!(named.get("popular_name").is_none(), "{named}");

    // Stems match: the plural query marks the singular word.
    let body = search(&app, "certidões", "").await;
    assert_eq!(
        item(&body, "emitir-certidao-simplificada")["highlights"]["name"],
        "Emitir <mark>certidão</mark> simplificada da empresa"
    );

    // Every hit: the name with marks removed is the name; a description only when it matched.
    for text in ["emissão", "segunda via", "cnh", "renov", "vistorja"] {
        let body = search(&app, text, "").await;
        for hit in body["items"].as_array().unwrap() {
            let highlights = &hit["highlights"];
            assert_eq!(
                unmark(highlights["name"].as_str().unwrap()),
                hit["name"].as_str().unwrap(),
                "{text}"
            );
            if let Some(description) = highlights.get("description") {
                assert!(
                    !marked(description.as_str().unwrap()).is_empty(),
                    "{text}: {hit}"
                );
            }
        }
    }
}

#[actix_web::test]
async fn a_hit_matched_only_by_a_keyword_or_its_steps_says_where() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    // "autoescola" is only a keyword of the first driving licence.
    let body = search(&app, "autoescola", "").await;
    let highlights = &item(&body, "primeira-habilitacao")["highlights"];
    assert_eq!(
        highlights["keyword"], "<mark>autoescola</mark>",
        "{highlights}"
    );
    assert!(highlights.get("details").is_none(), "{highlights}");
    // The acronym is searched and shown as a popular name.
    let body = search(&app, "ppd", "").await;
    let highlights = &item(&body, "primeira-habilitacao")["highlights"];
    assert_eq!(
        highlights["popular_name"], "<mark>PPD</mark>",
        "{highlights}"
    );
    // Brucellosis is only in the documents the animal transit permit asks for.
    let body = search(&app, "brucelose", "").await;
    let highlights = &item(&body, "emitir-gta")["highlights"];
    let details = highlights["details"].as_str().unwrap();
    assert_eq!(marked(details), ["brucelose"], "{details}");
    assert!(highlights.get("keyword").is_none(), "{highlights}");
    // A weak word marked elsewhere does not say why: the licensing description has "internet",
    // only its steps the "lotéricas" where the fee is paid.
    let body = search(&app, "lotéricas internet", "").await;
    let highlights = &item(&body, "licenciar-veiculo-crlv-e")["highlights"];
    let description = highlights["description"].as_str().unwrap_or_default();
    assert_eq!(marked(description), ["internet"], "{highlights}");
    let details = highlights["details"].as_str().unwrap_or_default();
    assert_eq!(marked(details)[0], "lotéricas", "{highlights}");
    // Every hit says why it matched; keywords and steps only when nothing shown before does.
    for text in [
        "autoescola",
        "brucelose",
        "alvará",
        "cnh",
        "dar entrada",
        "biometria",
    ] {
        let body = search(&app, text, "").await;
        for hit in body["items"].as_array().unwrap() {
            let highlights = &hit["highlights"];
            let shown = |field: &str| {
                highlights[field]
                    .as_str()
                    .is_some_and(|t| t.contains("<mark>"))
            };
            let before = shown("name") || shown("popular_name") || shown("description");
            assert!(
                before || shown("keyword") || shown("details"),
                "{text}: {highlights}"
            );
            assert_eq!(
                before,
                highlights.get("keyword").is_none() && highlights.get("details").is_none(),
                "{text}: {highlights}"
            );
        }
    }
}

#[actix_web::test]
async fn highlights_escape_html() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    execute(
        &db,
        &rename_sql(
            "agendar-vistoria-veicular",
            r#"Agendar vistoria <b>veicular</b> & "rápida""#,
        ),
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    let body = search(&app, "vistoria", "").await;
    let hit = item(&body, "agendar-vistoria-veicular");
    assert_eq!(
        hit["name"],
        r#"Agendar vistoria <b>veicular</b> & "rápida""#
    );
    assert_eq!(
        hit["highlights"]["name"],
        "Agendar <mark>vistoria</mark> &lt;b&gt;veicular&lt;/b&gt; &amp; &quot;rápida&quot;"
    );
}

/// A synonym phrase is a match only as a whole: its words alone are not marked.
#[actix_web::test]
async fn highlights_mark_synonym_phrases_only_as_a_whole() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    // The licensing service's name says "veículo", not "imposto sobre a propriedade de
    // veículos automotores": nothing in its name matches "ipva".
    let body = search(&app, "ipva", "").await;
    let hit = item(&body, "licenciar-veiculo-crlv-e");
    assert_eq!(
        hit["highlights"]["name"], "Licenciar veículo e emitir o CRLV-e",
        "{hit}"
    );
    // "Carteira Digital de Trânsito" is not "carteira de motorista".
    let body = search(&app, "cnh", "").await;
    let description = item(&body, "renovar-cnh")["highlights"]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !description.contains("<mark>Carteira</mark> Digital"),
        "{description}"
    );
}

// ----------------------------------------------------------------------------------------------
// The list without a search, and errors

#[actix_web::test]
async fn without_q_the_list_has_no_facets_nor_highlights() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    for uri in [
        "/v1/services",
        "/v1/services?per_page=100",
        "/v1/services?organization=detran-mt&free=false",
        "/v1/services?sort=updated",
    ] {
        let body = ok(&app, uri).await;
        let keys: BTreeSet<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["items", "total", "page", "per_page"]),
            "{uri}"
        );
        for hit in body["items"].as_array().unwrap() {
            assert!(hit.get("highlights").is_none(), "{uri}: {hit}");
        }
    }
    // With q both appear.
    let body = search(&app, "cnh", "").await;
    assert!(body["facets"].is_object());
    assert!(body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|hit| hit["highlights"]["name"].is_string()));
}

#[actix_web::test]
async fn bad_search_parameters_are_422_problems() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let too_long = "a".repeat(201);
    let cases = [
        (
            "/v1/services?sort=relevance".to_owned(),
            "sort",
            "requires_q",
        ),
        (
            "/v1/services?sort=relevance&organization=detran-mt".to_owned(),
            "sort",
            "requires_q",
        ),
        (
            "/v1/services?fields=id,highlights".to_owned(),
            "fields",
            "requires_q",
        ),
        ("/v1/services?q=".to_owned(), "q", "invalid"),
        ("/v1/services?q=%20%20".to_owned(), "q", "invalid"),
        (format!("/v1/services?q={too_long}"), "q", "too_long"),
        (
            "/v1/services?q=cnh&colour=blue".to_owned(),
            "colour",
            "unknown",
        ),
        ("/v1/services?q=cnh&q=rg".to_owned(), "q", "duplicate"),
        (
            "/v1/services?q=cnh&page=2".to_owned(),
            "page",
            "out_of_range",
        ),
        (
            "/v1/services?q=cnh&per_page=2&page=3".to_owned(),
            "page",
            "out_of_range",
        ),
        (
            "/v1/services?q=xyzwqkj&page=2".to_owned(),
            "page",
            "out_of_range",
        ),
        (
            "/v1/services?q=cnh&per_page=101".to_owned(),
            "per_page",
            "out_of_range",
        ),
        ("/v1/services?q=cnh&free=sim".to_owned(), "free", "invalid"),
        (
            "/v1/services?facet_limit=10".to_owned(),
            "facet_limit",
            "requires_q",
        ),
        (
            "/v1/services?q=cnh&facet_limit=0".to_owned(),
            "facet_limit",
            "out_of_range",
        ),
        (
            "/v1/services?q=cnh&facet_limit=1001".to_owned(),
            "facet_limit",
            "out_of_range",
        ),
    ];
    for (uri, parameter, code) in cases {
        let body = get(&app, &uri).await.problem(422, "invalid_query");
        let errors = body["errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| e["parameter"] == parameter
                && e["code"] == code
                && e["message"].is_string()),
            "{uri}: {body}"
        );
    }
    // A malformed `q` is the one error: `highlights` is asked for in a search.
    let body = get(&app, "/v1/services?q=%20&fields=id,highlights")
        .await
        .problem(422, "invalid_query");
    assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["errors"][0]["parameter"], "q", "{body}");
    // Limits count characters, not bytes: 200 accented letters are fine.
    let accented = enc(&"ã".repeat(200));
    let reply = get(&app, &format!("/v1/services?q={accented}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // The last page exists even when nothing matches.
    assert_eq!(ok(&app, "/v1/services?q=xyzwqkj").await["total"], 0);
    assert_eq!(
        ok(&app, "/v1/services?q=cnh&per_page=2&page=2").await["page"],
        2
    );
}

// ----------------------------------------------------------------------------------------------
// Suggest

#[actix_web::test]
async fn suggest_completes_names_and_popular_names() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let published = published_slugs();
    let services = seeded_services();
    let all = ok(&app, "/v1/services?per_page=100").await;
    // "se", "de", "em": words search ignores, until the citizen types on.
    for typed in [
        "renov",
        "cnh",
        "c",
        "segunda v",
        "emit",
        "RENOVAÇ",
        "cart",
        "se",
        "de",
        "em",
    ] {
        let items = suggest(&app, typed).await;
        assert!(!items.is_empty(), "{typed}");
        assert!(items.len() <= 10, "{typed}: {items:?}");
        let typed_words = words(typed);
        let (prefix, whole) = typed_words.split_last().unwrap();
        let mut texts = BTreeSet::new();
        for suggestion in &items {
            let text = suggestion["text"].as_str().unwrap();
            assert!(texts.insert(fold(text)), "{typed}: {text} twice");
            let slug = suggestion["service_slug"].as_str().unwrap();
            assert!(published.contains(slug), "{typed}: {slug}");
            let service = services.iter().find(|s| s.form.slug == slug).unwrap();
            match suggestion["kind"].as_str().unwrap() {
                "name" => assert_eq!(text, service.form.content.name, "{typed}"),
                "popular_name" => {
                    assert!(
                        service.form.content.popular_names.iter().any(|p| p == text),
                        "{text}"
                    )
                }
                other => panic!("{typed}: kind {other}"),
            }
            let id = item(&all, slug)["id"].clone();
            assert_eq!(suggestion["service_id"], id, "{typed}: {slug}");
            // Earlier words whole, the last one completed.
            let text_words = words(text);
            assert!(
                text_words.iter().any(|w| w.starts_with(prefix.as_str())),
                "{typed}: {text}"
            );
            assert!(
                whole.iter().all(|w| text_words.contains(w)),
                "{typed}: {text}"
            );
        }
        // Texts with the last word typed as a word come first (not a stopword: "de" is more
        // likely "detran" on its way), then those starting with what was typed.
        let stopword = ["se", "de", "em"].contains(&prefix.as_str());
        let order: Vec<(bool, bool)> = items
            .iter()
            .map(|s| {
                let text = s["text"].as_str().unwrap();
                (
                    stopword || !words(text).contains(prefix),
                    !fold(text).starts_with(&fold(typed)),
                )
            })
            .collect();
        assert!(order.is_sorted(), "{typed}: {items:?}");
    }
    let renov = suggest(&app, "renov").await;
    assert_eq!(
        renov[0]["text"],
        "Renovar a Carteira Nacional de Habilitação (CNH)"
    );
    assert_eq!(renov[0]["kind"], "name");
    assert_eq!(renov[0]["service_slug"], "renovar-cnh");
    assert!(suggest(&app, "cnh")
        .await
        .iter()
        .any(|s| s["text"] == "CNH vencida" && s["kind"] == "popular_name"));
    assert_eq!(suggest(&app, "c").await.len(), 10);
    // Nothing completes it: no suggestion.
    assert!(suggest(&app, "xyzwq").await.is_empty());
    // Nor is one letter after the words around what is wanted completed alone.
    assert!(suggest(&app, "tirar p").await.is_empty());
    assert!(!suggest(&app, "tirar cn").await.is_empty());
    // A word search ignores, finished: nothing to complete.
    assert!(suggest(&app, "de ").await.is_empty());
    // After other words it is read as itself: names with them that do not begin so still come.
    assert!(suggest(&app, "carteira de")
        .await
        .iter()
        .any(|s| s["text"] == "Emitir segunda via da carteira de identidade (RG)"));
}

#[actix_web::test]
async fn suggest_lists_the_word_typed_before_the_longer_words_it_begins() {
    let db = TestDb::seeded().await;
    execute(
        &db,
        &rename_sql("emitir-gta", "Suspender a guia de trânsito"),
    )
    .await;
    let app = app(&db).await;
    let found = suggested_slugs(&suggest(&app, "sus").await);
    assert_eq!(found[0], "emitir-cartao-sus", "{found:?}");
    assert!(found.contains(&"emitir-gta".to_owned()), "{found:?}");
}

#[actix_web::test]
async fn suggest_reads_misspelt_words_when_nothing_completes_them() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let answer = |typed: &str| {
        let uri = format!("/v1/search/suggest?q={}", enc(typed));
        let app = &app;
        async move {
            let body = ok(app, &uri).await;
            let texts: Vec<String> = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["text"].as_str().unwrap().to_owned())
                .collect();
            (texts, body.get("read_as").cloned())
        }
    };
    // A misspelt last word, alone: read as what begins the most words, an edit that keeps its
    // length before a deletion ("habilitac", not "habilita"), with the accents of the names
    // (a front end marks it in "habilitação").
    let (found, read_as) = answer("habilitas").await;
    assert_eq!(found[0], "Obter a primeira habilitação", "{found:?}");
    assert_eq!(read_as, Some(json!("habilitaç")));
    let (_, read_as) = answer("Abilitação").await;
    assert_eq!(read_as, Some(json!("Habilitação")));
    // After earlier words, as what begins the most words of the texts that have them: the
    // catalogue's most frequent reading of "desemv" would not follow "credito".
    let (found, read_as) = answer("credito desemv").await;
    assert!(
        found
            .iter()
            .any(|t| fold(t).contains("credito desenvolve mt")),
        "{found:?}"
    );
    assert_eq!(read_as, Some(json!("credito desenv")));
    let (found, _) = answer("agendar vistorj").await;
    assert_eq!(found[0], "Agendar vistoria veicular", "{found:?}");
    // A misspelt earlier word, read as the most frequent word one edit away.
    let (found, read_as) = answer("solicitr seguro").await;
    assert!(
        found.iter().any(|t| fold(t).contains("seguro-desemprego")),
        "{found:?}"
    );
    assert_eq!(read_as, Some(json!("solicitar seguro")));
    // What completes as typed is not read: no `read_as`.
    let (found, read_as) = answer("vistor").await;
    assert!(
        found.iter().all(|t| fold(t).contains("vistor")),
        "{found:?}"
    );
    assert_eq!(read_as, None);
    // A last word the catalogue's words begin with is unfinished, not misspelt, even where
    // nothing completes it after the earlier words.
    assert_eq!(answer("agendar declarar").await, (vec![], None));
    // Nor is a word of the catalogue that no name has ("dias" is in a description), nor a weak
    // word.
    assert_eq!(answer("dias").await, (vec![], None));
    assert_eq!(answer("preciso").await, (vec![], None));
    // Words around what is wanted need not be in the names: without them, what remains is
    // completed.
    let (found, read_as) = answer("quero agendar vist").await;
    assert_eq!(found[0], "Agendar vistoria veicular", "{found:?}");
    assert_eq!(read_as, Some(json!("agendar vist")));
    // A reading takes the case of what was typed.
    let (_, read_as) = answer("Agendar VISTORJ").await;
    assert_eq!(read_as, Some(json!("Agendar VISTORI")));
    // Short prefixes and words nothing resembles are not read as others.
    assert_eq!(answer("visj").await, (vec![], None));
    assert_eq!(answer("xyzwq").await, (vec![], None));
}

#[actix_web::test]
async fn suggest_honours_its_limit() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let ten = suggest(&app, "c").await;
    assert_eq!(ten.len(), 10);
    let body = ok(&app, "/v1/search/suggest?q=c&limit=3").await;
    let three = body["items"].as_array().unwrap();
    assert_eq!(three.as_slice(), &ten[..3]);
    let body = ok(&app, "/v1/search/suggest?q=c&limit=10").await;
    assert_eq!(body["items"].as_array().unwrap(), &ten);
    let body = ok(&app, "/v1/search/suggest?q=renov&limit=1").await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn suggest_never_offers_unpublished_services() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let published = published_slugs();
    // Prefixes of the names of the draft, archived and in-review services.
    for typed in [
        "categ",
        "mudar",
        "aftosa",
        "vacina",
        "juizado",
        "ajuizar",
        "nfs",
        "cnh",
        "emitir nota",
        "declarar",
    ] {
        for slug in suggested_slugs(&suggest(&app, typed).await) {
            assert!(published.contains(&slug), "{typed}: {slug}");
        }
    }
    assert!(suggest(&app, "categ").await.is_empty());
    assert!(suggest(&app, "aftosa").await.is_empty());
    assert!(suggest(&app, "juizado").await.is_empty());
}

#[actix_web::test]
async fn bad_suggest_parameters_are_422_problems() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let too_long = "a".repeat(101);
    let cases = [
        ("/v1/search/suggest".to_owned(), "q", "required"),
        ("/v1/search/suggest?limit=3".to_owned(), "q", "required"),
        ("/v1/search/suggest?q=".to_owned(), "q", "invalid"),
        (format!("/v1/search/suggest?q={too_long}"), "q", "too_long"),
        (
            "/v1/search/suggest?q=c&limit=11".to_owned(),
            "limit",
            "out_of_range",
        ),
        (
            "/v1/search/suggest?q=c&limit=0".to_owned(),
            "limit",
            "out_of_range",
        ),
        (
            "/v1/search/suggest?q=c&limit=x".to_owned(),
            "limit",
            "invalid",
        ),
        (
            "/v1/search/suggest?q=c&page=1".to_owned(),
            "page",
            "unknown",
        ),
    ];
    for (uri, parameter, code) in cases {
        let body = get(&app, &uri).await.problem(422, "invalid_query");
        assert!(
            body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["parameter"] == parameter && e["code"] == code),
            "{uri}: {body}"
        );
    }
}

#[actix_web::test]
async fn the_length_of_q_documented_is_the_one_enforced() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let document = ok(&app, "/openapi.json").await;
    for path in ["/v1/services", "/v1/search/suggest"] {
        let q = document["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "q")
            .unwrap_or_else(|| panic!("{path}: no q"))
            .clone();
        let longest = q["schema"]["maxLength"]
            .as_u64()
            .unwrap_or_else(|| panic!("{path}: {q}")) as usize;
        // Letters with accents: characters count, not bytes.
        ok(&app, &format!("{path}?q={}", enc(&"é".repeat(longest)))).await;
        let body = get(&app, &format!("{path}?q={}", enc(&"é".repeat(longest + 1))))
            .await
            .problem(422, "invalid_query");
        assert_eq!(body["errors"][0]["code"], "too_long", "{path}: {body}");
    }
}

// ----------------------------------------------------------------------------------------------
// Freshness: writes made directly in the database, as another instance would

#[actix_web::test]
async fn a_published_draft_becomes_searchable_and_suggested() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let uri = format!("/v1/services?q={}", enc("categoria"));
    let before = slugs(&ok(&app, &uri).await);
    assert!(!before.contains(&"mudar-categoria-cnh".to_owned()));

    execute(&db, &set_status_sql("mudar-categoria-cnh", "published")).await;
    let body = eventually(&app, &uri, "published draft", |b| {
        slugs(b).first().map(String::as_str) == Some("mudar-categoria-cnh")
    })
    .await;
    assert_eq!(
        item(&body, "mudar-categoria-cnh")["highlights"]["name"],
        "Mudar ou adicionar <mark>categoria</mark> da CNH"
    );
    let suggested = suggested_slugs(&suggest(&app, "categ").await);
    assert!(
        suggested.contains(&"mudar-categoria-cnh".to_owned()),
        "{suggested:?}"
    );
}

#[actix_web::test]
async fn a_renamed_service_is_found_by_its_new_name_only() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let new_name = format!("/v1/services?q={}", enc("inspeção"));
    assert_eq!(ok(&app, &new_name).await["total"], 0);

    execute(
        &db,
        &rename_sql("agendar-vistoria-veicular", "Agendar inspeção veicular"),
    )
    .await;
    // The same query string as before: a cached answer must not hide the change.
    let body = eventually(&app, &new_name, "renamed service", |b| b["total"] != 0).await;
    let hit = item(&body, "agendar-vistoria-veicular");
    assert_eq!(hit["name"], "Agendar inspeção veicular");
    assert_eq!(
        hit["highlights"]["name"],
        "Agendar <mark>inspeção</mark> veicular"
    );
    assert_eq!(slugs(&body)[0], "agendar-vistoria-veicular");
    // The old name no longer suggests it, the new one does.
    let suggested = suggest(&app, "inspe").await;
    assert_eq!(suggested[0]["text"], "Agendar inspeção veicular");
    assert!(!suggest(&app, "agendar vist")
        .await
        .iter()
        .any(|s| s["kind"] == "name" && s["service_slug"] == "agendar-vistoria-veicular"));
}

#[actix_web::test]
async fn an_archived_service_disappears_from_search_suggestions_and_facets() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let uri = format!("/v1/services?q={}&per_page=100", enc("ipva"));
    let before = ok(&app, &uri).await;
    assert_eq!(slugs(&before)[0], "pagar-ipva");
    let sefaz = facet(&before, "organization")["sefaz-mt"].0;

    execute(&db, &set_status_sql("pagar-ipva", "archived")).await;
    let after = eventually(&app, &uri, "archived service", |b| {
        !slugs(b).contains(&"pagar-ipva".to_owned())
    })
    .await;
    assert_eq!(after["total"], before["total"].as_u64().unwrap() - 1);
    assert_eq!(facet(&after, "organization")["sefaz-mt"].0, sefaz - 1);
    assert!(!suggested_slugs(&suggest(&app, "pagar").await).contains(&"pagar-ipva".to_owned()));

    // Back to published: back in the results.
    execute(&db, &set_status_sql("pagar-ipva", "published")).await;
    eventually(&app, &uri, "republished service", |b| {
        slugs(b).first().map(String::as_str) == Some("pagar-ipva")
    })
    .await;
}

#[actix_web::test]
async fn a_deleted_service_disappears_from_search() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let uri = format!("/v1/services?q={}", enc("outorga"));
    assert_eq!(slugs(&ok(&app, &uri).await)[0], "solicitar-outorga-agua");
    execute(
        &db,
        // Links cascade.
        "DELETE FROM services WHERE slug = 'solicitar-outorga-agua'",
    )
    .await;
    eventually(&app, &uri, "deleted service", |b| {
        !slugs(b).contains(&"solicitar-outorga-agua".to_owned())
    })
    .await;
}

#[actix_web::test]
async fn catch_up_makes_a_write_visible_at_once() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let renamed = format!("/v1/services?q={}", enc("inspeção"));
    let archived = format!("/v1/services?q={}", enc("ipva"));
    assert_eq!(ok(&app, &renamed).await["total"], 0);
    assert!(slugs(&ok(&app, &archived).await).contains(&"pagar-ipva".to_owned()));

    execute(
        &db,
        &format!(
            "{}; {}",
            rename_sql("agendar-vistoria-veicular", "Agendar inspeção veicular"),
            set_status_sql("pagar-ipva", "archived")
        ),
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    // No waiting: the very next requests see both changes.
    assert_eq!(
        slugs(&ok(&app, &renamed).await),
        vec!["agendar-vistoria-veicular"]
    );
    assert!(!slugs(&ok(&app, &archived).await).contains(&"pagar-ipva".to_owned()));
    // Nothing left to apply.
    assert_eq!(state.search.catch_up(&state.pool).await.unwrap(), 0);
}

#[actix_web::test]
async fn cached_answers_are_invalidated_by_changes() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let uri = format!("/v1/services?q={}&per_page=100", enc("ipva"));
    let first: Reply = get(&app, &uri).await;
    let again = get(&app, &uri).await;
    assert_eq!(first.text, again.text);
    assert_eq!(first.header("link"), again.header("link"));
    let generation = state.search.generation();

    execute(&db, &set_status_sql("pagar-ipva", "archived")).await;
    state.search.catch_up(&state.pool).await.unwrap();
    assert!(state.search.generation() > generation);
    let after = get(&app, &uri).await;
    assert_eq!(after.status, 200);
    assert_ne!(after.text, first.text);
    assert!(!slugs(&after.json()).contains(&"pagar-ipva".to_owned()));

    // A vocabulary change invalidates too.
    let synonym = format!("/v1/services?q={}", enc("zarabatana"));
    assert_eq!(ok(&app, &synonym).await["total"], 0);
    execute(
        &db,
        "INSERT INTO search_synonyms (terms) VALUES ('{zarabatana,outorga}')",
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    assert_eq!(
        slugs(&ok(&app, &synonym).await)[0],
        "solicitar-outorga-agua"
    );
}

#[actix_web::test]
async fn an_organization_rename_reaches_hits_and_facets() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let uri = format!("/v1/services?q={}", enc("conta de água"));
    let before = ok(&app, &uri).await;
    assert_eq!(
        item(&before, "emitir-segunda-via-conta-agua")["organization"]["slug"],
        "aguas-cuiaba"
    );
    execute(
        &db,
        "UPDATE organizations SET name = 'Companhia de Águas Renomeada' WHERE slug = 'aguas-cuiaba'",
    )
    .await;
    let after = eventually(&app, &uri, "organization rename", |b| {
        item(b, "emitir-segunda-via-conta-agua")["organization"]["name"]
            == "Companhia de Águas Renomeada"
    })
    .await;
    let label = after["facets"]["organization"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["value"] == "aguas-cuiaba")
        .unwrap()["label"]
        .clone();
    assert_eq!(label, "Companhia de Águas Renomeada");
}

// ----------------------------------------------------------------------------------------------
// Known product bugs, kept as tests so they can be enabled once fixed.

#[actix_web::test]
async fn a_municipality_linked_after_start_is_listed_in_the_facet() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    // Alta Floresta had no service of its own when the index was built.
    execute(
        &db,
        "INSERT INTO service_municipalities (service_id, ibge_code) \
           SELECT id, 5100250 FROM services WHERE slug = 'emitir-segunda-via-conta-agua'; \
         UPDATE services SET updated_at = now() WHERE slug = 'emitir-segunda-via-conta-agua'",
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    let filtered = search(&app, "conta de água", "municipality=5100250").await;
    assert!(slugs(&filtered).contains(&"emitir-segunda-via-conta-agua".to_owned()));
    let body = search(&app, "conta de água", "").await;
    let municipalities = facet(&body, "municipality");
    assert_eq!(
        municipalities.get("5100250").map(|(count, _)| *count),
        filtered["total"].as_u64(),
        "{municipalities:?}"
    );
}

#[actix_web::test]
async fn a_selected_value_is_always_listed_in_its_facet() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    // seplag-mt exists but has no published service.
    let body = search(&app, "alvará", "organization=seplag-mt").await;
    assert_eq!(body["total"], 0);
    assert_eq!(
        facet(&body, "organization").get("seplag-mt"),
        Some(&(0, true)),
        "{body}"
    );
    // Alta Floresta has only statewide services.
    let body = search(&app, "alvará", "municipality=5100250").await;
    let total = body["total"].as_u64().unwrap();
    assert!(total > 0);
    assert_eq!(
        facet(&body, "municipality").get("5100250"),
        Some(&(total, true)),
        "{body}"
    );
}

#[actix_web::test]
async fn a_suspended_or_irregular_cpf_is_regularized() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    // A group of the catalogue: what citizens call the CPF's situation, and the service's name.
    for term in [
        "CPF suspenso",
        "cpf irregular",
        "CPF pendente de regularização",
    ] {
        let group = ok(&app, &format!("/v1/search/synonyms?term={}", enc(term))).await;
        assert_eq!(group[0]["terms"][0], "regularizar cpf", "{term}: {group}");
    }
    // A cancelled CPF is not regularized by that service.
    let group = ok(&app, "/v1/search/synonyms?term=cpf%20cancelado").await;
    assert_eq!(group, json!([]));
    // A service named so is found by what the citizen calls its situation.
    execute(&db, &rename_sql("emitir-gta", "Regularizar o CPF")).await;
    let uri = format!("/v1/services?q={}", enc("cpf suspenso"));
    let body = eventually(&app, &uri, "renamed service", |b| b["total"] != 0).await;
    assert_eq!(slugs(&body)[0], "emitir-gta", "{body}");
}

#[actix_web::test]
async fn facet_limit_lists_that_many_values_and_more_says_how_many_are_left_out() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let text = "emitir";
    let all = search(&app, text, "").await;
    let short = search(&app, text, "facet_limit=1").await;
    let mut cut = 0;
    for name in FACETS {
        let listed = all["facets"][name].as_array().unwrap();
        // The seed has fewer values than the default limit: all are listed.
        assert_eq!(all["facets"]["more"][name], 0, "{name}: {all}");
        let first = short["facets"][name].as_array().unwrap();
        assert_eq!(first.len(), listed.len().min(1), "{name}: {short}");
        assert_eq!(first.first(), listed.first(), "{name}: the most frequent");
        let more = short["facets"]["more"][name].as_u64().unwrap();
        assert_eq!(more, listed.len().saturating_sub(1) as u64, "{name}");
        cut += more;
    }
    assert!(cut > 0, "{short}");
    // The same hits and total.
    assert_eq!(all["items"], short["items"]);
    assert_eq!(all["total"], short["total"]);
    // A selected value is listed even past the limit; the value it displaces counts as more.
    let organizations = all["facets"]["organization"].as_array().unwrap();
    assert!(organizations.len() >= 2, "{all}");
    let least = organizations.last().unwrap()["value"].as_str().unwrap();
    let body = search(&app, text, &format!("facet_limit=1&organization={least}")).await;
    let listed = body["facets"]["organization"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["value"], least);
    assert_eq!(listed[0]["selected"], true);
    assert_eq!(
        body["facets"]["more"]["organization"],
        organizations.len() as u64 - 1
    );
    // seplag-mt has no published service: listed first, with the most frequent as one more.
    let body = search(&app, text, "facet_limit=1&organization=seplag-mt").await;
    let listed = body["facets"]["organization"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["value"], "seplag-mt");
    assert_eq!(
        body["facets"]["more"]["organization"],
        organizations.len() as u64
    );
}

#[actix_web::test]
async fn references_resolve_as_in_the_list_without_q() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    // No such municipality, organization or topic: nothing, as without `q`. (A slug in
    // capitals names its record in both: `services::filters_name_records_in_any_case`.)
    for filters in [
        "municipality=9999999",
        "organization=nao-existe",
        "topic=nao-existe",
    ] {
        let listed = ok(&app, &format!("/v1/services?{filters}")).await;
        assert_eq!(listed["total"], 0, "{filters}");
        let found = search(&app, "veículo", filters).await;
        assert_eq!(found["total"], 0, "{filters}: {found}");
        // The facets still show what the other values give, so the citizen can pick one.
        // ("alvará" finds municipal services.)
        let name = filters.split('=').next().unwrap();
        let unfiltered = facet(&search(&app, "alvará", "").await, name);
        assert!(!unfiltered.is_empty(), "{filters}");
        let found = search(&app, "alvará", filters).await;
        assert_eq!(found["total"], 0, "{filters}: {found}");
        assert_eq!(facet(&found, name), unfiltered, "{filters}");
    }
    // An organization id in any UUID notation.
    let by_slug = search(&app, "veículo", "organization=detran-mt").await;
    let id = by_slug["items"][0]["organization"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_id = search(
        &app,
        "veículo",
        &format!("organization={}", id.to_uppercase()),
    )
    .await;
    assert_eq!(slugs(&by_id), slugs(&by_slug));
}

#[actix_web::test]
async fn moving_a_topic_moves_its_sub_topics_services_in_the_filter() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    // A root topic with a sub-topic holding published services, and another root topic.
    let mut conn = db.connect().await;
    let moves: Vec<TopicMove> = diesel_async::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT child.slug AS child, parent.slug AS parent, \
                    (SELECT slug FROM topics WHERE parent_id IS NULL AND id <> parent.id \
                     ORDER BY slug LIMIT 1) AS other \
             FROM topics child JOIN topics parent ON parent.id = child.parent_id \
             WHERE parent.parent_id IS NULL AND EXISTS (SELECT 1 FROM service_topics st \
                   JOIN services s ON s.id = st.service_id \
                   WHERE st.topic_id = child.id AND s.status = 'published') \
             ORDER BY child.slug LIMIT 1",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    let TopicMove {
        child,
        parent,
        other,
    } = moves
        .into_iter()
        .next()
        .expect("a sub-topic with published services");
    let under_child = ok(&app, &format!("/v1/services?topic={child}&per_page=100")).await;
    execute(
        &db,
        &format!(
            "UPDATE topics SET parent_id = (SELECT id FROM topics WHERE slug = '{other}') \
             WHERE slug = '{parent}'"
        ),
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    // Each service of the sub-topic is now under `other`, for the list and for search alike.
    for item in under_child["items"].as_array().unwrap() {
        let slug = item["slug"].as_str().unwrap();
        let name = item["name"].as_str().unwrap();
        let listed = slugs(&ok(&app, &format!("/v1/services?topic={other}&per_page=100")).await);
        assert!(
            listed.contains(&slug.to_owned()),
            "{slug} not listed under {other}"
        );
        let found = slugs(&search(&app, name, &format!("topic={other}")).await);
        assert!(
            found.contains(&slug.to_owned()),
            "{slug} not found under {other}"
        );
    }
}

#[derive(diesel::QueryableByName)]
struct TopicMove {
    #[diesel(sql_type = diesel::sql_types::Text)]
    child: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    parent: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    other: String,
}
