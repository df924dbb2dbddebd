//! Running a search: matches, filters, facets, ordering, highlights, and the answer cache.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use domain::query::{PageRequest, ServiceFilter, ServiceSort};
use domain::service::ServiceSummary;
use domain::taxonomy::{ChannelTypeCode, SegmentCode};
use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocId, DocSet, Score, SegmentOrdinal, SegmentReader, Term, TERMINATED};
use utoipa::ToSchema;
use uuid::Uuid;

use super::analysis;
use super::plan::{self, Plan};
use super::{bit, FacetRow, Indexed, LabelPlaces, SearchError, SearchIndex, Span, Store};

/// Values listed per facet unless asked otherwise (`facet_limit`), the most frequent first; a
/// selected value is always listed.
pub const DEFAULT_FACET_VALUES: u32 = 50;
/// The most a request may ask for: every municipality of a large state, a few answers of 100 KB
/// rather than one of every value of every facet.
pub const MAX_FACET_VALUES: u32 = 1000;
/// Below this many matches shown (live, passing the filters), services with fewer of the words
/// are added (half, then any of them).
const FEW_MATCHES: usize = 10;
/// How much more a service with every word weighs than one with fewer (and one with half of them
/// than one with a single word), per step. A factor, not a tier: every word scattered through
/// the steps text ("carteira", "trabalho" and "digital" in a trade-union form) no longer
/// outranks most of them in the name ("Obter a Carteira de Trabalho"). Tuning and holdout sets
/// both rose with it (2 and 3 alike, 1.5 and 5 less).
const STEP_FACTOR: f32 = 2.0;
/// Characters of description around the first match.
const SNIPPET_CHARS: usize = 220;

pub struct SearchRequest {
    pub text: String,
    pub filter: ServiceFilter,
    pub sort: ServiceSort,
    pub page: PageRequest,
    /// Values listed per facet, from 1 to [`MAX_FACET_VALUES`].
    pub facet_limit: u32,
}

/// Why a hit matched: its name, and the passage, popular name, keyword or steps text that has the
/// words searched, HTML-escaped, with the matching words in `<mark>`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Highlights {
    #[schema(example = "Emitir <mark>certidão</mark> de nascimento")]
    pub name: String,
    /// The passage of the description with most of the words searched; absent when only other
    /// fields matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "… a segunda via da <mark>certidão</mark> pode ser pedida …")]
    pub description: Option<String>,
    /// The first popular name (or the acronym) with a word searched, when the name has none:
    /// what the citizen calls the service ("tirar a CNH" for "Obter a primeira habilitação").
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "dar entrada no <mark>seguro-desemprego</mark>")]
    pub popular_name: Option<String>,
    /// The first keyword with a word searched, when neither the name, the popular names nor the
    /// description has one other than a weak word ("online", "site").
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "<mark>passaporte</mark> vencido")]
    pub keyword: Option<String>,
    /// A passage of the requesters, requirements, outcome, steps, documents, costs and channels
    /// (items separated by " · ") around the first word searched, when nothing above has one:
    /// the service asks for what was searched ("tirar passaporte" finds a service whose
    /// documents include the passport).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "… Documento de identidade ou <mark>passaporte</mark> …")]
    pub details: Option<String>,
}

impl Highlights {
    /// Whether the name, popular name or description mark a word searched other than a weak
    /// one ("online", "site" are in many texts and explain little).
    fn say_why(&self) -> bool {
        let shown = [
            Some(&self.name),
            self.popular_name.as_ref(),
            self.description.as_ref(),
        ];
        shown.into_iter().flatten().any(|html| {
            html.split("<mark>")
                .skip(1)
                .filter_map(|marked| marked.split_once("</mark>"))
                .any(|(word, _)| !analysis::is_weak(&analysis::fold(word)))
        })
    }
}

pub struct SearchHit {
    pub summary: ServiceSummary,
    pub highlights: Highlights,
}

/// One value of a facet: `value` is what the filter parameter takes.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FacetValue {
    #[schema(example = "detran-mt")]
    pub value: String,
    #[schema(example = "Departamento Estadual de Trânsito de Mato Grosso")]
    pub label: String,
    /// Services matching the search and every other filter, with this value.
    pub count: u64,
    /// This value is the current filter.
    pub selected: bool,
}

/// Counts per value, each ignoring its own filter so a reader can widen it.
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq)]
pub struct Facets {
    pub organization: Vec<FacetValue>,
    /// Topics count the services of their sub-topics, as the `topic` filter does.
    pub topic: Vec<FacetValue>,
    pub segment: Vec<FacetValue>,
    pub channel: Vec<FacetValue>,
    pub free: Vec<FacetValue>,
    pub digital: Vec<FacetValue>,
    /// Municipalities with services of their own; statewide services count in every one.
    pub municipality: Vec<FacetValue>,
    /// How many more values with a count each facet has than it lists (past `facet_limit`),
    /// for a "see all" that asks again with a larger `facet_limit`.
    pub more: FacetsMore,
}

/// Per facet, the values with a count left out of its list; 0 when it lists them all.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema, PartialEq)]
pub struct FacetsMore {
    pub organization: u64,
    pub topic: u64,
    pub segment: u64,
    pub channel: u64,
    pub free: u64,
    pub digital: u64,
    pub municipality: u64,
}

/// A facet's listed values and how many more it has.
struct FacetList {
    values: Vec<FacetValue>,
    more: u64,
}

pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub total: u64,
    pub facets: Facets,
    pub correction: Option<SpellingCorrection>,
}

/// How a search read words the catalogue does not know: each as the most frequent known word one
/// edit away (two for words of 8+ letters). The search also looks for the other close words.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct SpellingCorrection {
    /// The text searched with each of those words replaced, as the catalogue spells it, in the
    /// case it was typed in: what a front end shows as "Mostrando resultados para …". Plain text,
    /// the rest as typed: escape it before putting it in HTML (unlike `highlights`, which are).
    #[schema(example = "segunda via passaporte")]
    pub text: String,
    /// The words read as others, in the order typed.
    pub words: Vec<CorrectedWord>,
}

/// A word as typed, and the known word it was read as.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct CorrectedWord {
    #[schema(example = "pasaporte")]
    pub typed: String,
    #[schema(example = "passaporte")]
    pub read_as: String,
}

impl SearchResults {
    fn empty() -> SearchResults {
        SearchResults {
            hits: Vec::new(),
            total: 0,
            facets: Facets::default(),
            correction: None,
        }
    }
}

/// Every matching document with its score: facets need all of them, not the top few.
struct AllMatches;

struct SegmentMatches {
    ords: Column<u64>,
    found: Vec<(u32, Score)>,
}

impl Collector for AllMatches {
    type Fruit = Vec<(u32, Score)>;
    type Child = SegmentMatches;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentMatches> {
        Ok(SegmentMatches {
            ords: segment.fast_fields().u64("ord")?,
            found: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(u32, Score)>>) -> tantivy::Result<Vec<(u32, Score)>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentMatches {
    type Fruit = Vec<(u32, Score)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(ord) = self.ords.first(doc) {
            self.found.push((ord as u32, comparable(score)));
        }
    }

    fn harvest(self) -> Vec<(u32, Score)> {
        self.found
    }
}

/// `score` without its last mantissa bits (a relative 1/2048). tantivy adds a document's clause
/// scores in an order chosen per segment, so two services with the same text could score one bit
/// apart on an instance whose index was cut into segments differently, and swap places there.
/// Cut, such scores are equal and the name tie-break orders them alike everywhere, except for a
/// pair that straddles a cut (about one in 4,096): a canonical order of addition would need
/// tantivy's own scorers.
fn comparable(score: Score) -> Score {
    Score::from_bits(score.to_bits() & !0xFFF)
}

/// Facet dimensions, also the bits of a document's filter misses.
#[derive(Clone, Copy)]
enum Dimension {
    Organization = 0,
    Topic = 1,
    Segment = 2,
    Channel = 3,
    Free = 4,
    Digital = 5,
    Municipality = 6,
    /// Filters that are not facets: life event, modified after.
    Unfaceted = 7,
}

/// A municipality filter, looked up.
#[derive(Clone, Copy)]
enum Place {
    /// A municipality: its number when some service is linked to it (statewide services match
    /// it too).
    Known(Option<u32>),
    /// No such municipality: nothing matches, as in the list without `q`.
    Unknown,
}

/// The filter with its references looked up; `None` fields mean "any". A value that names
/// nothing matches nothing, and the facets are counted all the same, so that the citizen sees
/// what the other values would give.
struct Resolved {
    organization: Option<u32>,
    topic: Option<u32>,
    life_event: Option<Uuid>,
    segment: Option<SegmentCode>,
    channel: Option<ChannelTypeCode>,
    free: Option<bool>,
    digital: Option<bool>,
    municipality: Option<Place>,
    modified_after: Option<chrono::DateTime<chrono::Utc>>,
}

impl Store {
    /// `None` when the filter names a life event that does not exist: it is no facet, so
    /// nothing at all can be counted.
    fn resolve(&self, filter: &ServiceFilter) -> Option<Resolved> {
        // Unknown, or known without published services: no service has the number `u32::MAX`.
        let organization = filter.organization.as_ref().map(|key| {
            self.organization_names
                .find(key)
                .and_then(|id| self.organizations.get(&id))
                .unwrap_or(u32::MAX)
        });
        let topic = filter.topic.as_ref().map(|key| {
            self.topic_names
                .find(key)
                .and_then(|id| self.topics.get(&id))
                .unwrap_or(u32::MAX)
        });
        let life_event = match &filter.life_event {
            Some(key) => Some(self.life_event_names.find(key)?),
            None => None,
        };
        Some(Resolved {
            organization,
            topic,
            life_event,
            segment: filter.segment,
            channel: filter.channel,
            free: filter.free,
            digital: filter.digital,
            modified_after: filter.modified_after,
            municipality: filter.municipality.map(|code| {
                match self.municipality_names.contains_key(&code) {
                    true => Place::Known(self.municipalities.get(&code)),
                    false => Place::Unknown,
                }
            }),
        })
    }
}

impl Resolved {
    /// The dimensions whose filter this service fails, as bits. `doc` is read only for the
    /// filters that are not facets (rare): the full records are scattered on the heap.
    fn misses<'d>(
        &self,
        row: &FacetRow,
        lists: &[u32],
        doc: impl Fn() -> Option<&'d Indexed>,
    ) -> u8 {
        let mut misses = 0u8;
        let mut miss = |dimension: Dimension, ok: bool| {
            if !ok {
                misses |= 1 << dimension as u8;
            }
        };
        if let Some(organization) = self.organization {
            miss(Dimension::Organization, row.organization == organization);
        }
        if let Some(topic) = self.topic {
            miss(
                Dimension::Topic,
                Span::of(lists, row.topics).contains(&topic),
            );
        }
        if let Some(segment) = self.segment {
            miss(
                Dimension::Segment,
                row.segments & bit(SegmentCode::ALL, &segment) != 0,
            );
        }
        if let Some(channel) = self.channel {
            miss(
                Dimension::Channel,
                row.channels & bit(ChannelTypeCode::ALL, &channel) != 0,
            );
        }
        if let Some(free) = self.free {
            miss(Dimension::Free, row.free() == Some(free));
        }
        if let Some(digital) = self.digital {
            miss(Dimension::Digital, row.has(FacetRow::DIGITAL) == digital);
        }
        match self.municipality {
            Some(Place::Known(number)) => miss(
                Dimension::Municipality,
                row.has(FacetRow::STATEWIDE)
                    || number.is_some_and(|n| Span::of(lists, row.municipalities).contains(&n)),
            ),
            Some(Place::Unknown) => miss(Dimension::Municipality, false),
            None => {}
        }
        if let Some(life_event) = self.life_event {
            miss(
                Dimension::Unfaceted,
                doc().is_some_and(|doc| doc.life_events.contains(&life_event)),
            );
        }
        if let Some(after) = self.modified_after {
            miss(
                Dimension::Unfaceted,
                doc().is_some_and(|doc| doc.summary.updated_at > after),
            );
        }
        misses
    }
}

/// Facet counts of one search.
struct Counts {
    organization: Vec<u64>,
    topic: Vec<u64>,
    segment: Vec<u64>,
    channel: Vec<u64>,
    free: [u64; 2],
    digital: [u64; 2],
    municipality: Vec<u64>,
    statewide: u64,
}

impl Counts {
    fn new(store: &Store) -> Counts {
        Counts {
            organization: vec![0; store.organizations.len()],
            topic: vec![0; store.topics.len()],
            segment: vec![0; SegmentCode::ALL.len()],
            channel: vec![0; ChannelTypeCode::ALL.len()],
            free: [0; 2],
            digital: [0; 2],
            municipality: vec![0; store.municipalities.len()],
            statewide: 0,
        }
    }

    /// Counts `doc` in the dimensions `misses` allows: all when it passes every filter, only
    /// the failed one when it fails exactly one.
    fn add(&mut self, row: &FacetRow, lists: &[u32], misses: u8) {
        let counts_in = |dimension: Dimension| misses & !(1 << dimension as u8) == 0;
        if counts_in(Dimension::Organization) {
            if let Some(count) = self.organization.get_mut(row.organization as usize) {
                *count += 1;
            }
        }
        if counts_in(Dimension::Topic) {
            for topic in Span::of(lists, row.topics) {
                if let Some(count) = self.topic.get_mut(*topic as usize) {
                    *count += 1;
                }
            }
        }
        if counts_in(Dimension::Segment) {
            add_bits(&mut self.segment, row.segments);
        }
        if counts_in(Dimension::Channel) {
            add_bits(&mut self.channel, row.channels);
        }
        if counts_in(Dimension::Free) {
            if let Some(free) = row.free() {
                self.free[usize::from(free)] += 1;
            }
        }
        if counts_in(Dimension::Digital) {
            self.digital[usize::from(row.has(FacetRow::DIGITAL))] += 1;
        }
        if counts_in(Dimension::Municipality) {
            if row.has(FacetRow::STATEWIDE) {
                self.statewide += 1;
            }
            for municipality in Span::of(lists, row.municipalities) {
                if let Some(count) = self.municipality.get_mut(*municipality as usize) {
                    *count += 1;
                }
            }
        }
    }

    fn facets<'a>(
        &'a self,
        store: &'a Store,
        filter: &ServiceFilter,
        resolved: &Resolved,
        limit: usize,
    ) -> Facets {
        // The selected values by key, compared as keys: looking every value up would hash
        // thousands of ids per search.
        let interned = |keys: &'_ [Uuid], number: Option<u32>| {
            number.and_then(|n| keys.get(n as usize)).copied()
        };
        let selected_organization = interned(&store.organizations.keys, resolved.organization);
        let selected_topic = interned(&store.topics.keys, resolved.topic);
        let places = &store.label_places;
        // Each interned key with its count and alphabetical place.
        let interned_values = |keys: &'a [Uuid], counts: &'a [u64], places: &'a [u32]| {
            keys.iter()
                .zip(counts)
                .enumerate()
                .map(move |(n, (key, count))| (key, *count, LabelPlaces::of(places, n)))
        };
        let mut organization = list(
            limit,
            interned_values(
                &store.organizations.keys,
                &self.organization,
                &places.organizations,
            ),
            |id| {
                let (slug, name) = store.organization_names.names.get(id)?;
                Some((Cow::Borrowed(slug.as_str()), name.as_str()))
            },
            |id| selected_organization == Some(*id),
        );
        let mut topic = list(
            limit,
            interned_values(&store.topics.keys, &self.topic, &places.topics),
            |id| {
                let (slug, name) = store.topic_names.names.get(id)?;
                Some((Cow::Borrowed(slug.as_str()), name.as_str()))
            },
            |id| selected_topic == Some(*id),
        );
        let segment = list(
            limit,
            fixed_values(SegmentCode::ALL, &self.segment, &SEGMENT_PLACES),
            |s| Some((Cow::Borrowed(s.code()), s.label())),
            |s| filter.segment == Some(*s),
        );
        let channel = list(
            limit,
            fixed_values(ChannelTypeCode::ALL, &self.channel, &CHANNEL_PLACES),
            |c| Some((Cow::Borrowed(c.code()), c.label())),
            |c| filter.channel == Some(*c),
        );
        // Yes before no: "Digital" before "Não digital", "Gratuito" before "Pago".
        let yes_no = |counts: &[u64; 2], selected: Option<bool>, yes: &str, no: &str| {
            list(
                limit,
                [(&true, counts[1], 0), (&false, counts[0], 1)].into_iter(),
                |v| Some((Cow::Owned(v.to_string()), if *v { yes } else { no })),
                |v| selected == Some(*v),
            )
        };
        let mut municipality = list(
            limit,
            store
                .municipalities
                .keys
                .iter()
                .zip(&self.municipality)
                .enumerate()
                .map(|(n, (code, own))| {
                    let place = LabelPlaces::of(&places.municipalities, n);
                    (code, own + self.statewide, place)
                })
                .filter(|(code, count, _)| {
                    *count > self.statewide || filter.municipality == Some(**code)
                }),
            |code| {
                let name = store.municipality_names.get(code)?;
                Some((Cow::Owned(code.to_string()), name.as_str()))
            },
            |code| filter.municipality == Some(*code),
        );
        // A selected value nothing was counted for (an organization without published
        // services, a municipality with only statewide ones) is still listed.
        let selected_names = |names: &super::Names, key: &Option<String>| {
            key.as_deref()
                .and_then(|key| names.find(key))
                .and_then(|id| names.names.get(&id).cloned())
        };
        organization.ensure_selected(
            limit,
            selected_names(&store.organization_names, &filter.organization),
            0,
        );
        topic.ensure_selected(limit, selected_names(&store.topic_names, &filter.topic), 0);
        municipality.ensure_selected(
            limit,
            filter.municipality.and_then(|code| {
                store
                    .municipality_names
                    .get(&code)
                    .map(|name| (code.to_string(), name.clone()))
            }),
            self.statewide,
        );
        let (free, digital) = (
            yes_no(&self.free, filter.free, "Gratuito", "Pago"),
            yes_no(&self.digital, filter.digital, "Digital", "Não digital"),
        );
        Facets {
            more: FacetsMore {
                organization: organization.more,
                topic: topic.more,
                segment: segment.more,
                channel: channel.more,
                free: free.more,
                digital: digital.more,
                municipality: municipality.more,
            },
            organization: organization.values,
            topic: topic.values,
            segment: segment.values,
            channel: channel.values,
            free: free.values,
            digital: digital.values,
            municipality: municipality.values,
        }
    }
}

impl FacetList {
    /// Lists the selected value first even when nothing was counted for it.
    fn ensure_selected(&mut self, limit: usize, selected: Option<(String, String)>, count: u64) {
        if let Some((value, label)) = selected {
            if !self.values.iter().any(|v| v.selected) {
                self.values.insert(
                    0,
                    FacetValue {
                        value,
                        label,
                        count,
                        selected: true,
                    },
                );
                // Still at most that many values: the last one is then one more left out.
                if self.values.len() > limit {
                    self.values.truncate(limit);
                    self.more += 1;
                }
            }
        }
    }
}

fn add_bits(counts: &mut [u64], mut bits: u32) {
    while bits != 0 {
        let i = bits.trailing_zeros() as usize;
        if let Some(count) = counts.get_mut(i) {
            *count += 1;
        }
        bits &= bits - 1;
    }
}

/// At most `limit` (1 or more) facet values with a count: the selected one first, then the most
/// frequent, then in alphabetical order. `values` gives each key with its count and its place in alphabetical
/// order ([`super::alphabetical_places`]); `describe` gives its value and label, borrowed where
/// it can be: only the values listed are described and copied into the answer.
fn list<'a, 'n, K: 'a>(
    limit: usize,
    values: impl Iterator<Item = (&'a K, u64, u32)>,
    describe: impl Fn(&K) -> Option<(Cow<'n, str>, &'n str)>,
    is_selected: impl Fn(&K) -> bool,
) -> FacetList {
    let mut ranked: Vec<(&K, u64, bool, u32)> = values
        .map(|(key, count, place)| (key, count, is_selected(key), place))
        .filter(|(_, count, selected, place)| (*count > 0 || *selected) && *place != u32::MAX)
        .collect();
    // A total order of integers: thousands of values (municipalities, their organizations) may
    // have a count, and only the listed ones are sorted or read.
    let by_rank = |a: &(&K, u64, bool, u32), b: &(&K, u64, bool, u32)| {
        b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.3.cmp(&b.3))
    };
    let more = ranked.len().saturating_sub(limit) as u64;
    if ranked.len() > limit {
        ranked.select_nth_unstable_by(limit - 1, by_rank);
        ranked.truncate(limit);
    }
    ranked.sort_unstable_by(by_rank);
    let values = ranked
        .into_iter()
        .filter_map(|(key, count, selected, _)| {
            let (value, label) = describe(key)?;
            Some(FacetValue {
                value: value.into_owned(),
                label: label.to_owned(),
                count,
                selected,
            })
        })
        .collect();
    FacetList { values, more }
}

/// The alphabetical places of a fixed set of values (segments, channel types) by their labels.
fn places_of<T: Copy>(all: &[T], label: impl Fn(T) -> &'static str) -> Vec<u32> {
    super::alphabetical_places(all, |value| Some(label(*value)))
}

/// Each value of a fixed set with its count and alphabetical place, as [`list`] takes them.
fn fixed_values<'a, T>(
    all: &'a [T],
    counts: &'a [u64],
    places: &'a [u32],
) -> impl Iterator<Item = (&'a T, u64, u32)> + 'a {
    all.iter()
        .zip(counts)
        .zip(places)
        .map(|((value, count), place)| (value, *count, *place))
}

static SEGMENT_PLACES: std::sync::LazyLock<Vec<u32>> =
    std::sync::LazyLock::new(|| places_of(SegmentCode::ALL, SegmentCode::label));
static CHANNEL_PLACES: std::sync::LazyLock<Vec<u32>> =
    std::sync::LazyLock::new(|| places_of(ChannelTypeCode::ALL, ChannelTypeCode::label));

impl SearchIndex {
    /// Published services matching `request.text` and every filter, ranked, with facets.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let searcher = self.reader.searcher();
        let synonyms = self
            .store
            .read()
            .map_err(|_| SearchError::Poisoned)?
            .synonyms
            .clone();
        let Some(synonyms) = synonyms else {
            return Ok(SearchResults::empty());
        };
        // The store is read only for as long as a lookup takes: planning reads the term
        // dictionary, and a writer waiting for the lock would hold back every search meanwhile.
        let completions_after = |earlier: &[String], prefix: &str| {
            self.store.read().map_or(Vec::new(), |store| {
                store
                    .suggest
                    .completions_after(earlier, prefix, plan::MAX_EXPANSIONS)
            })
        };
        let Some(plan) = plan::plan(
            &searcher,
            &self.fields,
            &request.text,
            &synonyms,
            completions_after,
        ) else {
            return Ok(SearchResults::empty());
        };
        let statistics = plan::Statistics {
            searcher: &searcher,
            blended: &plan.blended,
        };
        let mut matches =
            searcher.search_with_statistics_provider(&plan.query, &AllMatches, &statistics)?;
        // While the matches are few, or none passes the filters, those with fewer words are added
        // a step at a time; each step's matches rise a level above those the next one adds.
        let mut levels: HashMap<u32, u8> = HashMap::new();
        for looser in &plan.looser {
            if self.enough_shown(&matches, &request.filter)? {
                break;
            }
            for (ord, _) in &matches {
                *levels.entry(*ord).or_default() += 1;
            }
            matches = searcher.search_with_statistics_provider(
                looser.as_ref(),
                &AllMatches,
                &statistics,
            )?;
        }
        // `sort=popular` orders by the views (as of the last flush); relevance is boosted by
        // popularity in steps (as of the last reread of every score): each answer depends on
        // one of them only, and is cached under its epoch.
        let by_views = request.sort == ServiceSort::Popular;
        let popularity = self.popularity.load();
        let boosts = self.boosts.load();
        let boosting = !by_views && !boosts.is_empty();

        let store = self.store.read().map_err(|_| SearchError::Poisoned)?;
        let Some(resolved) = store.resolve(&request.filter) else {
            return Ok(SearchResults::empty());
        };
        let mut counts = Counts::new(&store);
        let mut hits: Vec<Hit> = Vec::with_capacity(matches.len());
        let lists = store.lists.as_slice();
        // The full records are read for the page and the orders that need them, not per match.
        let doc_at = |ord: u32| store.docs.get(ord as usize).and_then(Option::as_deref);
        // The best match by relevance without the popularity boost, for any order: the word it
        // has is the one a misspelt word is told as ("suss": SUS, not "suas"), and it depends on
        // the catalogue only, as the answers cached without the boost's epoch do.
        let telling = !plan.corrections.is_empty();
        let mut best: Option<(Score, u32)> = None;
        let name_of = |ord: u32| doc_at(ord).map(|doc| (&doc.name_key, doc.summary.id));
        for (ord, score) in matches {
            let Some(row) = store.rows.get(ord as usize) else {
                continue;
            };
            // A row is live exactly as long as its record is (see `SearchIndex::publish`).
            if !row.has(FacetRow::LIVE) {
                continue;
            }
            let misses = resolved.misses(row, lists, || doc_at(ord));
            if misses == 0 {
                let views = match by_views {
                    true => doc_at(ord).map_or(0, |doc| popularity.views(&doc.summary.id)),
                    false => 0,
                };
                // A mild multiplicative boost: it orders near-ties by popularity and cannot lift
                // a match over one scoring more than `MAX_BOOST` better.
                let level = levels.get(&ord).copied().unwrap_or(0);
                let unboosted = score * STEP_FACTOR.powi(i32::from(level));
                if telling {
                    let better = best.is_none_or(|(top, top_ord)| {
                        unboosted
                            .total_cmp(&top)
                            .then_with(|| name_of(top_ord).cmp(&name_of(ord)))
                            .is_gt()
                    });
                    if better {
                        best = Some((unboosted, ord));
                    }
                }
                let score = match boosting {
                    true => unboosted * crate::popularity::boost_at(row.boost),
                    false => unboosted,
                };
                hits.push(Hit {
                    ord,
                    score,
                    views,
                    level,
                });
            }
            if misses.count_ones() <= 1 {
                counts.add(row, lists, misses);
            }
        }
        let facets = counts.facets(
            &store,
            &request.filter,
            &resolved,
            request.facet_limit.clamp(1, MAX_FACET_VALUES) as usize,
        );
        let total = hits.len() as u64;

        let name = |hit: &Hit| name_of(hit.ord);
        let best = best.and_then(|(_, ord)| doc_at(ord));
        let correction = correction(&request.text, &plan, best, |folded| {
            spelling(&searcher, self.fields.words, &store, folded)
        });
        let updated =
            |hit: &Hit| doc_at(hit.ord).map(|doc| (doc.summary.updated_at, doc.summary.id));
        let order = |a: &Hit, b: &Hit| -> Ordering {
            let by_name = || name(a).cmp(&name(b));
            match request.sort {
                ServiceSort::Relevance => b.score.total_cmp(&a.score).then_with(by_name),
                ServiceSort::Name => by_name(),
                ServiceSort::Updated => {
                    let (a, b) = (updated(a), updated(b));
                    b.map(|(at, _)| at)
                        .cmp(&a.map(|(at, _)| at))
                        .then(a.map(|(_, id)| id).cmp(&b.map(|(_, id)| id)))
                }
                // The matches with more words stay above those with fewer, each level by views.
                ServiceSort::Popular => b
                    .level
                    .cmp(&a.level)
                    .then(b.views.cmp(&a.views))
                    .then(b.score.total_cmp(&a.score))
                    .then_with(by_name),
            }
        };
        let start = usize::try_from(request.page.offset()).unwrap_or(usize::MAX);
        let end = start
            .saturating_add(request.page.per_page as usize)
            .min(hits.len());
        // Only the hits at least as early as the page's last one by the order's cheap leading
        // key can be on it: selecting by that key first keeps the names out of most comparisons.
        match request.sort {
            ServiceSort::Relevance => {
                keep_possible_page(&mut hits, end, |hit| hit.score, |a, b| b.total_cmp(a))
            }
            ServiceSort::Name => keep_possible_page(
                &mut hits,
                end,
                |hit| {
                    store
                        .name_prefixes
                        .get(hit.ord as usize)
                        .copied()
                        .unwrap_or(u64::MAX)
                },
                u64::cmp,
            ),
            ServiceSort::Updated | ServiceSort::Popular => {}
        }
        let end = end.min(hits.len());
        if start >= hits.len() {
            hits.clear();
        } else {
            // Only the requested page needs a full sort.
            if end < hits.len() {
                hits.select_nth_unstable_by(end, order);
                hits.truncate(end);
            }
            hits.sort_by(order);
            hits.drain(..start);
        }
        let page = hits
            .into_iter()
            .filter_map(|hit| doc_at(hit.ord))
            .map(|doc| {
                let mut highlights = highlights(doc, &plan);
                if !highlights.say_why() {
                    self.highlight_stored(&searcher, doc.summary.id, &plan, &mut highlights);
                }
                SearchHit {
                    highlights,
                    summary: doc.summary.clone(),
                }
            })
            .collect();
        Ok(SearchResults {
            hits: page,
            total,
            facets,
            correction,
        })
    }
}

impl SearchIndex {
    /// Whether the looser steps stop at `matches`: at least `FEW_MATCHES` of them are live and
    /// one passes `filter`. The step is chosen by the matches everywhere, not by how many pass
    /// the filters, so each facet's count is the total its filter gives; a filter that none of
    /// them passes (a search within one agency's services, say) goes on to the looser ones.
    fn enough_shown(
        &self,
        matches: &[(u32, Score)],
        filter: &ServiceFilter,
    ) -> Result<bool, SearchError> {
        let store = self.store.read().map_err(|_| SearchError::Poisoned)?;
        let Some(resolved) = store.resolve(filter) else {
            // Nothing passes a filter naming what does not exist: looser matches would not either.
            return Ok(true);
        };
        let live = |ord: u32| {
            store
                .rows
                .get(ord as usize)
                .filter(|row| row.has(FacetRow::LIVE))
        };
        let live_matches = matches.iter().filter(|(ord, _)| live(*ord).is_some());
        if live_matches.clone().take(FEW_MATCHES).count() < FEW_MATCHES {
            return Ok(false);
        }
        let lists = store.lists.as_slice();
        let mut shown = matches.iter().filter_map(|(ord, _)| {
            let doc = || store.docs.get(*ord as usize).and_then(Option::as_deref);
            live(*ord).map(|row| resolved.misses(row, lists, doc))
        });
        Ok(shown.any(|misses| misses == 0))
    }

    /// Fills `keyword`, or else `details`, from the texts tantivy stores for the service `id`.
    fn highlight_stored(
        &self,
        searcher: &tantivy::Searcher,
        id: Uuid,
        plan: &Plan,
        highlights: &mut Highlights,
    ) {
        let Some(stored) = stored_document(searcher, self.fields.id, id) else {
            return;
        };
        let texts = |field: Field| stored.get_all(field).filter_map(|value| value.as_str());
        highlights.keyword = texts(self.fields.keywords).find_map(|keyword| {
            let marks = matching_words(keyword, plan, 0, None, usize::MAX);
            (!marks.is_empty()).then(|| mark(keyword, 0, keyword.len(), &marks))
        });
        if highlights.keyword.is_none() {
            highlights.details =
                texts(self.fields.details).find_map(|details| snippet(details, plan));
        }
    }
}

/// The live stored document of the service `id`.
fn stored_document(
    searcher: &tantivy::Searcher,
    id_field: Field,
    id: Uuid,
) -> Option<tantivy::TantivyDocument> {
    let term = Term::from_field_text(id_field, &id.to_string());
    let address = *live_documents(searcher, &term, 1).first()?;
    // In memory, this cannot fail but for a bug: the hit then says less, not nothing.
    searcher
        .doc(address)
        .inspect_err(|e| tracing::warn!(error = %e, "stored search document unreadable"))
        .ok()
}

/// The first (at most `limit`) live documents with `term`, segment by segment.
fn live_documents(
    searcher: &tantivy::Searcher,
    term: &Term,
    limit: usize,
) -> Vec<tantivy::DocAddress> {
    let mut found = Vec::new();
    for (ordinal, segment) in searcher.segment_readers().iter().enumerate() {
        let Ok(index) = segment.inverted_index(term.field()) else {
            continue;
        };
        let Ok(Some(mut postings)) = index.read_postings(term, IndexRecordOption::Basic) else {
            continue;
        };
        let mut doc = postings.doc();
        while doc != TERMINATED && found.len() < limit {
            if !segment.is_deleted(doc) {
                found.push(tantivy::DocAddress::new(ordinal as SegmentOrdinal, doc));
            }
            doc = postings.advance();
        }
    }
    found
}

/// `text` as the plan read it, when it corrected some of its words, each as the word `best`
/// (the best match) has or else the most frequent; `spell` gives a folded word's written form.
fn correction(
    text: &str,
    plan: &Plan,
    best: Option<&Indexed>,
    spell: impl Fn(&str) -> String,
) -> Option<SpellingCorrection> {
    if plan.corrections.is_empty() {
        return None;
    }
    let mut spelt: Vec<(&str, String)> = Vec::new();
    let mut replaced = Vec::with_capacity(plan.corrections.len());
    let mut words = Vec::with_capacity(plan.corrections.len());
    for correction in &plan.corrections {
        let typed = text.get(correction.start..correction.end)?;
        let read_as = best
            .and_then(|doc| {
                correction
                    .alternatives
                    .iter()
                    .find(|word| written_form(doc, word).is_some())
            })
            .unwrap_or(&correction.read_as);
        let form = match spelt.iter().find(|(folded, _)| *folded == read_as) {
            Some((_, form)) => form.clone(),
            None => {
                // Words typed together are read as several.
                let form = read_as.split(' ').map(&spell).collect::<Vec<_>>().join(" ");
                spelt.push((read_as, form.clone()));
                form
            }
        };
        let read_as = analysis::in_the_case_of(typed, form);
        replaced.push((correction.start..correction.end, read_as.clone()));
        words.push(CorrectedWord {
            typed: typed.to_owned(),
            read_as,
        });
    }
    let read = analysis::replace_words(text, &replaced)?;
    Some(SpellingCorrection {
        text: read.trim().to_owned(),
        words,
    })
}

/// Services read for how the catalogue writes a word.
const SPELLING_SAMPLE: usize = 16;

/// How the catalogue writes the folded word `folded` (of the `words` field): the most frequent
/// form in the names, popular names and descriptions of the first services that have it, in
/// lowercase unless written in mixed case ("eSocial", "CadÚnico") or, everywhere, in capitals
/// (an acronym); `folded` itself when only keywords have it.
fn spelling(searcher: &tantivy::Searcher, field: Field, store: &Store, folded: &str) -> String {
    let term = Term::from_field_text(field, folded);
    // Forms in the order first met, with how often.
    let mut forms: Vec<(String, usize)> = Vec::new();
    for address in live_documents(searcher, &term, SPELLING_SAMPLE) {
        let segment = searcher.segment_reader(address.segment_ord);
        let Ok(ords) = segment.fast_fields().u64("ord") else {
            continue;
        };
        let indexed = ords
            .first(address.doc_id)
            .and_then(|ord| store.docs.get(ord as usize))
            .and_then(Option::as_deref);
        if let Some(written) = indexed.and_then(|indexed| written_form(indexed, folded)) {
            let form = shown_form(written);
            match forms.iter_mut().find(|(known, _)| *known == form) {
                Some((_, count)) => *count += 1,
                None => forms.push((form, 1)),
            }
        }
    }
    let capitals = |form: &str| !form.chars().any(char::is_lowercase);
    // The first of the most frequent: `max_by_key` keeps the last of equals.
    forms
        .iter()
        .rev()
        .max_by_key(|(form, count)| (!capitals(form), *count))
        .map_or_else(|| folded.to_owned(), |(form, _)| form.clone())
}

/// A word as written, as it is shown alone: in lowercase unless in capitals or in mixed case.
fn shown_form(written: &str) -> String {
    match analysis::is_mixed_case(written) || !written.chars().any(char::is_lowercase) {
        true => written.to_owned(),
        false => written.to_lowercase(),
    }
}

/// The first word of the service's name, popular names, acronym or description that folds to
/// `folded`, as written there.
fn written_form<'a>(doc: &'a Indexed, folded: &str) -> Option<&'a str> {
    let summary = &doc.summary;
    std::iter::once(summary.name.as_str())
        .chain(summary.popular_names.iter().map(String::as_str))
        .chain(summary.acronym.as_deref())
        .chain(std::iter::once(doc.description.as_str()))
        .find_map(|text| {
            let mut scanner = analysis::Scanner::new(text);
            while let Some((start, end, word)) = scanner.next_word() {
                if word == folded {
                    return text.get(start..end);
                }
            }
            None
        })
}

/// Keeps the hits that may be among the first `end` when ordered by `key` (in `order`) and then
/// by anything else: those whose key is at most the `end`-th smallest.
fn keep_possible_page<K: Copy>(
    hits: &mut Vec<Hit>,
    end: usize,
    key: impl Fn(&Hit) -> K,
    order: impl Fn(&K, &K) -> Ordering,
) {
    if end == 0 || end >= hits.len() {
        return;
    }
    let mut keys: Vec<K> = hits.iter().map(&key).collect();
    let (_, last, _) = keys.select_nth_unstable_by(end - 1, &order);
    let last = *last;
    hits.retain(|hit| order(&key(hit), &last).is_le());
}

/// A match that passes every filter, with what orders it.
struct Hit {
    ord: u32,
    /// Relevance, with the popularity boost (not for `sort=popular`).
    score: Score,
    /// Page views in the popularity window (`sort=popular` only).
    views: u64,
    /// How many of the stricter steps matched it, when looser ones were added (0 otherwise).
    level: u8,
}

/// Byte ranges of the words of `text` that the query looked for (a word alone, or every word of
/// a synonym phrase where the whole phrase appears), from `from` on, up to `until` (a byte
/// offset) when given, at most `wanted` of them. Words are stemmed only when they could match:
/// this runs for every hit shown.
fn matching_words(
    text: &str,
    plan: &Plan,
    from: usize,
    until: Option<usize>,
    wanted: usize,
) -> Vec<(usize, usize)> {
    let end = until.unwrap_or(text.len());
    let longest_phrase = plan.phrases.iter().map(Vec::len).max().unwrap_or(1);
    // Content words so far: their range and, when they could match, their stem.
    let mut words: Vec<(usize, usize, Option<String>)> = Vec::new();
    let mut marked: Vec<bool> = Vec::new();
    let mut marks = 0;
    // Once `wanted` words are marked, only a phrase beginning before the last of them could
    // still mark an earlier word: the scan stops when none can.
    let mut last_word = usize::MAX;
    let mut scanner = analysis::Scanner::new(&text[from..end]);
    while let Some((start, word_end, folded)) = scanner.next_word() {
        if words.len() > last_word {
            break;
        }
        if analysis::is_stopword(folded) {
            continue;
        }
        let stem = plan.could_match(folded).then(|| analysis::stem(folded));
        let alone = stem
            .as_deref()
            .is_some_and(|stem| plan.stems.contains(stem));
        words.push((from + start, from + word_end, stem));
        marked.push(alone);
        marks += usize::from(alone);
        for phrase in &plan.phrases {
            let Some(first) = words.len().checked_sub(phrase.len()) else {
                continue;
            };
            let whole = phrase
                .iter()
                .zip(&words[first..])
                .all(|(wanted, (_, _, stem))| stem.as_ref() == Some(wanted));
            if whole {
                for m in &mut marked[first..] {
                    marks += usize::from(!*m);
                    *m = true;
                }
            }
        }
        if last_word == usize::MAX && marks >= wanted {
            last_word = words.len() - 1 + longest_phrase - 1;
        }
    }
    words
        .iter()
        .zip(marked)
        .filter(|(_, marked)| *marked)
        .map(|((start, end, _), _)| (*start, *end))
        .take(wanted)
        .collect()
}

/// `text[from..to]` HTML-escaped, with the `marks` (byte ranges within it) in `<mark>`.
fn mark(text: &str, from: usize, to: usize, marks: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(to - from + 16 * marks.len());
    let mut cursor = from;
    for &(start, end) in marks.iter().filter(|(_, end)| *end <= to) {
        escape_into(&text[cursor..start], &mut out);
        out.push_str("<mark>");
        escape_into(&text[start..end], &mut out);
        out.push_str("</mark>");
        cursor = end;
    }
    escape_into(&text[cursor..to], &mut out);
    out
}

fn escape_into(text: &str, out: &mut String) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
}

fn highlights(doc: &Indexed, plan: &Plan) -> Highlights {
    let marked = |text: &str| {
        let marks = matching_words(text, plan, 0, None, usize::MAX);
        (!marks.is_empty()).then(|| mark(text, 0, text.len(), &marks))
    };
    let name = &doc.summary.name;
    let (name, popular_name) = match marked(name) {
        Some(name) => (name, None),
        None => (
            mark(name, 0, name.len(), &[]),
            // The acronym is searched as a popular name ("CAT").
            doc.summary
                .popular_names
                .iter()
                .chain(doc.summary.acronym.iter())
                .find_map(|popular| marked(popular)),
        ),
    };
    Highlights {
        name,
        description: snippet(&doc.description, plan),
        popular_name,
        keyword: None,
        details: None,
    }
}

/// Matches looked at for the first one that is not a weak word.
const SNIPPET_CANDIDATES: usize = 8;
/// Characters of context shown before the first match.
const SNIPPET_LEAD: usize = 60;

/// A passage of about [`SNIPPET_CHARS`] from a little before the first match in the description.
fn snippet(description: &str, plan: &Plan) -> Option<String> {
    // Weak words ("online", "site") are in many texts: the passage is around the first other
    // word searched when one is near.
    let strong = |&(start, end): &(usize, usize)| {
        !analysis::is_weak(&analysis::fold(&description[start..end]))
    };
    let mut first = *matching_words(description, plan, 0, None, 1).first()?;
    // Only a weak first match makes it read further (most texts are scanned for one match).
    if !strong(&first) {
        let candidates = matching_words(description, plan, 0, None, SNIPPET_CANDIDATES);
        first = candidates.into_iter().find(strong).unwrap_or(first);
    }
    let (first, _) = first;
    // Start at a word boundary some characters before the match.
    let mut begin = floor_char_boundary(description, first.saturating_sub(SNIPPET_LEAD));
    if begin > 0 {
        begin = description[begin..first]
            .char_indices()
            .find(|(_, ch)| ch.is_whitespace())
            .map_or(first, |(space, ch)| begin + space + ch.len_utf8());
    }
    let mut end = floor_char_boundary(description, (begin + SNIPPET_CHARS).min(description.len()));
    if end < description.len() {
        end = description[first..end]
            .rfind(char::is_whitespace)
            .map_or(end, |space| first + space);
    }
    let marks = matching_words(description, plan, begin, Some(end), usize::MAX);
    let mut out = String::new();
    if begin > 0 {
        out.push_str("… ");
    }
    out.push_str(mark(description, begin, end, &marks).trim_end());
    if end < description.len() {
        out.push_str(" …");
    }
    Some(out)
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// A rendered answer, ready to send again.
pub struct CachedPage {
    pub generation: u64,
    /// The service a page shows: a view is counted each time it is sent.
    pub subject: Option<Uuid>,
    pub body: Arc<crate::http_caching::Representation>,
    /// The RFC 8288 `Link` header of a list page.
    pub link: Option<String>,
}

impl CachedPage {
    /// 200 with the JSON body; the representation rides along so its compressed forms are
    /// made once.
    pub fn response(&self) -> actix_web::HttpResponse {
        let mut response = actix_web::HttpResponse::Ok();
        if let Some(link) = &self.link {
            response.insert_header((actix_web::http::header::LINK, link.as_str()));
        }
        response.extensions_mut().insert(Arc::clone(&self.body));
        response
            .content_type("application/json")
            .body(self.body.identity().clone())
    }
}

#[derive(Clone)]
struct PageWeight;

impl quick_cache::Weighter<String, Arc<CachedPage>> for PageWeight {
    fn weight(&self, key: &String, page: &Arc<CachedPage>) -> u64 {
        (key.len() + page.body.weight() + page.link.as_ref().map_or(0, String::len) + 64) as u64
    }
}

/// Rendered answers by query string. Searches are highly repetitive (a few hundred queries make
/// most of a portal's traffic), and an answer costs tens of microseconds to send again against
/// hundreds to compute. Any index change clears it.
/// `None` when disabled (a capacity of 0).
pub struct ResultCache(Option<quick_cache::sync::Cache<String, Arc<CachedPage>, PageWeight>>);

impl ResultCache {
    /// Keeps up to `bytes` of rendered answers.
    pub fn new(bytes: u64) -> ResultCache {
        ResultCache((bytes > 0).then(|| {
            quick_cache::sync::Cache::with_weighter(
                usize::try_from(bytes / 8_192).unwrap_or(10_000).max(16),
                bytes,
                PageWeight,
            )
        }))
    }

    pub fn clear(&self) {
        if let Some(cache) = &self.0 {
            cache.clear();
        }
    }
}

impl SearchIndex {
    /// A rendered answer to `query_string` of the current generation.
    pub fn cached(&self, query_string: &str) -> Option<Arc<CachedPage>> {
        let page = self.cache.0.as_ref()?.get(query_string)?;
        (page.generation == self.generation()).then_some(page)
    }

    /// Drops the answers whose key contains `mark` (those of an older popularity epoch, never
    /// asked again): the rest of the cache stays.
    pub fn forget_answers_keyed(&self, mark: &str) {
        if let Some(cache) = &self.cache.0 {
            cache.retain(|key, _| !key.contains(mark));
        }
    }

    pub fn remember(&self, query_string: &str, page: CachedPage) {
        // Rendered against an older index: keep nothing.
        if let Some(cache) = &self.cache.0 {
            if page.generation == self.generation() {
                cache.insert(query_string.to_owned(), Arc::new(page));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(words: &[&str], phrases: &[&[&str]]) -> Plan {
        let stems = |words: &[&str]| words.iter().map(|w| analysis::stem(w)).collect::<Vec<_>>();
        Plan {
            query: Box::new(tantivy::query::AllQuery),
            looser: Vec::new(),
            stems: stems(words).into_iter().collect(),
            phrases: phrases.iter().map(|phrase| stems(phrase)).collect(),
            corrections: Vec::new(),
            blended: Default::default(),
        }
    }

    fn marked<'a>(text: &'a str, plan: &Plan, wanted: usize) -> Vec<&'a str> {
        matching_words(text, plan, 0, None, wanted)
            .into_iter()
            .map(|(start, end)| &text[start..end])
            .collect()
    }

    #[test]
    fn a_word_is_shown_in_lowercase_unless_in_capitals_or_mixed_case() {
        assert_eq!(shown_form("Certidão"), "certidão");
        assert_eq!(shown_form("CNH"), "CNH");
        assert_eq!(shown_form("eSocial"), "eSocial");
        assert_eq!(shown_form("CadÚnico"), "CadÚnico");
    }

    #[test]
    fn comparable_scores_keep_their_order_and_forget_their_last_bits() {
        use super::comparable;
        let scores = [0.0f32, 0.37, 1.0, 1.5, 12.25, 12.2501, 90.0];
        for pair in scores.windows(2) {
            assert!(comparable(pair[0]) <= comparable(pair[1]), "{pair:?}");
        }
        // One bit apart, as two instances may add the same clauses: equal (away from a cut).
        let score = f32::from_bits(12.25f32.to_bits() | 0x5A3);
        for neighbour in [score.to_bits() - 1, score.to_bits() + 1] {
            assert_eq!(comparable(score), comparable(f32::from_bits(neighbour)));
        }
        assert!((comparable(score) - score).abs() <= score / 2048.0);
    }

    #[test]
    fn facet_lists_break_equal_counts_in_alphabetical_order() {
        // More values of one count than are listed, one more frequent, one selected without
        // services, one without a label; labels in the reverse order of the keys, one with an
        // accented initial.
        let mut labels: Vec<String> = (0..130).map(|k| format!("Lugar {:03}", 129 - k)).collect();
        labels[129] = "Água Boa".into();
        labels[5] = "Zona".into();
        let (selected, unlabelled) = (7, 125);
        let keys: Vec<usize> = (0..labels.len()).collect();
        let count = |k: usize| match k {
            5 => 3,
            7 => 0,
            _ => 1,
        };
        let label = |k: &usize| (*k != unlabelled).then(|| labels[*k].as_str());
        let places = super::super::alphabetical_places(&keys, label);
        let listed = list(
            DEFAULT_FACET_VALUES as usize,
            keys.iter().map(|k| (k, count(*k), places[*k])),
            |k| Some((Cow::Owned(k.to_string()), label(k)?)),
            |k| *k == selected,
        );
        // What a full sort of every value gives.
        let mut expected: Vec<usize> = keys
            .iter()
            .copied()
            .filter(|k| (count(*k) > 0 || *k == selected) && *k != unlabelled)
            .collect();
        expected.sort_by_key(|k| {
            let rank = (*k != selected, std::cmp::Reverse(count(*k)));
            (rank, analysis::fold(&labels[*k]))
        });
        // 129 are listable: the selected one and the 128 labelled ones with a count.
        assert_eq!(listed.more, 129 - u64::from(DEFAULT_FACET_VALUES));
        let listed = listed.values;
        expected.truncate(DEFAULT_FACET_VALUES as usize);
        let label_of = |v: &FacetValue| v.label.clone();
        assert_eq!(
            listed.iter().map(label_of).collect::<Vec<_>>(),
            expected
                .iter()
                .map(|k| labels[*k].clone())
                .collect::<Vec<_>>()
        );
        assert!(listed[0].selected && listed[0].count == 0);
        assert_eq!(listed[1].label, "Zona");
        assert_eq!(listed[2].label, "Água Boa");
        assert_eq!(listed[3].label, "Lugar 001");
        assert!(!listed.iter().any(|v| v.label == labels[unlabelled]));
    }

    #[test]
    fn words_and_whole_phrases_are_marked_in_order() {
        let text = "Carteira de Identidade, segunda via, e carteira de motorista";
        let plan = plan(&["via"], &[&["carteira", "identidade"]]);
        assert_eq!(
            marked(text, &plan, usize::MAX),
            vec!["Carteira", "Identidade", "via"]
        );
        // A phrase begun before a lone word that matched first still comes first.
        let plan = self::plan(&["identidade"], &[&["carteira", "identidade", "segunda"]]);
        assert_eq!(marked(text, &plan, 1), vec!["Carteira"]);
        assert_eq!(marked("nada aqui", &plan, 1), Vec::<&str>::new());
    }
}
