//! Service search: an in-process tantivy index derived from PostgreSQL.
//!
//! Why not PostgreSQL full-text search: ranking costs PostgreSQL time in proportion to the number
//! of matches (every match is ranked before LIMIT), measured at 2.5-16 ms of database CPU per
//! query, which caps the whole platform at a few hundred searches per second and lets search load
//! slow every other read. An in-memory index ranks with BM25 over compressed posting lists in
//! tens of microseconds, scales with API instances instead of the one database, and gives what
//! SQL cannot do cheaply: typo correction from the index's own vocabulary and prefix completion.
//!
//! PostgreSQL stays the only source of truth. Each instance builds its index at start and follows
//! the `catalogue_changes` log (written by triggers in the writers' transactions), so a publish
//! is searchable on every instance within a poll interval, and at once on the instance whose
//! write path calls [`SearchIndex::catch_up`].

pub mod analysis;
mod disjunction;
pub mod evaluation;
mod follow;
mod plan;
mod results;
mod suggest;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use domain::search::{SearchDocument, SearchVocabulary};
use domain::service::ServiceSummary;
use domain::taxonomy::{ChannelTypeCode, SegmentCode};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STRING,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use uuid::Uuid;

pub use follow::{build, spawn_follower};
pub use plan::synonym_key;
pub use results::{
    CachedPage, CorrectedWord, FacetValue, Facets, FacetsMore, Highlights, SearchHit,
    SearchRequest, SearchResults, SpellingCorrection, DEFAULT_FACET_VALUES, MAX_FACET_VALUES,
};
pub use suggest::{Suggested, Suggestion};

use analysis::{Form, PortugueseTokenizer};
use plan::Synonyms;

const STEM_TOKENIZER: &str = "pt_stem";
const FOLD_TOKENIZER: &str = "pt_fold";
/// Memory tantivy may use while indexing, split among its threads.
const WRITER_MEMORY: usize = 120_000_000;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index lock poisoned")]
    Poisoned,
    #[error(transparent)]
    Store(#[from] persistence::StoreError),
}

/// The tantivy fields.
#[derive(Clone, Copy)]
pub struct Fields {
    id: Field,
    ord: Field,
    name: Field,
    popular: Field,
    keywords: Field,
    description: Field,
    details: Field,
    /// Folded words of the name, popular names, keywords and description: the vocabulary that
    /// typo corrections and completions are taken from.
    words: Field,
}

impl Fields {
    /// Text fields and how much a match in each counts.
    fn text_weighted(&self) -> [(Field, f32); 5] {
        [
            (self.name, 6.0),
            (self.popular, 5.0),
            (self.keywords, 3.0),
            (self.description, 1.5),
            (self.details, 0.5),
        ]
    }

    /// Fields where the exact phrase typed earns a bonus.
    fn phrase_weighted(&self) -> [(Field, f32); 3] {
        [
            (self.name, 6.0),
            (self.popular, 5.0),
            (self.description, 1.5),
        ]
    }
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let stemmed = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(STEM_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    // Steps and documents are long and never matched as phrases: no positions.
    let stemmed_without_positions = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(STEM_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let folded = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(FOLD_TOKENIZER)
            .set_index_option(IndexRecordOption::Basic),
    );
    let fields = Fields {
        id: builder.add_text_field("id", STRING),
        ord: builder.add_u64_field("ord", FAST),
        name: builder.add_text_field("name", stemmed.clone()),
        popular: builder.add_text_field("popular", stemmed.clone()),
        // Keywords and details are also stored (compressed, not in `Store`): only the hits that
        // matched nothing else shown read them, to say why they matched.
        keywords: builder.add_text_field("keywords", stemmed.clone().set_stored()),
        description: builder.add_text_field("description", stemmed.clone()),
        details: builder.add_text_field("details", stemmed_without_positions.set_stored()),
        words: builder.add_text_field("words", folded),
    };
    (builder.build(), fields)
}

/// Assigns small dense numbers to ids, so facet counts are arrays rather than maps.
#[derive(Default)]
struct Interner<K: std::hash::Hash + Eq + Copy> {
    numbers: HashMap<K, u32>,
    keys: Vec<K>,
}

impl<K: std::hash::Hash + Eq + Copy> Interner<K> {
    fn intern(&mut self, key: K) -> u32 {
        if let Some(number) = self.numbers.get(&key) {
            return *number;
        }
        let number = self.keys.len() as u32;
        self.keys.push(key);
        self.numbers.insert(key, number);
        number
    }

    fn get(&self, key: &K) -> Option<u32> {
        self.numbers.get(key).copied()
    }

    fn len(&self) -> usize {
        self.keys.len()
    }
}

/// The positions in `all` of `values`, as bits: facets count with them per match.
fn bits<T: PartialEq>(all: &[T], values: &[T]) -> u32 {
    all.iter()
        .enumerate()
        .filter(|(_, value)| values.contains(value))
        .fold(0, |bits, (i, _)| bits | 1 << i)
}

/// The bit of `value` in [`bits`].
fn bit<T: PartialEq>(all: &[T], value: &T) -> u32 {
    all.iter().position(|v| v == value).map_or(0, |i| 1 << i)
}

/// The first eight bytes of `key`, zero-padded, as a number: ordered as the keys are (a prefix
/// never sorts after a longer key).
fn name_prefix(key: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let len = key.len().min(8);
    bytes[..len].copy_from_slice(&key.as_bytes()[..len]);
    u64::from_be_bytes(bytes)
}

/// A service as the index keeps it in memory, next to its tantivy document.
struct Indexed {
    summary: ServiceSummary,
    description: String,
    /// Folded name: the tie-break after the score.
    name_key: String,
    organization: u32,
    topics: Vec<u32>,
    life_events: Vec<Uuid>,
    /// Bit i: `SegmentCode::ALL[i]`.
    segments: u32,
    /// Bit i: `ChannelTypeCode::ALL[i]`.
    channels: u32,
    municipalities: Vec<u32>,
    statewide: bool,
    free: Option<bool>,
    digital: bool,
}

/// What filters and facets read of a service, packed: a search walks this for every match, so it
/// is kept in one contiguous array by `ord` (the full `Indexed` records are scattered on the heap,
/// and chasing them cost a fifth of a broad search's time).
#[derive(Debug, Clone, Copy, Default)]
struct FacetRow {
    organization: u32,
    segments: u32,
    channels: u32,
    /// Topic numbers, in `Store::lists`.
    topics: Span,
    /// Municipality numbers, in `Store::lists`.
    municipalities: Span,
    flags: u8,
    /// The popularity boost's step (see `popularity::Boosts`), here so that ranking every match
    /// reads it from the row it already holds rather than looking the service up.
    boost: u8,
}

#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn of(lists: &[u32], span: Span) -> &[u32] {
        lists
            .get(span.start as usize..(span.start + span.len) as usize)
            .unwrap_or(&[])
    }
}

impl FacetRow {
    const LIVE: u8 = 1;
    const STATEWIDE: u8 = 2;
    const DIGITAL: u8 = 4;
    const FREE_KNOWN: u8 = 8;
    const FREE: u8 = 16;

    fn new(doc: &Indexed, lists: &mut Vec<u32>) -> FacetRow {
        let mut span = |values: &[u32]| {
            let start = lists.len() as u32;
            lists.extend_from_slice(values);
            Span {
                start,
                len: values.len() as u32,
            }
        };
        let mut flags = FacetRow::LIVE;
        for (on, flag) in [
            (doc.statewide, FacetRow::STATEWIDE),
            (doc.digital, FacetRow::DIGITAL),
            (doc.free.is_some(), FacetRow::FREE_KNOWN),
            (doc.free == Some(true), FacetRow::FREE),
        ] {
            if on {
                flags |= flag;
            }
        }
        FacetRow {
            organization: doc.organization,
            segments: doc.segments,
            channels: doc.channels,
            topics: span(&doc.topics),
            municipalities: span(&doc.municipalities),
            flags,
            boost: 0,
        }
    }

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn free(&self) -> Option<bool> {
        self.has(FacetRow::FREE_KNOWN)
            .then(|| self.has(FacetRow::FREE))
    }
}

/// Slugs and names of organizations or taxa, for filters and facet labels.
#[derive(Default)]
pub(super) struct Names {
    /// By slug.
    ids: HashMap<String, Uuid>,
    /// Slug and name by id.
    names: HashMap<Uuid, (String, String)>,
}

impl Names {
    fn new<'a>(taxa: impl IntoIterator<Item = &'a domain::taxonomy::TaxonRef>) -> Names {
        let mut names = Names::default();
        for taxon in taxa {
            names.ids.insert(taxon.slug.clone(), taxon.id);
            names
                .names
                .insert(taxon.id, (taxon.slug.clone(), taxon.name.clone()));
        }
        names
    }

    fn name(&self, id: &Uuid) -> Option<&str> {
        self.names.get(id).map(|(_, name)| name.as_str())
    }

    /// An id (any UUID notation) or slug as written in a filter, matched as the list without
    /// `q` matches it.
    fn find(&self, key: &str) -> Option<Uuid> {
        match Uuid::parse_str(key) {
            Ok(id) => self.names.contains_key(&id).then_some(id),
            Err(_) => self.ids.get(key).copied(),
        }
    }
}

/// Each key's place among `keys` in alphabetical order of their labels, as a reader expects it
/// (accents and case folded: "Água Boa" before "Barra"); `u32::MAX` for a key without a label.
/// Facet lists order equal counts by it without reading a label.
fn alphabetical_places<'a, K>(keys: &[K], label: impl Fn(&K) -> Option<&'a str>) -> Vec<u32> {
    let mut labelled: Vec<(String, &str, usize)> = keys
        .iter()
        .enumerate()
        .filter_map(|(number, key)| {
            let label = label(key)?;
            Some((analysis::fold(label), label, number))
        })
        .collect();
    labelled.sort_unstable();
    let mut places = vec![u32::MAX; keys.len()];
    for (place, (_, _, number)) in labelled.into_iter().enumerate() {
        if let Some(slot) = places.get_mut(number) {
            *slot = place as u32;
        }
    }
    places
}

/// [`alphabetical_places`] of the interned organizations, topics and municipalities, by number.
#[derive(Default)]
struct LabelPlaces {
    organizations: Vec<u32>,
    topics: Vec<u32>,
    municipalities: Vec<u32>,
}

impl LabelPlaces {
    /// The place of `number` in `places`; one interned since the last ordering has none yet.
    fn of(places: &[u32], number: usize) -> u32 {
        places.get(number).copied().unwrap_or(u32::MAX)
    }
}

/// Everything searches read besides tantivy, behind one lock.
#[derive(Default)]
struct Store {
    /// By `ord`, the number stored in the tantivy document. Replaced services leave `None`.
    docs: Vec<Option<Arc<Indexed>>>,
    /// By `ord`, what filters and facets read; a replaced service's row is no longer `LIVE`.
    rows: Vec<FacetRow>,
    /// By `ord`, the first bytes of the folded name, big-endian: ordering by name compares these
    /// before any whole name.
    name_prefixes: Vec<u64>,
    /// The lists the rows' spans point into (replaced rows leave theirs until a restart).
    lists: Vec<u32>,
    ords: HashMap<Uuid, u32>,
    organizations: Interner<Uuid>,
    topics: Interner<Uuid>,
    municipalities: Interner<i32>,
    organization_names: Names,
    topic_names: Names,
    life_event_names: Names,
    /// "Cuiabá (MT)" by IBGE code.
    municipality_names: HashMap<i32, String>,
    /// Where each organization, topic and municipality falls in alphabetical order of labels.
    label_places: LabelPlaces,
    synonyms: Option<Arc<Synonyms>>,
    suggest: suggest::SuggestIndex,
}

impl Store {
    fn set_vocabulary(&mut self, vocabulary: SearchVocabulary) {
        self.synonyms = Some(Arc::new(Synonyms::new(&vocabulary.synonyms)));
        self.organization_names = Names::new(&vocabulary.organizations);
        self.topic_names = Names::new(vocabulary.topics.iter().map(|(taxon, _)| taxon));
        self.life_event_names = Names::new(&vocabulary.life_events);
        self.municipality_names = vocabulary
            .municipalities
            .iter()
            .map(|m| (m.ibge_code, format!("{} ({})", m.name, m.state)))
            .collect();
        self.label_places = LabelPlaces::default();
        self.place_labels();
    }

    /// Orders the labels again when a key was interned since last time (rare: a new organization,
    /// topic or municipality). New labels are ordered because `set_vocabulary` empties the places
    /// before it calls this.
    fn place_labels(&mut self) {
        let places = &self.label_places;
        if places.organizations.len() == self.organizations.len()
            && places.topics.len() == self.topics.len()
            && places.municipalities.len() == self.municipalities.len()
        {
            return;
        }
        self.label_places = LabelPlaces {
            organizations: alphabetical_places(&self.organizations.keys, |id| {
                self.organization_names.name(id)
            }),
            topics: alphabetical_places(&self.topics.keys, |id| self.topic_names.name(id)),
            municipalities: alphabetical_places(&self.municipalities.keys, |code| {
                self.municipality_names.get(code).map(String::as_str)
            }),
        };
    }

    fn intern(&mut self, document: &SearchDocument) -> Indexed {
        let summary = &document.summary;
        Indexed {
            name_key: analysis::fold(&summary.name),
            organization: self.organizations.intern(summary.organization.id),
            topics: document
                .topic_ids
                .iter()
                .map(|id| self.topics.intern(*id))
                .collect(),
            life_events: document.life_event_ids.clone(),
            segments: bits(SegmentCode::ALL, &document.segments),
            channels: bits(ChannelTypeCode::ALL, &summary.channel_types),
            municipalities: document
                .municipalities
                .iter()
                .map(|code| self.municipalities.intern(*code))
                .collect(),
            statewide: document.statewide,
            free: summary.free,
            digital: summary.digital,
            description: document.description.clone(),
            summary: summary.clone(),
        }
    }
}

pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    store: RwLock<Store>,
    /// Bumped by every change; cached answers of older generations are never served.
    generation: AtomicU64,
    /// When this instance last saw the catalogue change (Unix seconds): the `Last-Modified` of
    /// every answer derived from it.
    modified_at: AtomicU64,
    cache: results::ResultCache,
    follow: tokio::sync::Mutex<follow::FollowState>,
    /// Page views per service: the `popular` order. Swapped whole, so a search reads it without
    /// a lock or an allocation.
    popularity: arc_swap::ArcSwap<crate::popularity::Scores>,
    /// The mild boost of relevance by popularity, in steps; swapped only when a step changes.
    boosts: arc_swap::ArcSwap<crate::popularity::Boosts>,
}

/// How an instance keeps its index.
#[derive(Debug, Clone, Copy)]
pub struct SearchSettings {
    /// Polling interval of the change log: the delay before a change made by another instance
    /// is searchable here.
    pub follow_every: std::time::Duration,
    /// Memory for rendered answers to repeated searches; 0 disables the cache.
    pub cache_bytes: u64,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            follow_every: std::time::Duration::from_millis(500),
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

impl SearchIndex {
    /// An empty index; [`build`] fills one from the database.
    pub fn new(settings: &SearchSettings) -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        index
            .tokenizers()
            .register(STEM_TOKENIZER, PortugueseTokenizer(Form::Stem));
        index
            .tokenizers()
            .register(FOLD_TOKENIZER, PortugueseTokenizer(Form::Folded));
        let writer = index.writer_with_num_threads(2, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            reader,
            writer: Mutex::new(writer),
            fields,
            store: RwLock::new(Store::default()),
            generation: AtomicU64::new(0),
            modified_at: AtomicU64::new(crate::http_caching::unix_seconds(
                std::time::SystemTime::now(),
            )),
            cache: results::ResultCache::new(settings.cache_bytes),
            follow: tokio::sync::Mutex::new(follow::FollowState::default()),
            popularity: arc_swap::ArcSwap::from_pointee(Default::default()),
            boosts: arc_swap::ArcSwap::from_pointee(Default::default()),
        })
    }

    fn tantivy_document(&self, ord: u32, document: &SearchDocument) -> TantivyDocument {
        let f = &self.fields;
        let summary = &document.summary;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, summary.id.to_string());
        doc.add_u64(f.ord, u64::from(ord));
        doc.add_text(f.name, &summary.name);
        doc.add_text(f.words, &summary.name);
        for popular in summary.popular_names.iter().chain(summary.acronym.iter()) {
            doc.add_text(f.popular, popular);
            doc.add_text(f.words, popular);
        }
        for keyword in &document.keywords {
            doc.add_text(f.keywords, keyword);
            doc.add_text(f.words, keyword);
        }
        doc.add_text(f.description, &document.description);
        doc.add_text(f.words, &document.description);
        doc.add_text(f.details, &document.details);
        doc
    }

    /// Queues new copies of `documents` (published services) and the removal of `removed` (no
    /// longer public). Returns the ords the change makes stale, for [`SearchIndex::publish`].
    fn stage(
        &self,
        documents: Vec<SearchDocument>,
        removed: &[Uuid],
    ) -> Result<Vec<u32>, SearchError> {
        let writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        let mut stale = Vec::new();
        let mut added = Vec::with_capacity(documents.len());
        {
            // Searches wait for this lock: it is held for the in-memory part only, not while
            // tantivy (whose queue may be full) takes the documents.
            let mut store = self.store.write().map_err(|_| SearchError::Poisoned)?;
            for id in removed
                .iter()
                .chain(documents.iter().map(|d| &d.summary.id))
            {
                if let Some(ord) = store.ords.remove(id) {
                    stale.push((*id, ord));
                    store.suggest.remove(ord);
                }
            }
            let boosts = self.boosts.load();
            for document in &documents {
                let ord = store.docs.len() as u32;
                let indexed = store.intern(document);
                store.suggest.add(ord, &indexed.summary);
                let mut row = FacetRow::new(&indexed, &mut store.lists);
                row.boost = boosts.level(&document.summary.id);
                store.rows.push(row);
                store.name_prefixes.push(name_prefix(&indexed.name_key));
                store.docs.push(Some(Arc::new(indexed)));
                store.ords.insert(document.summary.id, ord);
                added.push(ord);
            }
        }
        for (id, _) in &stale {
            writer.delete_term(Term::from_field_text(self.fields.id, &id.to_string()));
        }
        for (ord, document) in added.into_iter().zip(&documents) {
            writer.add_document(self.tantivy_document(ord, document))?;
        }
        Ok(stale.into_iter().map(|(_, ord)| ord).collect())
    }

    /// Commits what was staged and makes it visible to searches.
    fn publish(&self, stale: Vec<u32>) -> Result<(), SearchError> {
        self.writer
            .lock()
            .map_err(|_| SearchError::Poisoned)?
            .commit()?;
        // Before the new documents are visible: their facet values must have places to be listed.
        self.store
            .write()
            .map_err(|_| SearchError::Poisoned)?
            .place_labels();
        self.reader.reload()?;
        // Searches that began before the reload may still meet the stale ords: they skip them.
        let mut store = self.store.write().map_err(|_| SearchError::Poisoned)?;
        for ord in stale {
            if let Some(slot) = store.docs.get_mut(ord as usize) {
                *slot = None;
            }
            if let Some(row) = store.rows.get_mut(ord as usize) {
                row.flags &= !FacetRow::LIVE;
            }
        }
        drop(store);
        self.invalidate();
        Ok(())
    }

    fn set_vocabulary(&self, vocabulary: SearchVocabulary) -> Result<(), SearchError> {
        self.store
            .write()
            .map_err(|_| SearchError::Poisoned)?
            .set_vocabulary(vocabulary);
        self.invalidate();
        Ok(())
    }

    fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.cache.clear();
        // After the change is visible: an answer is never dated later than its content.
        self.modified_at.fetch_max(
            crate::http_caching::unix_seconds(std::time::SystemTime::now()),
            Ordering::SeqCst,
        );
    }

    /// Drops every rendered answer: something they show besides the catalogue changed (the
    /// citizens' vote totals, see `opinion`).
    pub fn invalidate_answers(&self) {
        self.invalidate();
    }

    /// When this instance last saw the catalogue change.
    pub fn modified_at(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(self.modified_at.load(Ordering::SeqCst))
    }

    /// The page views `sort=popular` searches order by.
    pub fn popularity(&self) -> Arc<crate::popularity::Scores> {
        self.popularity.load_full()
    }

    pub fn set_popularity(&self, scores: Arc<crate::popularity::Scores>) {
        self.popularity.store(scores);
    }

    /// The boosts searches ranked by relevance use.
    pub fn boosts(&self) -> Arc<crate::popularity::Boosts> {
        self.boosts.load_full()
    }

    pub fn set_boosts(&self, boosts: Arc<crate::popularity::Boosts>) {
        // Stored first: a service staged meanwhile takes its step from the new boosts, and one
        // staged before is updated below.
        self.boosts.store(boosts.clone());
        if let Ok(mut store) = self.store.write() {
            let Store { ords, rows, .. } = &mut *store;
            for (id, ord) in ords.iter() {
                if let Some(row) = rows.get_mut(*ord as usize) {
                    row.boost = boosts.level(id);
                }
            }
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Published services in the index.
    pub fn len(&self) -> usize {
        self.store.read().map(|store| store.ords.len()).unwrap_or(0)
    }

    /// Tantivy segments searches walk (each adds its own term lookups to every search).
    pub fn segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::name_prefix;

    #[test]
    fn name_prefixes_order_as_the_names() {
        let mut names = [
            "emissao de certidao",
            "emissao de carteira",
            "emissao",
            "emiss",
            "",
            "obter passaporte em sorriso",
            "obter passaporte",
            "z",
            "aa",
        ];
        names.sort();
        for pair in names.windows(2) {
            assert!(
                name_prefix(pair[0]) <= name_prefix(pair[1]),
                "{} / {}",
                pair[0],
                pair[1]
            );
        }
        assert!(name_prefix("emiss") < name_prefix("emissao"));
    }
}
