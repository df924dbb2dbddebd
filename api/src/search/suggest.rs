//! Autocomplete: service names and popular names for what the citizen has typed so far.
//!
//! Two sorted maps in memory: whole texts (for texts that begin with what was typed) and words
//! (for texts with a word that begins with the last word typed, earlier words whole). Each
//! request reads a bounded number of entries from each, so it stays cheap on every keystroke
//! however large the catalogue.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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
            let words: Vec<String> = content_words(text).map(|w| w.folded).collect();
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
        let words: Vec<String> = content_words(typed).map(|w| w.folded).collect();
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
            for (_, postings) in self.words_beginning(prefix).take(WORDS_READ) {
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

/// Words shorter than this are not read as others: too many short words are one edit apart.
const MIN_TYPO_LEN: usize = 4;
/// The same for the last word, a prefix: one edit from a short prefix opens far more words
/// ("nasc" is one deletion from "nac", which begins "nacional").
const MIN_PREFIX_TYPO_LEN: usize = 5;
/// Texts with the earlier words read for what a misspelt last word could be: enough to
/// find the frequent words, few enough for a keystroke.
const CONTEXT_SAMPLE: usize = 1_000;
/// Words read per variant of a misspelt prefix.
const WORDS_PER_VARIANT: usize = 16;

impl SuggestIndex {
    /// `typed` with its misspelt words read as words of names and popular names one edit away:
    /// an unknown earlier word as the most frequent such word, the last one (a prefix) as what
    /// begins the most words of the texts that have the earlier words ("seguro desenp" as
    /// "seguro desemp"), or of all texts when it is alone ("sertid" as "certid"). `None` when no
    /// word could be read so.
    fn read_as_known(&self, typed: &str) -> Option<String> {
        let words: Vec<analysis::Word> = content_words(typed).collect();
        let (last, whole) = words.split_last()?;
        let mut read_as: Vec<(&analysis::Word, String)> = Vec::new();
        let mut earlier = Vec::with_capacity(whole.len());
        for word in whole {
            let misspelt = !self.words.contains_key(&word.folded)
                && word.folded.chars().count() >= MIN_TYPO_LEN;
            let best = misspelt
                .then(|| {
                    one_edit_away(&word.folded)
                        .into_iter()
                        .filter_map(|variant| {
                            let frequency = self.words.get(&variant).map_or(0, Vec::len);
                            (frequency > 0).then_some((frequency, variant))
                        })
                        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)))
                })
                .flatten();
            match best {
                Some((_, variant)) => {
                    earlier.push(variant.clone());
                    read_as.push((word, variant));
                }
                None => earlier.push(word.folded.clone()),
            }
        }
        if last.folded.chars().count() >= MIN_PREFIX_TYPO_LEN {
            let mut variants: HashSet<String> = one_edit_away(&last.folded).into_iter().collect();
            variants.insert(last.folded.clone());
            let mut frequency: HashMap<&str, usize> = HashMap::new();
            if earlier.is_empty() {
                for variant in &variants {
                    frequency.insert(variant, self.frequency_of_words_beginning(variant));
                }
            } else {
                let mut words_in_context: HashMap<&str, usize> = HashMap::new();
                for entry in self.entries_with_all(&earlier).take(CONTEXT_SAMPLE) {
                    for word in &entry.words {
                        *words_in_context.entry(word).or_default() += 1;
                    }
                }
                for (word, count) in words_in_context {
                    for prefix in prefixes_near_length(word, last.folded.chars().count()) {
                        if let Some(variant) = variants.get(prefix) {
                            *frequency.entry(variant).or_default() += count;
                        }
                    }
                }
            }
            // The prefix as typed wins whenever it begins some word.
            let typed_prefix = frequency.get(last.folded.as_str()).copied().unwrap_or(0);
            let best = frequency
                .into_iter()
                .filter(|(_, count)| *count > 0)
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)));
            if let (0, Some((variant, _))) = (typed_prefix, best) {
                read_as.push((last, variant.to_owned()));
            }
        }
        if read_as.is_empty() {
            return None;
        }
        let mut read = String::with_capacity(typed.len() + 4);
        let mut cursor = 0;
        for (word, variant) in read_as {
            read.push_str(typed.get(cursor..word.start)?);
            read.push_str(&variant);
            cursor = word.end;
        }
        read.push_str(typed.get(cursor..)?);
        Some(read)
    }

    fn words_beginning<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Vec<u32>)> {
        self.words
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(word, _)| word.starts_with(prefix))
    }

    /// Entries of the (at most [`WORDS_PER_VARIANT`]) words beginning with `prefix`.
    fn frequency_of_words_beginning(&self, prefix: &str) -> usize {
        self.words_beginning(prefix)
            .take(WORDS_PER_VARIANT)
            .map(|(_, entries)| entries.len())
            .sum()
    }
}

/// The words of `text` but stopwords, folded, not stemmed.
fn content_words(text: &str) -> impl Iterator<Item = analysis::Word> {
    analysis::words_stemming(text, |_| false)
        .into_iter()
        .filter(|w| w.position.is_some())
}

/// The prefixes of `word` one letter shorter, as long, and one letter longer than `length`
/// letters: those a prefix of that length one edit away could be.
fn prefixes_near_length(word: &str, length: usize) -> impl Iterator<Item = &str> {
    let ends: Vec<usize> = word
        .char_indices()
        .map(|(at, _)| at)
        .chain([word.len()])
        .collect();
    (length.saturating_sub(1)..=length + 1).filter_map(move |letters| {
        ends.get(letters)
            .filter(|_| letters > 0)
            .map(|end| &word[..*end])
    })
}

/// Every string one deletion, transposition, substitution or insertion away from `word`, in the
/// alphabet of folded words.
fn one_edit_away(word: &str) -> Vec<String> {
    const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
    let chars: Vec<char> = word.chars().collect();
    let with = |build: &dyn Fn(&mut Vec<char>)| -> String {
        let mut variant = chars.clone();
        build(&mut variant);
        variant.into_iter().collect()
    };
    let mut variants = Vec::with_capacity((chars.len() * 2 + 1) * (ALPHABET.len() + 1));
    for at in 0..chars.len() {
        variants.push(with(&|v| {
            v.remove(at);
        }));
        if at + 1 < chars.len() && chars[at] != chars[at + 1] {
            variants.push(with(&|v| v.swap(at, at + 1)));
        }
        for letter in ALPHABET.chars().filter(|letter| *letter != chars[at]) {
            variants.push(with(&|v| v[at] = letter));
        }
    }
    for at in 0..=chars.len() {
        for letter in ALPHABET.chars() {
            variants.push(with(&|v| v.insert(at, letter)));
        }
    }
    variants.sort_unstable();
    variants.dedup();
    variants
}

impl SearchIndex {
    /// At most `limit` names and popular names completing `typed`; when nothing does, what
    /// completes it with its misspelt words read as known ones.
    pub fn suggest(&self, typed: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
        let store = self.store.read().map_err(|_| SearchError::Poisoned)?;
        let found = store.suggest.suggest(typed, limit);
        if !found.is_empty() {
            return Ok(found);
        }
        Ok(store
            .suggest
            .read_as_known(typed)
            .map(|read| store.suggest.suggest(&read, limit))
            .unwrap_or_default())
    }
}
