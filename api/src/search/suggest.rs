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

use super::{analysis, plan};
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
            let words: Vec<String> = analysis::content_words(text).map(|w| w.folded).collect();
            if words.is_empty() {
                continue;
            }
            let number = self.entries.len() as u32;
            for word in &words {
                // Most words are known already: no key is copied for them.
                match self.words.get_mut(word) {
                    Some(postings) => {
                        if postings.last() != Some(&number) {
                            postings.push(number);
                        }
                    }
                    None => {
                        self.words.insert(word.clone(), vec![number]);
                    }
                }
            }
            let folded = analysis::fold(text.trim());
            self.texts.insert((folded.clone(), number));
            self.entries.push(Some(Entry {
                suggestion: Suggestion {
                    text: text.trim().to_owned(),
                    kind,
                    service_id: summary.id,
                    service_slug: summary.slug.clone(),
                },
                folded,
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

    /// `level`: a service's popularity step (see `popularity::Boosts`).
    fn suggest(&self, typed: &str, limit: usize, level: impl Fn(&Uuid) -> u8) -> Vec<Suggestion> {
        let mut words: Vec<String> = analysis::content_words(typed).map(|w| w.folded).collect();
        // A stopword typed alone may be the beginning of a word ("se" of "seguro", "de" of
        // "detran"): it is completed. After other words it is more likely what it is ("carteira
        // de"): names with them, which need not begin with them, still come.
        if words.is_empty() {
            words.extend(unfinished_stopword(typed));
        }
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
        // What has the last word typed as a word of its own first (`sus`: the SUS card before
        // "Suspender…", `diploma` a diploma before a diplomatic passport; not a word of two
        // letters, "pa" being more likely "passaporte" on its way than Pará), then what starts
        // with the whole text typed, then the services citizens view most (`cart`: the work card
        // before a jockey club's licence, once it is viewed more), then names before popular
        // names, then shorter (more general) texts.
        let whole_word = prefix.chars().count() >= 3;
        candidates.sort_by(|a, b| {
            let has_word = |e: &Entry| !(whole_word && e.words.contains(prefix));
            let starts = |e: &Entry| !e.folded.starts_with(&typed_folded);
            has_word(a)
                .cmp(&has_word(b))
                .then_with(|| starts(a).cmp(&starts(b)))
                .then_with(|| level(&b.suggestion.service_id).cmp(&level(&a.suggestion.service_id)))
                .then(a.suggestion.kind.cmp(&b.suggestion.kind))
                .then(a.folded.len().cmp(&b.folded.len()))
                .then_with(|| a.folded.cmp(&b.folded))
                .then(a.suggestion.service_id.cmp(&b.suggestion.service_id))
        });
        let mut seen = HashSet::new();
        candidates
            .into_iter()
            .filter(|entry| seen.insert(entry.folded.as_str()))
            .take(limit)
            .map(|entry| entry.suggestion.clone())
            .collect()
    }
}

/// The last word, a prefix, is read as another from this length on: one edit from a short prefix
/// opens far more words ("nasc" is one deletion from "nac", which begins "nacional").
const MIN_PREFIX_TYPO_LEN: usize = 5;
/// Longer words are not read as others: names have no such words, and a word's variants grow
/// with the square of its length.
const MAX_TYPO_LEN: usize = 30;
/// The same for the last word, whose variants are each looked for as a prefix.
const MAX_PREFIX_TYPO_LEN: usize = 20;
/// A shorter prefix's words include a longer one's: an edit that keeps the length is preferred
/// unless a deletion begins this many times more words.
const DELETION_ADVANTAGE: usize = 4;
/// A text with more words to read than this is not read at all: it is not a misspelling.
const MAX_WORDS_READ: usize = 3;
/// Texts with the earlier words read for what a misspelt last word could be: enough to
/// find the frequent words, few enough for a keystroke.
const CONTEXT_SAMPLE: usize = 1_000;
/// Words read per variant of a misspelt prefix.
const WORDS_PER_VARIANT: usize = 16;

impl SuggestIndex {
    /// `typed` with its misspelt words read as words of names and popular names one edit away:
    /// an earlier word the catalogue does not know (`known`) as the most frequent such word, a
    /// last word (a prefix) that begins none of its words (`begun`) as the variant that begins
    /// the most words of the texts that have the earlier words ("seguro desenp" as "seguro
    /// desemp"), or of the names when it is alone ("sertid" as "certid"). Each reading takes the
    /// case of the word typed. `None` when no word could be read so.
    fn read_as_known(
        &self,
        typed: &str,
        known: impl Fn(&str) -> bool,
        begun: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let words: Vec<analysis::Word> = analysis::content_words(typed).collect();
        let (last, whole) = words.split_last()?;
        let letters = |word: &analysis::Word| word.folded.chars().count();
        // Weak words ("preciso"), numbers and common words ("ontem") are the citizen's, not the
        // catalogue's: never misspelt.
        let misspelt = |word: &analysis::Word| {
            (plan::MIN_TYPO_LEN..=MAX_TYPO_LEN).contains(&letters(word))
                && !analysis::is_weak(&word.folded)
                && !analysis::is_meant(&word.folded)
                && !known(&word.folded)
        };
        // A prefix the catalogue's words begin with is unfinished, not misspelt (as in search).
        let last_misspelt = (MIN_PREFIX_TYPO_LEN..=MAX_PREFIX_TYPO_LEN).contains(&letters(last))
            && !analysis::is_weak(&last.folded)
            && !analysis::is_meant(&last.folded)
            && !begun(&last.folded);
        let to_read = whole.iter().filter(|w| misspelt(w)).count() + usize::from(last_misspelt);
        if to_read == 0 || to_read > MAX_WORDS_READ {
            return None;
        }
        let mut read_as: Vec<(std::ops::Range<usize>, String)> = Vec::new();
        let mut as_typed = |word: &analysis::Word, reading: String| {
            let shown = analysis::in_the_case_of(typed.get(word.start..word.end)?, reading);
            read_as.push((word.start..word.end, shown));
            Some(())
        };
        let mut earlier: Vec<String> = Vec::new();
        for word in whole {
            let reading = misspelt(word)
                .then(|| self.likeliest_word_one_edit_from(&word.folded))
                .flatten();
            if let Some(reading) = &reading {
                as_typed(word, self.as_written(reading))?;
            }
            let read = reading.unwrap_or_else(|| word.folded.clone());
            if !analysis::is_weak(&read) && !earlier.contains(&read) {
                earlier.push(read);
            }
        }
        if last_misspelt {
            if let Some(reading) = self.likeliest_prefix_one_edit_from(&last.folded, &earlier) {
                as_typed(last, self.as_written(&reading))?;
            }
        }
        if read_as.is_empty() {
            return None;
        }
        analysis::replace_words(typed, &read_as)
    }

    /// The most frequent word of names one edit from `folded`.
    fn likeliest_word_one_edit_from(&self, folded: &str) -> Option<String> {
        one_edit_away(folded)
            .into_iter()
            .filter_map(|variant| {
                let frequency = self.words.get(&variant).map_or(0, Vec::len);
                (frequency > 0).then_some((frequency, variant))
            })
            .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)))
            .map(|(_, variant)| variant)
    }

    /// The prefix one edit from `prefix` that begins the most words in the texts with every
    /// `earlier` word (in the catalogue when there is none). Edits that keep its length or add a
    /// letter come first: a deletion begins every word they do, and more.
    fn likeliest_prefix_one_edit_from(&self, prefix: &str, earlier: &[String]) -> Option<String> {
        let variants: HashSet<String> = one_edit_away(prefix).into_iter().collect();
        let mut frequency: HashMap<&str, usize> = HashMap::new();
        if earlier.is_empty() {
            for variant in &variants {
                frequency.insert(variant, self.frequency_of_words_beginning(variant));
            }
        } else {
            let mut words_in_context: HashMap<&str, usize> = HashMap::new();
            for entry in self.entries_with_all(earlier).take(CONTEXT_SAMPLE) {
                for word in &entry.words {
                    *words_in_context.entry(word).or_default() += 1;
                }
            }
            let length = prefix.chars().count();
            for (word, count) in words_in_context {
                for near in prefixes_near_length(word, length) {
                    if let Some(variant) = variants.get(near) {
                        *frequency.entry(variant).or_default() += count;
                    }
                }
            }
        }
        let length = prefix.chars().count();
        let best = |keeps_length: bool| {
            frequency
                .iter()
                .filter(|(variant, count)| {
                    **count > 0 && (variant.chars().count() >= length) == keeps_length
                })
                .max_by_key(|(variant, count)| (**count, std::cmp::Reverse(**variant)))
                .map(|(variant, count)| (*variant, *count))
        };
        let chosen = match (best(true), best(false)) {
            (Some(kept), Some(deleted)) if kept.1 * DELETION_ADVANTAGE < deleted.1 => deleted,
            (Some(kept), _) => kept,
            (None, deleted) => deleted?,
        };
        Some(chosen.0.to_owned())
    }

    /// `folded`, a word or the beginning of one, with the accents names write it with
    /// ("certid" of "Certidão" is "certid", "habilitacao" is "habilitação"); as it is when no
    /// name has it.
    fn as_written(&self, folded: &str) -> String {
        let written_in = |entry: &Entry| {
            let text = entry.suggestion.text.as_str();
            let mut scanner = analysis::Scanner::new(text);
            while let Some((start, end, word)) = scanner.next_word() {
                if word.starts_with(folded) {
                    if let Some(written) = letters_folding_to(&text[start..end], folded) {
                        return Some(written.to_lowercase());
                    }
                }
            }
            None
        };
        self.words_beginning(folded)
            .flat_map(|(_, entries)| entries.first())
            .filter_map(|number| self.entries.get(*number as usize).and_then(Option::as_ref))
            .find_map(written_in)
            .unwrap_or_else(|| folded.to_owned())
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
    const ALPHABET: [&str; 36] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t", "u", "v", "w", "x", "y", "z", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    ];
    let bounds: Vec<usize> = word
        .char_indices()
        .map(|(at, _)| at)
        .chain([word.len()])
        .collect();
    let joined = |parts: &[&str]| {
        let mut variant = String::with_capacity(word.len() + 1);
        parts.iter().for_each(|part| variant.push_str(part));
        variant
    };
    let mut variants = Vec::with_capacity(bounds.len() * 2 * (ALPHABET.len() + 1));
    for at in 0..bounds.len() - 1 {
        let (before, letter, after) = (
            &word[..bounds[at]],
            &word[bounds[at]..bounds[at + 1]],
            &word[bounds[at + 1]..],
        );
        variants.push(joined(&[before, after]));
        if let Some(&next_end) = bounds.get(at + 2) {
            let next = &word[bounds[at + 1]..next_end];
            if next != letter {
                variants.push(joined(&[before, next, letter, &word[next_end..]]));
            }
        }
        for other in ALPHABET.iter().filter(|other| **other != letter) {
            variants.push(joined(&[before, other, after]));
        }
    }
    for &at in &bounds {
        for letter in ALPHABET {
            variants.push(joined(&[&word[..at], letter, &word[at..]]));
        }
    }
    variants.sort_unstable();
    variants.dedup();
    variants
}

/// Suggestions, and the text they complete when it is not what was typed.
pub struct Suggested {
    pub items: Vec<Suggestion>,
    /// `typed` with its misspelt words read as known ones, when nothing completed it as typed.
    pub read_as: Option<String>,
}

impl SearchIndex {
    /// At most `limit` names and popular names completing `typed`. When nothing does: what
    /// completes it with its misspelt words read as known ones, or without the words around
    /// what is wanted ("tirar", "como"), which names seldom have.
    pub fn suggest(&self, typed: &str, limit: usize) -> Result<Suggested, SearchError> {
        let searcher = self.reader.searcher();
        let known = |word: &str| plan::is_known(&searcher, &self.fields, word);
        let begun = |prefix: &str| plan::begins_a_known_word(&searcher, &self.fields, prefix);
        let store = self.store.read().map_err(|_| SearchError::Poisoned)?;
        let index = &store.suggest;
        let boosts = self.boosts.load();
        let level = |id: &Uuid| boosts.level(id);
        let items = index.suggest(typed, limit, level);
        if !items.is_empty() {
            return Ok(Suggested {
                items,
                read_as: None,
            });
        }
        let completed = |text: String| {
            let items = index.suggest(&text, limit, level);
            (!items.is_empty()).then(|| Suggested {
                items,
                read_as: Some(text.trim().to_owned()),
            })
        };
        let read = || index.read_as_known(typed, known, begun);
        let strong = without_weak_words(typed);
        let strong_read = || {
            strong
                .as_deref()
                .and_then(|strong| index.read_as_known(strong, known, begun))
        };
        let found = read()
            .and_then(completed)
            .or_else(|| strong.clone().and_then(completed))
            .or_else(|| strong_read().and_then(completed));
        Ok(found.unwrap_or(Suggested {
            items: Vec::new(),
            read_as: None,
        }))
    }
}

/// The beginning of `word` that folds to `folded`, with the marks that follow its last letter
/// ("habilitac\u{327}" for "habilitac"); `None` when a letter folds across the end ("æ").
fn letters_folding_to<'w>(word: &'w str, folded: &str) -> Option<&'w str> {
    let fold = |ch: char| analysis::fold(ch.encode_utf8(&mut [0; 4]));
    let mut letters = String::new();
    let mut chars = word.char_indices().peekable();
    while letters.len() < folded.len() {
        let (_, ch) = chars.next()?;
        letters.push_str(&fold(ch));
    }
    if letters != folded {
        return None;
    }
    // What folds to nothing (a combining accent) belongs to the letter before it.
    while chars.next_if(|(_, ch)| fold(*ch).is_empty()).is_some() {}
    let end = chars.peek().map_or(word.len(), |(offset, _)| *offset);
    word.get(..end)
}

/// The last word of `typed`, folded, when it is a stopword and no space follows it.
fn unfinished_stopword(typed: &str) -> Option<String> {
    if typed.ends_with(char::is_whitespace) {
        return None;
    }
    let last = analysis::words_stemming(typed, |_| false).pop()?;
    // Its end is where the text ends: "se." is a finished word.
    (last.position.is_none() && last.end == typed.len()).then_some(last.folded)
}

/// Letters the words kept after the weak ones must have: "tirar p" is not every name in "p".
const MIN_STRONG_LETTERS: usize = 2;

/// `typed` without its weak words, when it has some and other words of [`MIN_STRONG_LETTERS`]
/// letters or more.
fn without_weak_words(typed: &str) -> Option<String> {
    let words = analysis::words_stemming(typed, |_| false);
    let kept: Vec<&str> = words
        .iter()
        .filter(|word| !analysis::is_weak(&word.folded))
        .filter_map(|word| typed.get(word.start..word.end))
        .collect();
    let strong = words
        .iter()
        .filter(|w| w.position.is_some() && !analysis::is_weak(&w.folded))
        .map(|w| w.folded.chars().count())
        .sum::<usize>()
        >= MIN_STRONG_LETTERS;
    // A space at the end still says the last word is finished.
    let end = match typed.ends_with(char::is_whitespace) {
        true => " ",
        false => "",
    };
    (kept.len() < words.len() && strong).then(|| kept.join(" ") + end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_away_deletes_swaps_substitutes_and_inserts_whole_letters() {
        let variants = one_edit_away("pasap");
        for expected in ["asap", "apsap", "pasep", "passap", "pasapx", "xpasap"] {
            assert!(variants.contains(&expected.to_owned()), "{expected}");
        }
        assert!(!variants.contains(&"pasap".to_owned()));
        // Letters of several bytes are edited whole.
        let variants = one_edit_away("çã");
        assert!(variants.contains(&"ã".to_owned()));
        assert!(variants.contains(&"ãç".to_owned()));
        assert!(variants.contains(&"çaã".to_owned()));
    }

    #[test]
    fn weak_words_are_left_out_and_a_finished_text_stays_finished() {
        assert_eq!(without_weak_words("quero passap"), Some("passap".into()));
        assert_eq!(
            without_weak_words("quero carteira de "),
            Some("carteira de ".into())
        );
        assert_eq!(without_weak_words("carteira"), None);
    }

    #[test]
    fn the_letters_of_a_written_word_that_fold_to_a_prefix() {
        assert_eq!(
            letters_folding_to("Habilitação", "habilitac"),
            Some("Habilitaç")
        );
        assert_eq!(
            letters_folding_to("Habilitac\u{327}a\u{303}o", "habilitac"),
            Some("Habilitac\u{327}")
        );
        assert_eq!(letters_folding_to("Certidão", "certidao"), Some("Certidão"));
        // "æ" folds to two letters: the prefix ends inside it.
        assert_eq!(letters_folding_to("Encyclopædia", "encyclopa"), None);
        assert_eq!(letters_folding_to("Cer", "certid"), None);
    }

    #[test]
    fn prefixes_near_a_length_are_cut_between_letters() {
        let near: Vec<&str> = prefixes_near_length("ação", 2).collect();
        assert_eq!(near, ["a", "aç", "açã"]);
        assert_eq!(prefixes_near_length("ab", 3).collect::<Vec<_>>(), ["ab"]);
    }
}
