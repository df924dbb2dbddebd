//! From the words a citizen typed to a tantivy query.
//!
//! Each meaningful word (or synonym phrase) becomes a *slot*: alternatives that may satisfy it
//! (the word itself, its typo corrections, its completions when it is the last word being typed,
//! the other expressions of its synonym group). A document must satisfy every slot (all but one
//! in long queries); weak words ("como", "tirar") only add to the score. Within a slot, each
//! alternative is searched in every text field with the field's weight, the best field counting
//! most (dis-max), so the name outranks keywords, then the description, then the steps.

use std::collections::{HashMap, HashSet};

use tantivy::postings::TermInfo;
use tantivy::query::{
    BooleanQuery, BoostQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, PhraseQuery, Query,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, InvertedIndexReader, Searcher, SegmentReader, Term, TERMINATED};

use super::analysis::{self, Word};
use super::disjunction::LazyDisjunction;
use super::Fields;

/// Words shorter than this get no typo correction: too many short words are one edit apart.
pub const MIN_TYPO_LEN: usize = 4;
/// A word at least this long may have two typos.
const TWO_TYPOS_LEN: usize = 8;
/// A long word this many services write in their steps or documents is theirs, not a typo: it
/// gets one edit, not two ("rescisão" is not "revisão"). One service's text may have a typo.
const WRITTEN_IN_DETAILS: u64 = 2;
/// Completions and corrections taken per word, the most frequent first.
pub const MAX_EXPANSIONS: usize = 6;
/// The last word is completed once it has this many letters.
const MIN_PREFIX_LEN: usize = 2;

const SYNONYM_WEIGHT: f32 = 0.8;
const CORRECTION_WEIGHT: f32 = 0.7;
const COMPLETION_WEIGHT: f32 = 0.6;
const PHRASE_WEIGHT: f32 = 1.5;

/// What a query looks for, also used to highlight the hits.
pub struct Plan {
    /// Every required word (all but one in long queries).
    pub query: Box<dyn Query>,
    /// Half the words, then any of them: what is added, a step at a time, while the matches are
    /// few (a service with the one word a citizen's sentence shares with it is better than none).
    pub looser: Vec<Box<dyn Query>>,
    /// Stems any alternative matches on.
    pub stems: HashSet<String>,
    /// Folded multi-word alternatives (synonyms), as stem sequences.
    pub phrases: Vec<Vec<String>>,
    /// The words the catalogue does not know that were read as known ones, in text order.
    pub corrections: Vec<Correction>,
    /// The document frequencies BM25 reads for the one-word alternatives of a slot (see
    /// [`blend`]), instead of their own.
    pub blended: HashMap<Term, u64>,
}

/// A word of the text the catalogue does not know, read as the words one or two edits away.
pub struct Correction {
    /// Byte range of the word in the text searched.
    pub start: usize,
    pub end: usize,
    /// The most frequent of the words it was read as (folded): what a front end shows, unless
    /// the best match has another of `alternatives`.
    pub read_as: String,
    /// Every word it was read as that says something (not its own plural), the most frequent
    /// first.
    pub alternatives: Vec<String>,
}

/// Letters at the end of a stem that may differ from its word (plural rules rewrite at most
/// the last three letters of a word, and Snowball only removes or rewrites suffixes).
const STEM_SLACK: usize = 2;

impl Plan {
    /// Whether `folded` may stem to one of the plan's stems: they begin alike (a plural rule may
    /// change a word's ending, never its beginning).
    pub fn could_match(&self, folded: &str) -> bool {
        let begins_alike = |stem: &String| {
            let shared = stem.len().saturating_sub(STEM_SLACK).max(3).min(stem.len());
            folded.as_bytes().starts_with(&stem.as_bytes()[..shared])
        };
        self.stems.iter().any(begins_alike) || self.phrases.iter().flatten().any(begins_alike)
    }
}

/// A synonym group, analyzed: each expression as its stems.
#[derive(Debug, Clone)]
pub struct Synonyms {
    pub groups: Vec<Vec<Vec<String>>>,
}

impl Synonyms {
    pub fn new(groups: &[domain::search::SynonymGroup]) -> Synonyms {
        Synonyms {
            groups: groups
                .iter()
                .map(|group| {
                    group
                        .terms
                        .iter()
                        .map(|term| content_stems(&analysis::words(term)))
                        .filter(|stems| !stems.is_empty())
                        .collect()
                })
                .collect(),
        }
    }

    /// The longest expression of any group that the words start with, and its group.
    fn longest_at(&self, stems: &[String]) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for (group_index, group) in self.groups.iter().enumerate() {
            for expression in group {
                if stems.starts_with(expression)
                    && best.is_none_or(|(len, _)| expression.len() > len)
                {
                    best = Some((expression.len(), group_index));
                }
            }
        }
        best
    }
}

/// How search reads a synonym term: the stems of its meaningful words, space-separated (empty
/// for a term of ignored words only). Terms with one key are one expression to search.
pub fn synonym_key(term: &str) -> String {
    content_stems(&analysis::words(term)).join(" ")
}

fn content_stems(words: &[Word]) -> Vec<String> {
    words
        .iter()
        .filter(|w| w.position.is_some())
        .map(|w| w.stem.clone())
        .collect()
}

/// One alternative of a slot: a sequence of stems (one word, or a synonym phrase).
struct Alternative {
    stems: Vec<String>,
    weight: f32,
}

impl Alternative {
    /// The fields it is searched in, with their weights. Phrases are matched by position, which
    /// costs most in the long steps text, and a synonym phrase there (a document's name in a
    /// list) says little.
    fn fields(&self, fields: &Fields) -> impl Iterator<Item = (Field, f32)> {
        let phrase = self.stems.len() > 1;
        let details = fields.details;
        fields
            .text_weighted()
            .into_iter()
            .filter(move |(field, _)| !phrase || *field != details)
    }
}

struct Slot {
    alternatives: Vec<Alternative>,
    weak: bool,
    /// What walking it costs as tantivy reckons (see `estimate`), once looked up: the cheapest
    /// slot leads an intersection.
    estimate: Option<u64>,
}

/// How a slot's alternatives and fields are united (see `disjunction`).
#[derive(Clone, Copy, PartialEq)]
enum Union {
    /// Walked from match to match: tantivy's buffered union, which scores a window at a time.
    Walked,
    /// Sought only at the documents another clause matched: scored lazily.
    Sought,
}

/// Builds the query; `None` when the text has no word at all.
/// `completions_after(earlier, prefix)`: words beginning with `prefix` in the service names that
/// have every `earlier` word (see [`super::suggest`]).
pub fn plan(
    searcher: &Searcher,
    fields: &Fields,
    text: &str,
    synonyms: &Synonyms,
    completions_after: impl Fn(&[String], &str) -> Vec<String>,
) -> Option<Plan> {
    let all = analysis::words(text);
    let mut words: Vec<Word> = all
        .iter()
        .filter(|w| w.position.is_some())
        .cloned()
        .collect();
    if words.is_empty() {
        // Only stopwords ("de"): search for them rather than for nothing.
        words = all;
    }
    if words.is_empty() {
        return None;
    }
    let typing_last = !text.ends_with(char::is_whitespace);
    // "rgs" is the plural of "rg", not a typo: read as the singular, synonyms included, as
    // plurals are, the plural still counting where a service writes it. A plural the catalogue
    // knows may be an acronym of its own ("nfs" of NFS-e, "nf" of NF-e): there, the singular
    // only comes after it.
    let singulars: Vec<Option<&str>> = words
        .iter()
        .map(|w| {
            analysis::acronym_singular(&w.folded)
                .filter(|singular| is_known(searcher, fields, singular))
        })
        .collect();
    let stems: Vec<String> = words
        .iter()
        .zip(&singulars)
        .map(|(w, singular)| match singular {
            Some(singular) if !is_known(searcher, fields, &w.folded) => analysis::stem(singular),
            _ => w.stem.clone(),
        })
        .collect();

    let mut slots: Vec<Slot> = Vec::new();
    let mut corrections = Vec::new();
    let mut index = 0;
    while index < words.len() {
        if let Some((len, group)) = synonyms.longest_at(&stems[index..]) {
            let mut alternatives = vec![Alternative {
                stems: stems[index..index + len].to_vec(),
                weight: 1.0,
            }];
            // "rgs" read as "rg": the plural as typed too.
            if len == 1 && stems[index] != words[index].stem {
                alternatives.push(Alternative {
                    stems: vec![words[index].stem.clone()],
                    weight: 1.0,
                });
            }
            for expression in &synonyms.groups[group] {
                if expression.as_slice() != &stems[index..index + len] {
                    alternatives.push(Alternative {
                        stems: expression.clone(),
                        weight: SYNONYM_WEIGHT,
                    });
                }
            }
            slots.push(Slot {
                alternatives,
                weak: false,
                estimate: None,
            });
            index += len;
            continue;
        }
        let word = &words[index];
        let is_last = index + 1 == words.len();
        let mut alternatives = vec![Alternative {
            stems: vec![word.stem.clone()],
            weight: 1.0,
        }];
        let plural_acronym = singulars[index].is_some();
        if let Some(singular) = singulars[index] {
            alternatives.push(Alternative {
                stems: vec![analysis::stem(singular)],
                weight: match stems[index] == word.stem {
                    true => SYNONYM_WEIGHT,
                    false => 1.0,
                },
            });
        }
        let known = is_known(searcher, fields, &word.folded);
        // The last word, while it is being typed, is completed (even a known word: "habil" is
        // the start of "habilitação" more often than the word itself).
        let mut completed = Vec::new();
        if is_last && typing_last && word.folded.chars().count() >= MIN_PREFIX_LEN {
            let earlier: Vec<String> = words[..index]
                .iter()
                .filter(|w| !analysis::is_weak(&w.folded))
                .map(|w| w.folded.clone())
                .collect();
            // Those that follow the earlier words first, then the catalogue's most frequent.
            completed = completions_after(&earlier, &word.folded);
            completed.extend(completions(searcher, fields.words, &word.folded));
            let mut seen = HashSet::new();
            completed
                .retain(|completion| *completion != word.folded && seen.insert(completion.clone()));
            completed.truncate(MAX_EXPANSIONS);
        }
        // A weak word is not misspelt: "faço" is not "face". A short one being typed may be the
        // start of another ("me" of "mei", "ser" of "serviço"): then its completions count.
        let weak = analysis::is_weak(&word.folded)
            && (completed.is_empty() || word.folded.chars().count() > 3);
        // A number is not misspelt: "8112" (a law) is not "812". Nor is a common word of the
        // language no service has ("ontem" is not "contém"): it is then not required either.
        let meant = analysis::is_meant(&word.folded);
        // An unknown word that known words begin with is unfinished, not misspelt: "passap" is
        // "passaporte" on its way, not "passe".
        let misspelt = !known
            && !weak
            && !meant
            && !plural_acronym
            && completed.is_empty()
            && word.folded.chars().count() >= MIN_TYPO_LEN;
        let close = match misspelt {
            true => close_words(searcher, fields, word),
            false => Vec::new(),
        };
        // Only a word no typo explains: "pasaporte" is not "pas aporte". Weak words are not
        // required here either: "tirarrg" is "rg"; "tirarfazer" is nothing to look for.
        let apart = (misspelt && close.is_empty())
            .then(|| run_together(searcher, fields, &word.folded))
            .flatten()
            .map(|parts| {
                let phrase: Vec<String> = parts
                    .iter()
                    .filter(|part| !analysis::is_stopword(part) && !analysis::is_weak(part))
                    .map(|part| analysis::stem(part))
                    .collect();
                (parts, phrase)
            })
            .filter(|(_, phrase)| !phrase.is_empty());
        if let Some((parts, phrase)) = apart {
            let group = synonyms
                .longest_at(&phrase)
                .filter(|(len, _)| *len == phrase.len())
                .map(|(_, group)| group);
            alternatives.push(Alternative {
                stems: phrase,
                weight: 1.0,
            });
            // A synonym apart is one together: "2ºvia" is "segunda via". (The phrase itself,
            // first, keeps its weight.)
            for expression in group.iter().flat_map(|group| &synonyms.groups[*group]) {
                alternatives.push(Alternative {
                    stems: expression.clone(),
                    weight: SYNONYM_WEIGHT,
                });
            }
            corrections.push(Correction {
                start: word.start,
                end: word.end,
                read_as: parts.join(" "),
                alternatives: Vec::new(),
            });
        } else if misspelt {
            // A plural the catalogue only writes in the singular ("vistorias") is found by its
            // stem as typed: nothing to tell the citizen.
            let told = close
                .first()
                .filter(|first| analysis::stem(first) != word.stem);
            if let Some(most_frequent) = told {
                corrections.push(Correction {
                    start: word.start,
                    end: word.end,
                    read_as: most_frequent.clone(),
                    alternatives: close
                        .iter()
                        .filter(|close| analysis::stem(close) != word.stem)
                        .cloned()
                        .collect(),
                });
            }
            for correction in close {
                alternatives.push(Alternative {
                    stems: vec![analysis::stem(&correction)],
                    weight: CORRECTION_WEIGHT,
                });
            }
        }
        for completion in completed {
            alternatives.push(Alternative {
                stems: vec![analysis::stem(&completion)],
                weight: match known {
                    true => COMPLETION_WEIGHT / 2.0,
                    false => COMPLETION_WEIGHT,
                },
            });
        }
        dedup_alternatives(&mut alternatives);
        // A word no service contains cannot be required: "me alistar" must still find
        // "alistar-se".
        // Corrections and completions come from the index: only a lone word may match nothing.
        let lone = match alternatives.len() {
            1 => Some(stem_frequency(searcher, fields, &alternatives[0].stems[0])),
            _ => None,
        };
        slots.push(Slot {
            alternatives,
            weak: weak || lone == Some(0),
            estimate: lone,
        });
        index += 1;
    }

    let mut highlight_stems = HashSet::new();
    let mut phrases = Vec::new();
    for alternative in slots.iter().flat_map(|slot| &slot.alternatives) {
        if alternative.stems.len() == 1 {
            highlight_stems.insert(alternative.stems[0].clone());
        } else {
            phrases.push(alternative.stems.clone());
        }
    }

    let strong_count = slots.iter().filter(|slot| !slot.weak).count();
    if strong_count >= 2 {
        for slot in slots.iter_mut().filter(|slot| !slot.weak) {
            if slot.estimate.is_none() {
                slot.estimate = Some(estimate(searcher, fields, &slot.alternatives));
            }
        }
    }
    let required = match strong_count {
        n if n >= 4 => n - 1,
        n => n,
    };
    let blended = blend(searcher, fields, &slots);
    let query = combine(fields, &slots, &stems, required);
    let mut looser = Vec::new();
    let mut last = required;
    for needed in [strong_count.div_ceil(2), 1] {
        if needed < last {
            looser.push(combine(fields, &slots, &stems, needed));
            last = needed;
        }
    }
    Some(Plan {
        query,
        looser,
        stems: highlight_stems,
        phrases,
        corrections,
        blended,
    })
}

/// The alternatives of a slot (synonyms, corrections, completions) are one word to the citizen,
/// so BM25 weighs each of them by the same rarity: in each field, the document frequency of the
/// most frequent of them, as Lucene's `SynonymQuery` and its fuzzy queries do. By its own rarity,
/// a rare alternative outweighed the word typed, its weight notwithstanding: the services with a
/// rare synonym or a rare completion in their name came first. Phrase alternatives keep their
/// own: a phrase's rarity is that of its words together.
fn blend(searcher: &Searcher, fields: &Fields, slots: &[Slot]) -> HashMap<Term, u64> {
    let mut blended: HashMap<Term, u64> = HashMap::new();
    for slot in slots {
        let words: Vec<&str> = slot
            .alternatives
            .iter()
            .filter_map(|alternative| match alternative.stems.as_slice() {
                [stem] => Some(stem.as_str()),
                _ => None,
            })
            .collect();
        if words.len() < 2 {
            continue;
        }
        for (field, _) in fields.text_weighted() {
            let terms: Vec<Term> = words
                .iter()
                .map(|word| Term::from_field_text(field, word))
                .collect();
            let most = terms
                .iter()
                .map(|term| searcher.doc_freq(term).unwrap_or(0))
                .max()
                .unwrap_or(0);
            for term in terms {
                let frequency = blended.entry(term).or_default();
                *frequency = (*frequency).max(most);
            }
        }
    }
    blended
}

/// The searcher's statistics, with the plan's blended document frequencies.
pub struct Statistics<'a> {
    pub searcher: &'a Searcher,
    pub blended: &'a HashMap<Term, u64>,
}

impl tantivy::query::Bm25StatisticsProvider for Statistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        self.searcher.total_num_tokens(field)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        self.searcher.total_num_docs()
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        match self.blended.get(term) {
            Some(frequency) => Ok(*frequency),
            None => self.searcher.doc_freq(term),
        }
    }
}

/// The slots as one query where `required` strong slots must match.
fn combine(fields: &Fields, slots: &[Slot], stems: &[String], required: usize) -> Box<dyn Query> {
    let strong: Vec<&Slot> = slots.iter().filter(|slot| !slot.weak).collect();
    // When every strong word is required, the cheapest one leads the intersection and the
    // others are sought at its matches. With some of them optional, each is walked.
    let leader = match required == strong.len() {
        true => strong
            .iter()
            .enumerate()
            .min_by_key(|(_, slot)| slot.estimate)
            .map(|(index, _)| index),
        false => None,
    };
    let strong: Vec<Box<dyn Query>> = strong
        .iter()
        .enumerate()
        .map(|(index, slot)| {
            let sought = leader.is_some_and(|leader| leader != index);
            let union = if sought { Union::Sought } else { Union::Walked };
            slot_query(fields, slot, union)
        })
        .collect();
    // Weak words only add to the score of what the strong ones matched, unless there is none.
    let weak_union = if strong.is_empty() {
        Union::Walked
    } else {
        Union::Sought
    };
    let weak: Vec<Box<dyn Query>> = slots
        .iter()
        .filter(|slot| slot.weak)
        .map(|slot| slot_query(fields, slot, weak_union))
        .collect();
    // What only adds to the score: weak words and the phrase bonus.
    let mut optional: Vec<Box<dyn Query>> = weak;
    // The words as typed, in order: a phrase match ranks above scattered words.
    if stems.len() >= 2 {
        let phrase = |field: Field| -> Box<dyn Query> {
            let terms = stems
                .iter()
                .enumerate()
                .map(|(offset, stem)| (offset, Term::from_field_text(field, stem)))
                .collect();
            Box::new(PhraseQuery::new_with_offset(terms))
        };
        for (field, weight) in fields.phrase_weighted() {
            optional.push(Box::new(BoostQuery::new(
                phrase(field),
                weight * PHRASE_WEIGHT,
            )));
        }
    }
    if strong.is_empty() {
        // Only weak words: any of them will do.
        return Box::new(BooleanQuery::new(
            optional.into_iter().map(|q| (Occur::Should, q)).collect(),
        ));
    }
    let optional = Box::new(LazyDisjunction::sum(optional));
    let core = BooleanQuery::with_minimum_required_clauses(
        strong.into_iter().map(|q| (Occur::Should, q)).collect(),
        required,
    );
    // One optional clause, sought only for the documents the core matched.
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, Box::new(core) as Box<dyn Query>),
        (Occur::Should, optional),
    ]))
}

fn dedup_alternatives(alternatives: &mut Vec<Alternative>) {
    let mut seen = HashSet::new();
    // An alternative of no word would be a phrase query of no term, which tantivy refuses.
    alternatives.retain(|alternative| {
        !alternative.stems.is_empty() && seen.insert(alternative.stems.clone())
    });
}

fn slot_query(fields: &Fields, slot: &Slot, union: Union) -> Box<dyn Query> {
    let unite = |clauses: Vec<Box<dyn Query>>, tie_breaker: f32| -> Box<dyn Query> {
        match union {
            Union::Walked => Box::new(DisjunctionMaxQuery::with_tie_breaker(clauses, tie_breaker)),
            Union::Sought => Box::new(LazyDisjunction::new(clauses, tie_breaker)),
        }
    };
    let alternatives: Vec<Box<dyn Query>> = slot
        .alternatives
        .iter()
        .map(|alternative| {
            let per_field: Vec<Box<dyn Query>> = alternative
                .fields(fields)
                .map(|(field, weight)| {
                    let query: Box<dyn Query> = if alternative.stems.len() == 1 {
                        Box::new(TermQuery::new(
                            Term::from_field_text(field, &alternative.stems[0]),
                            IndexRecordOption::WithFreqs,
                        ))
                    } else {
                        Box::new(PhraseQuery::new(
                            alternative
                                .stems
                                .iter()
                                .map(|stem| Term::from_field_text(field, stem))
                                .collect(),
                        ))
                    };
                    Box::new(BoostQuery::new(query, weight * alternative.weight)) as Box<dyn Query>
                })
                .collect();
            unite(per_field, 0.2)
        })
        .collect();
    if alternatives.len() == 1 {
        alternatives
            .into_iter()
            .next()
            .unwrap_or_else(|| Box::new(BooleanQuery::new(vec![])))
    } else {
        // The best alternative counts: a document with both "rg" and "identidade" is not twice
        // as relevant.
        unite(alternatives, 0.1)
    }
}

/// What tantivy will reckon walking the alternatives costs (`DocSet::cost`: an intersection is
/// led by its cheapest clause): a word's documents in each field; a phrase's, as its rarest
/// word's, times ten per word (tantivy's allowance for reading positions).
fn estimate(searcher: &Searcher, fields: &Fields, alternatives: &[Alternative]) -> u64 {
    alternatives
        .iter()
        .map(|alternative| match alternative.stems.as_slice() {
            [stem] => stem_frequency(searcher, fields, stem),
            stems => {
                let documents: u64 = alternative
                    .fields(fields)
                    .map(|(field, _)| {
                        stems
                            .iter()
                            .map(|stem| document_frequency(searcher, field, stem))
                            .min()
                            .unwrap_or(0)
                    })
                    .sum();
                documents * 10 * stems.len() as u64
            }
        })
        .sum()
}

/// Documents with `stem` in any text field (an upper bound: a document may count twice).
fn stem_frequency(searcher: &Searcher, fields: &Fields, stem: &str) -> u64 {
    fields
        .text_weighted()
        .iter()
        .map(|(field, _)| document_frequency(searcher, *field, stem))
        .sum()
}

/// A word of no fewer letters may be two typed without the space between them.
const RUN_TOGETHER_LEN: usize = 5;
/// What may join two words typed together: "carteiradetrabalho".
const JOINING_WORDS: &[&str] = &["de", "da", "do", "das", "dos", "e"];

/// The known words a folded word is, typed without its spaces on a phone ("bolsafamilia",
/// "carteiradetrabalho"): two, or two around a joining word; of several readings, the one whose
/// rarer word is the most frequent.
fn run_together(searcher: &Searcher, fields: &Fields, folded: &str) -> Option<Vec<String>> {
    if folded.chars().count() < RUN_TOGETHER_LEN {
        return None;
    }
    let frequency = |part: &str| -> Option<u64> {
        let word = part.chars().count() >= 2
            && !analysis::is_stopword(part)
            && is_known(searcher, fields, part);
        word.then(|| document_frequency(searcher, fields.words, part))
    };
    let mut best: Option<(u64, Vec<&str>)> = None;
    for (cut, _) in folded.char_indices().skip(2) {
        let (head, tail) = folded.split_at(cut);
        let Some(head_frequency) = frequency(head) else {
            continue;
        };
        let readings =
            std::iter::once((None, tail)).chain(JOINING_WORDS.iter().filter_map(|joining| {
                tail.strip_prefix(joining)
                    .map(|rest| (Some(*joining), rest))
            }));
        for (joining, rest) in readings {
            let Some(rest_frequency) = frequency(rest) else {
                continue;
            };
            let rarer = head_frequency.min(rest_frequency);
            if best.as_ref().is_none_or(|(best, _)| rarer > *best) {
                best = Some((
                    rarer,
                    [Some(head), joining, Some(rest)]
                        .into_iter()
                        .flatten()
                        .collect(),
                ));
            }
        }
    }
    best.map(|(_, parts)| parts.into_iter().map(str::to_owned).collect())
}

/// Whether the catalogue's vocabulary (names, popular names, acronyms, keywords and
/// descriptions) has the folded word.
pub(super) fn is_known(searcher: &Searcher, fields: &Fields, folded: &str) -> bool {
    live_documents_with(searcher, fields.words, folded, 1) > 0
}

/// Whether a word of the catalogue's vocabulary begins with `prefix` (folded).
pub(super) fn begins_a_known_word(searcher: &Searcher, fields: &Fields, prefix: &str) -> bool {
    searcher.segment_readers().iter().any(|segment| {
        let Ok(index) = segment.inverted_index(fields.words) else {
            return false;
        };
        let Ok(mut terms) = index.terms().range().ge(prefix.as_bytes()).into_stream() else {
            return false;
        };
        // Words only replaced versions of services have do not count; past a few of them, the
        // prefix is taken as begun rather than read on.
        let mut read = 0;
        while terms.advance() && terms.key().starts_with(prefix.as_bytes()) {
            read += 1;
            if read > MAX_EXPANSIONS || live_documents_of(segment, &index, terms.value(), 1) > 0 {
                return true;
            }
        }
        false
    })
}

fn document_frequency(searcher: &Searcher, field: Field, folded: &str) -> u64 {
    searcher
        .doc_freq(&Term::from_field_text(field, folded))
        .unwrap_or(0)
}

/// Terms of `field` accepted by the automaton of `query`, the most frequent first.
fn expand(
    searcher: &Searcher,
    field: Field,
    query: &FuzzyTermQuery,
    wanted: usize,
    first_letter: Option<&str>,
) -> Vec<String> {
    let Ok(automaton) = query.automaton() else {
        return Vec::new();
    };
    let mut found: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(field) else {
            continue;
        };
        let mut terms = inverted.terms().search(&automaton);
        if let Some(letter) = first_letter {
            terms = terms.ge(letter);
        }
        let Ok(mut stream) = terms.into_stream() else {
            continue;
        };
        // Bounded: a two-letter prefix may open thousands of words.
        let mut seen = 0;
        while stream.advance() && seen < 500 {
            if first_letter.is_some_and(|letter| !stream.key().starts_with(letter.as_bytes())) {
                break;
            }
            seen += 1;
            if let Ok(term) = std::str::from_utf8(stream.key()) {
                *found.entry(term.to_owned()).or_default() += u64::from(stream.value().doc_freq);
            }
        }
    }
    let mut found: Vec<(String, u64)> = found.into_iter().collect();
    found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    found
        .into_iter()
        .map(|(term, _)| term)
        .filter(|term| live_documents_with(searcher, field, term, 1) > 0)
        .take(wanted)
        .collect()
}

/// Known words one or two edits away from a word the index does not know, the most frequent
/// first. Two edits keep the first letter, as spelling checkers do (Lucene's
/// `DirectSpellChecker`): with it changed as well, a word the catalogue lacks reads as another
/// ("rescisão" as "decisão"), while one edit still mends a first letter ("sertidão").
fn close_words(searcher: &Searcher, fields: &Fields, word: &Word) -> Vec<String> {
    let folded = word.folded.as_str();
    let term = Term::from_field_text(fields.words, folded);
    let close = expand(
        searcher,
        fields.words,
        &FuzzyTermQuery::new(term.clone(), 1, true),
        MAX_EXPANSIONS,
        None,
    );
    if !close.is_empty()
        || folded.chars().count() < TWO_TYPOS_LEN
        || live_documents_with(searcher, fields.details, &word.stem, WRITTEN_IN_DETAILS)
            >= WRITTEN_IN_DETAILS
    {
        return close;
    }
    expand(
        searcher,
        fields.words,
        &FuzzyTermQuery::new(term, 2, true),
        MAX_EXPANSIONS,
        folded
            .chars()
            .next()
            .map(|first| &folded[..first.len_utf8()]),
    )
}

/// Live documents with `text` in `field`, counted up to `enough`. Not `doc_freq`: it still
/// counts the versions of services that later changes replaced, until their segment is merged
/// (the whole catalogue's first segment may never be), so words an edit took out would stay.
fn live_documents_with(searcher: &Searcher, field: Field, text: &str, enough: u64) -> u64 {
    let term = Term::from_field_text(field, text);
    let mut count = 0;
    for segment in searcher.segment_readers() {
        let Ok(index) = segment.inverted_index(field) else {
            continue;
        };
        let Ok(Some(info)) = index.get_term_info(&term) else {
            continue;
        };
        count += live_documents_of(segment, &index, &info, enough - count);
        if count >= enough {
            break;
        }
    }
    count
}

/// Live documents among those a term's postings list in one segment, counted up to `enough`.
fn live_documents_of(
    segment: &SegmentReader,
    index: &InvertedIndexReader,
    info: &TermInfo,
    enough: u64,
) -> u64 {
    // Without deletions (a fresh index), every document listed is live: no postings to read.
    if !segment.has_deletes() {
        return u64::from(info.doc_freq).min(enough);
    }
    let Ok(mut postings) = index.read_postings_from_terminfo(info, IndexRecordOption::Basic) else {
        return 0;
    };
    let mut count = 0;
    let mut doc = postings.doc();
    while doc != TERMINATED && count < enough {
        if !segment.is_deleted(doc) {
            count += 1;
        }
        doc = postings.advance();
    }
    count
}

/// Known words starting with what the citizen is still typing.
fn completions(searcher: &Searcher, field: Field, prefix: &str) -> Vec<String> {
    expand(
        searcher,
        field,
        &FuzzyTermQuery::new_prefix(Term::from_field_text(field, prefix), 0, true),
        MAX_EXPANSIONS,
        None,
    )
}
