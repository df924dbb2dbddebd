//! Autocomplete: service names and popular names for what the citizen has typed so far.
//!
//! Two sorted maps in memory: whole texts (for texts that begin with what was typed) and words
//! (for texts with a word that begins with the last word typed, earlier words whole). Each
//! request reads a bounded number of entries from each, so it stays cheap on every keystroke
//! however large the catalogue.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use domain::service::ServiceSummary;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::analysis;
use super::{SearchError, SearchIndex};

/// Words read per request for the last word's prefix, and entries read per word.
const WORDS_READ: usize = 64;
const ENTRIES_PER_WORD: usize = 8;
/// Entries of the rarest earlier word examined per request.
const ENTRIES_SCANNED: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionKind {
    Name,
    PopularName,
}

/// Text to complete the search box with, and the service it names.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Suggestion {
    #[schema(example = "Renovar a CNH")]
    pub text: String,
    pub kind: SuggestionKind,
    pub service_id: Uuid,
    #[schema(example = "renovar-cnh")]
    pub service_slug: String,
}

struct Entry {
    suggestion: Suggestion,
    folded: String,
    /// Content words of `folded`.
    words: Vec<String>,
}

#[derive(Default)]
pub(super) struct SuggestIndex {
    entries: Vec<Option<Entry>>,
    /// By service ord, its entries.
    by_ord: HashMap<u32, Vec<u32>>,
    words: BTreeMap<String, Vec<u32>>,
    /// Folded whole texts.
    texts: BTreeSet<(String, u32)>,
}

impl SuggestIndex {
    pub fn add(&mut self, ord: u32, summary: &ServiceSummary) {
        let texts = std::iter::once((summary.name.as_str(), SuggestionKind::Name)).chain(
            summary
                .popular_names
                .iter()
                .map(|name| (name.as_str(), SuggestionKind::PopularName)),
        );
        for (text, kind) in texts {
            let words: Vec<String> = analysis::words_stemming(text, |_| false)
                .into_iter()
                .filter(|w| w.position.is_some())
                .map(|w| w.folded)
                .collect();
            if words.is_empty() {
                continue;
            }
            let number = self.entries.len() as u32;
            for word in &words {
                let postings = self.words.entry(word.clone()).or_default();
                if postings.last() != Some(&number) {
                    postings.push(number);
                }
            }
            self.texts.insert((analysis::fold(text.trim()), number));
            self.entries.push(Some(Entry {
                suggestion: Suggestion {
                    text: text.trim().to_owned(),
                    kind,
                    service_id: summary.id,
                    service_slug: summary.slug.clone(),
                },
                folded: analysis::fold(text.trim()),
                words,
            }));
            self.by_ord.entry(ord).or_default().push(number);
        }
    }

    pub fn remove(&mut self, ord: u32) {
        for number in self.by_ord.remove(&ord).unwrap_or_default() {
            let Some(entry) = self.entries.get_mut(number as usize).and_then(Option::take) else {
                continue;
            };
            self.texts.remove(&(entry.folded.clone(), number));
            for word in entry.words {
                if let Some(postings) = self.words.get_mut(&word) {
                    postings.retain(|n| *n != number);
                    if postings.is_empty() {
                        self.words.remove(&word);
                    }
                }
            }
        }
    }

    /// Entries with every word of `words` (folded): those of the rarest word, checked for the
    /// others, at most [`ENTRIES_SCANNED`] of them.
    fn entries_with_all<'a>(&'a self, words: &'a [String]) -> impl Iterator<Item = &'a Entry> {
        let rarest = words
            .iter()
            .map(|word| self.words.get(word).map_or(&[][..], Vec::as_slice))
            .min_by_key(|postings| postings.len())
            .unwrap_or(&[]);
        rarest
            .iter()
            .take(ENTRIES_SCANNED)
            .filter_map(|number| self.entries.get(*number as usize).and_then(Option::as_ref))
            .filter(move |entry| words.iter().all(|word| entry.words.contains(word)))
    }

    /// Words of names and popular names that begin with `prefix`, in texts with every `earlier`
    /// word (folded), the most frequent first: the word a citizen is typing after "seguro" is
    /// more likely "desemprego" than the catalogue's most frequent words in "des".
    pub(super) fn completions_after(
        &self,
        earlier: &[String],
        prefix: &str,
        wanted: usize,
    ) -> Vec<String> {
        if earlier.is_empty() {
            return Vec::new();
        }
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for entry in self.entries_with_all(earlier) {
            // The earlier words are in every entry: they would complete anything.
            let completing = entry
                .words
                .iter()
                .filter(|w| w.starts_with(prefix) && !earlier.contains(w));
            for word in completing {
                *counts.entry(word.as_str()).or_default() += 1;
            }
        }
        let mut counts: Vec<(&str, usize)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        counts
            .into_iter()
            .take(wanted)
            .map(|(word, _)| word.to_owned())
            .collect()
    }

    fn suggest(&self, typed: &str, limit: usize) -> Vec<Suggestion> {
        let words: Vec<String> = analysis::words_stemming(typed, |_| false)
            .into_iter()
            .filter(|w| w.position.is_some())
            .map(|w| w.folded)
            .collect();
        let Some((prefix, whole)) = words.split_last() else {
            return Vec::new();
        };
        let typed_folded = analysis::fold(typed.trim());
        let entry = |number: &u32| self.entries.get(*number as usize).and_then(Option::as_ref);
        // Texts beginning with what was typed, in order.
        let mut candidates: Vec<&Entry> = self
            .texts
            .range((typed_folded.clone(), 0)..)
            .take_while(|(text, _)| text.starts_with(&typed_folded))
            .take(limit * 4)
            .filter_map(|(_, number)| entry(number))
            .collect();
        // Texts with a word completing the last one typed and every earlier word.
        if whole.is_empty() {
            let range = self
                .words
                .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
                .take_while(|(word, _)| word.starts_with(prefix.as_str()))
                .take(WORDS_READ);
            for (_, postings) in range {
                candidates.extend(postings.iter().filter_map(entry).take(ENTRIES_PER_WORD));
            }
        } else {
            candidates.extend(
                self.entries_with_all(whole)
                    .filter(|e| e.words.iter().any(|w| w.starts_with(prefix.as_str())))
                    .take(WORDS_READ * ENTRIES_PER_WORD),
            );
        }
        // What starts with the whole text typed first, then names before popular names, then
        // shorter (more general) texts.
        candidates.sort_by(|a, b| {
            let starts = |e: &Entry| !e.folded.starts_with(&typed_folded);
            starts(a)
                .cmp(&starts(b))
                .then(a.suggestion.kind.cmp(&b.suggestion.kind))
                .then(a.folded.len().cmp(&b.folded.len()))
                .then_with(|| a.folded.cmp(&b.folded))
                .then(a.suggestion.service_id.cmp(&b.suggestion.service_id))
        });
        let mut seen = std::collections::HashSet::new();
        candidates
            .into_iter()
            .filter(|entry| seen.insert(entry.folded.as_str()))
            .take(limit)
            .map(|entry| entry.suggestion.clone())
            .collect()
    }
}

impl SearchIndex {
    /// At most `limit` names and popular names completing `typed`.
    pub fn suggest(&self, typed: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
        Ok(self
            .store
            .read()
            .map_err(|_| SearchError::Poisoned)?
            .suggest
            .suggest(typed, limit))
    }
}
