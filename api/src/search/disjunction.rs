//! A disjunction that scores lazily: the best clause plus a share of the others, computed only
//! for the documents the enclosing query asks about.
//!
//! tantivy's `DisjunctionMaxQuery` and `BooleanQuery` of should clauses build a buffered union,
//! which scores every document of a 4,096-document window as soon as it is reached and, when an
//! intersection seeks past the window, clears 4,096 score slots and refills the next window.
//! That is fast for a union that is walked from match to match (the word that leads an
//! intersection, a query of one word), and wasted on one that is only sought at the matches of
//! another clause: the other words of a query, its phrase bonus. There each seek moves each
//! clause with its own skip list and a score is computed for the current document only. The
//! scores are the same: `max + (sum - max) * tie_breaker`.

use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, Term, TERMINATED};

/// Matches a document when any clause does. Scores it as its best clause plus `tie_breaker`
/// times the others: 0 for the best alone, 1 for the sum of every clause.
#[derive(Debug)]
pub struct LazyDisjunction {
    clauses: Vec<Box<dyn Query>>,
    tie_breaker: Score,
}

impl LazyDisjunction {
    pub fn new(clauses: Vec<Box<dyn Query>>, tie_breaker: Score) -> LazyDisjunction {
        LazyDisjunction {
            clauses,
            tie_breaker,
        }
    }

    /// The clauses' scores added up (a boolean query of should clauses).
    pub fn sum(clauses: Vec<Box<dyn Query>>) -> LazyDisjunction {
        LazyDisjunction::new(clauses, 1.0)
    }
}

impl Clone for LazyDisjunction {
    fn clone(&self) -> Self {
        LazyDisjunction {
            clauses: self
                .clauses
                .iter()
                .map(|clause| clause.box_clone())
                .collect(),
            tie_breaker: self.tie_breaker,
        }
    }
}

impl Query for LazyDisjunction {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(DisjunctionWeight {
            weights: self
                .clauses
                .iter()
                .map(|clause| clause.weight(enable_scoring))
                .collect::<tantivy::Result<_>>()?,
            tie_breaker: self.tie_breaker,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for clause in &self.clauses {
            clause.query_terms(visitor);
        }
    }
}

struct DisjunctionWeight {
    weights: Vec<Box<dyn Weight>>,
    tie_breaker: Score,
}

impl Weight for DisjunctionWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut scorers = Vec::with_capacity(self.weights.len());
        for weight in &self.weights {
            let scorer = weight.scorer(reader, boost)?;
            if scorer.doc() != TERMINATED {
                scorers.push(scorer);
            }
        }
        Ok(match scorers.len() {
            0 => Box::new(EmptyScorer),
            // A lone clause scores as itself whatever the tie breaker.
            1 => scorers.remove(0),
            _ => Box::new(DisjunctionScorer::new(scorers, self.tie_breaker)),
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        let mut explanation = Explanation::new("lazy disjunction", scorer.score());
        for weight in &self.weights {
            if let Ok(detail) = weight.explain(reader, doc) {
                explanation.add_detail(detail);
            }
        }
        Ok(explanation)
    }
}

struct DisjunctionScorer {
    /// Clauses not yet exhausted, each positioned at or after `doc`.
    scorers: Vec<Box<dyn Scorer>>,
    /// Each clause's document, kept here: asking a boxed scorer costs a dynamic call.
    docs: Vec<DocId>,
    doc: DocId,
    tie_breaker: Score,
}

impl DisjunctionScorer {
    fn new(scorers: Vec<Box<dyn Scorer>>, tie_breaker: Score) -> DisjunctionScorer {
        let docs = scorers.iter().map(|scorer| scorer.doc()).collect();
        let mut scorer = DisjunctionScorer {
            scorers,
            docs,
            doc: TERMINATED,
            tie_breaker,
        };
        scorer.settle(false);
        scorer
    }

    /// Moves to the lowest document of the clauses, first dropping the exhausted ones.
    fn settle(&mut self, some_exhausted: bool) -> DocId {
        if some_exhausted {
            // In order: a score adds the clauses up in one order, whichever ran out first, so that
            // equal documents score exactly alike on every instance.
            let mut docs = self.docs.iter();
            self.scorers
                .retain(|_| docs.next().is_some_and(|doc| *doc != TERMINATED));
            self.docs.retain(|doc| *doc != TERMINATED);
        }
        self.doc = self.docs.iter().copied().min().unwrap_or(TERMINATED);
        self.doc
    }
}

impl DocSet for DisjunctionScorer {
    fn advance(&mut self) -> DocId {
        let current = self.doc;
        let mut exhausted = false;
        for (scorer, doc) in self.scorers.iter_mut().zip(&mut self.docs) {
            if *doc == current {
                *doc = scorer.advance();
                exhausted |= *doc == TERMINATED;
            }
        }
        self.settle(exhausted)
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        let mut exhausted = false;
        for (scorer, doc) in self.scorers.iter_mut().zip(&mut self.docs) {
            if *doc < target {
                *doc = scorer.seek(target);
                exhausted |= *doc == TERMINATED;
            }
        }
        self.settle(exhausted)
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        // An upper bound: the clauses may overlap.
        self.scorers
            .iter()
            .map(|scorer| scorer.size_hint())
            .fold(0u32, u32::saturating_add)
    }

    fn cost(&self) -> u64 {
        self.scorers.iter().map(|scorer| scorer.cost()).sum()
    }
}

impl Scorer for DisjunctionScorer {
    fn score(&mut self) -> Score {
        let (mut max, mut sum) = (0.0f32, 0.0f32);
        for (scorer, doc) in self.scorers.iter_mut().zip(&self.docs) {
            if *doc == self.doc {
                let score = scorer.score();
                max = max.max(score);
                sum += score;
            }
        }
        max + (sum - max) * self.tie_breaker
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use tantivy::collector::TopDocs;
    use tantivy::query::{BooleanQuery, DisjunctionMaxQuery, Occur, Query, TermQuery};
    use tantivy::schema::{IndexRecordOption, Schema, TEXT};
    use tantivy::{doc, Index, Term};

    use super::LazyDisjunction;

    /// Every document's score under `query`, by document.
    fn scores(index: &Index, query: &dyn Query) -> Vec<(u32, f32)> {
        let searcher = index.reader().expect("reader").searcher();
        let mut found: Vec<(u32, f32)> = searcher
            .search(query, &TopDocs::with_limit(100).order_by_score())
            .expect("search")
            .into_iter()
            .map(|(score, address)| (address.doc_id, score))
            .collect();
        found.sort_by_key(|(doc, _)| *doc);
        found
    }

    #[test]
    fn it_matches_and_scores_as_tantivys_buffered_unions() {
        let mut builder = Schema::builder();
        let title = builder.add_text_field("title", TEXT);
        let body = builder.add_text_field("body", TEXT);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index
            .writer_with_num_threads(1, 15_000_000)
            .expect("writer");
        for (t, b) in [
            ("alpha beta", "gamma"),
            ("beta", "alpha alpha"),
            ("gamma", "delta"),
            ("alpha", "alpha beta"),
            ("delta", "beta"),
        ] {
            writer
                .add_document(doc!(title => t, body => b))
                .expect("add");
        }
        writer.commit().expect("commit");
        let term = |field, text: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::WithFreqs,
            ))
        };
        let clauses = || {
            vec![
                term(title, "alpha"),
                term(body, "alpha"),
                term(body, "beta"),
            ]
        };
        let close = |a: Vec<(u32, f32)>, b: Vec<(u32, f32)>| {
            assert_eq!(a.len(), b.len(), "{a:?} against {b:?}");
            for ((doc_a, score_a), (doc_b, score_b)) in a.iter().zip(&b) {
                assert_eq!(doc_a, doc_b);
                assert!((score_a - score_b).abs() < 1e-5, "{a:?} against {b:?}");
            }
        };
        close(
            scores(&index, &LazyDisjunction::new(clauses(), 0.2)),
            scores(
                &index,
                &DisjunctionMaxQuery::with_tie_breaker(clauses(), 0.2),
            ),
        );
        close(
            scores(&index, &LazyDisjunction::sum(clauses())),
            scores(
                &index,
                &BooleanQuery::new(clauses().into_iter().map(|c| (Occur::Should, c)).collect()),
            ),
        );
        // Inside an intersection, where the clauses are sought rather than walked.
        let within = |disjunction: Box<dyn Query>| {
            BooleanQuery::new(vec![
                (Occur::Must, disjunction),
                (Occur::Must, term(body, "beta")),
            ])
        };
        close(
            scores(&index, &within(Box::new(LazyDisjunction::sum(clauses())))),
            scores(
                &index,
                &within(Box::new(BooleanQuery::new(
                    clauses().into_iter().map(|c| (Occur::Should, c)).collect(),
                ))),
            ),
        );
    }
}
