//! Search quality on the federal corpus, when it is at hand:
//! `CARTA_GOVBR_DIR=$PWD/../shared/data/govbr-cartas-v3 cargo test -p carta-tests --test search_quality -- --ignored`.
//! The same figures, with every miss listed: `carta search-eval api/eval/relevance-govbr.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use carta_api::import::import_govbr_xml;
use carta_api::search::evaluation::{evaluate, RelevanceSet};
use carta_tests::TestDb;

fn relevance_set(name: &str) -> RelevanceSet {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../api/eval")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[actix_web::test]
#[ignore]
async fn relevance_meets_its_targets_on_the_federal_corpus() {
    let dir = std::env::var("CARTA_GOVBR_DIR")
        .unwrap_or_else(|_| "../../shared/data/govbr-cartas-v3".into());
    let db = TestDb::empty().await;
    let mut conn = db.connect().await;
    import_govbr_xml(&mut conn, std::path::Path::new(&dir))
        .await
        .unwrap();
    let state = carta_tests::state(&db).await;

    let tuned = evaluate(&state.search, &relevance_set("relevance-govbr.json"), 1).unwrap();
    println!("{}", tuned.render(false));
    assert!(tuned.overall.queries >= 60);
    assert!(
        tuned.overall.recall() >= 0.90,
        "recall@5 {}",
        tuned.overall.recall()
    );
    assert!(tuned.overall.mrr() >= 0.75, "MRR {}", tuned.overall.mrr());

    // Written apart from the tuning: a floor that catches a ranking that stopped generalising.
    let holdout = evaluate(
        &state.search,
        &relevance_set("relevance-govbr-holdout.json"),
        1,
    )
    .unwrap();
    println!("{}", holdout.render(false));
    assert!(
        holdout.overall.recall() >= 0.85,
        "recall@5 {}",
        holdout.overall.recall()
    );
    assert!(
        holdout.overall.mrr() >= 0.75,
        "MRR {}",
        holdout.overall.mrr()
    );
}
