//! Measuring ranking quality against a relevance set: queries with the services a citizen
//! expects (`api/eval/relevance-govbr.json`).

use std::collections::BTreeMap;

use domain::query::{PageRequest, ServiceFilter, ServiceSort};
use serde::Deserialize;

use super::{SearchError, SearchIndex, SearchRequest};

/// Hits examined per query: recall is taken in the first [`RECALL_AT`], reciprocal rank in the
/// first [`RANK_DEPTH`].
pub const RECALL_AT: usize = 5;
pub const RANK_DEPTH: usize = 10;

#[derive(Debug, Deserialize)]
pub struct RelevanceSet {
    #[serde(default)]
    pub description: String,
    pub queries: Vec<Judgement>,
}

#[derive(Debug, Deserialize)]
pub struct Judgement {
    pub query: String,
    #[serde(default)]
    pub kind: String,
    /// Slugs of the services a citizen expects.
    pub expected: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Score {
    pub queries: usize,
    pub recall_sum: f64,
    pub reciprocal_rank_sum: f64,
}

impl Score {
    pub fn recall(&self) -> f64 {
        self.recall_sum / self.queries.max(1) as f64
    }

    pub fn mrr(&self) -> f64 {
        self.reciprocal_rank_sum / self.queries.max(1) as f64
    }

    fn add(&mut self, recall: f64, reciprocal_rank: f64) {
        self.queries += 1;
        self.recall_sum += recall;
        self.reciprocal_rank_sum += reciprocal_rank;
    }
}

pub struct QueryOutcome {
    pub query: String,
    pub kind: String,
    pub recall: f64,
    pub reciprocal_rank: f64,
    pub top: Vec<String>,
    pub expected: Vec<String>,
    /// Time to answer in process (no HTTP), the best of a few runs.
    pub micros: u128,
}

pub struct Evaluation {
    pub overall: Score,
    pub by_kind: BTreeMap<String, Score>,
    pub outcomes: Vec<QueryOutcome>,
}

/// `runs`: each query is answered this many times and its best time kept.
pub fn evaluate(
    index: &SearchIndex,
    set: &RelevanceSet,
    runs: usize,
) -> Result<Evaluation, SearchError> {
    let mut overall = Score::default();
    let mut by_kind: BTreeMap<String, Score> = BTreeMap::new();
    let mut outcomes = Vec::new();
    for judgement in &set.queries {
        let request = SearchRequest {
            text: judgement.query.clone(),
            filter: ServiceFilter::default(),
            sort: ServiceSort::Relevance,
            page: PageRequest {
                page: 1,
                per_page: RANK_DEPTH as u32,
            },
            facet_limit: super::DEFAULT_FACET_VALUES,
        };
        let mut micros = u128::MAX;
        let mut results = None;
        for _ in 0..runs.max(1) {
            let started = std::time::Instant::now();
            results = Some(index.search(&request)?);
            micros = micros.min(started.elapsed().as_micros());
        }
        let Some(results) = results else { continue };
        let top: Vec<String> = results.hits.into_iter().map(|h| h.summary.slug).collect();
        let wanted = judgement.expected.len().clamp(1, RECALL_AT);
        let found = top
            .iter()
            .take(RECALL_AT)
            .filter(|slug| judgement.expected.contains(slug))
            .count();
        let recall = found as f64 / wanted as f64;
        let reciprocal_rank = top
            .iter()
            .position(|slug| judgement.expected.contains(slug))
            .map_or(0.0, |rank| 1.0 / (rank + 1) as f64);
        overall.add(recall, reciprocal_rank);
        by_kind
            .entry(judgement.kind.clone())
            .or_default()
            .add(recall, reciprocal_rank);
        outcomes.push(QueryOutcome {
            query: judgement.query.clone(),
            kind: judgement.kind.clone(),
            recall,
            reciprocal_rank,
            top,
            expected: judgement.expected.clone(),
            micros,
        });
    }
    Ok(Evaluation {
        overall,
        by_kind,
        outcomes,
    })
}

impl Evaluation {
    /// A report for people: the misses, then the scores by kind and overall.
    pub fn render(&self, verbose: bool) -> String {
        let mut out = String::new();
        for outcome in &self.outcomes {
            if verbose || outcome.recall < 1.0 {
                out.push_str(&format!(
                    "{:<8} recall@{RECALL_AT} {:.2} rr {:.2}  {:?}\n         expected {:?}\n         got      {:?}\n",
                    outcome.kind,
                    outcome.recall,
                    outcome.reciprocal_rank,
                    outcome.query,
                    outcome.expected,
                    outcome.top.iter().take(RECALL_AT).collect::<Vec<_>>(),
                ));
            }
        }
        let mut slowest: Vec<&QueryOutcome> = self.outcomes.iter().collect();
        slowest.sort_by_key(|o| std::cmp::Reverse(o.micros));
        let mut times: Vec<u128> = self.outcomes.iter().map(|o| o.micros).collect();
        times.sort();
        if let Some(median) = times.get(times.len() / 2) {
            out.push_str(&format!(
                "\nin-process time per query: median {median} µs; slowest:"
            ));
            for outcome in slowest.iter().take(5) {
                out.push_str(&format!(" {:?} {} µs;", outcome.query, outcome.micros));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "\n{:<12} {:>7} {:>9} {:>7}\n",
            "kind", "queries", "recall@5", "MRR@10"
        ));
        for (kind, score) in &self.by_kind {
            out.push_str(&format!(
                "{:<12} {:>7} {:>9.3} {:>7.3}\n",
                kind,
                score.queries,
                score.recall(),
                score.mrr()
            ));
        }
        out.push_str(&format!(
            "{:<12} {:>7} {:>9.3} {:>7.3}\n",
            "all",
            self.overall.queries,
            self.overall.recall(),
            self.overall.mrr()
        ));
        out
    }
}
