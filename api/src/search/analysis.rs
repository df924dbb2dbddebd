//! Portuguese text analysis shared by indexing, querying and highlighting, so the three agree.
//!
//! Words are lowercased and stripped of accents ("Emissão" = "emissao"), plurals are reduced by
//! rules Snowball lacks ("certidões" → "certidão"), then stemmed by Snowball's Portuguese
//! stemmer. Stopwords take no position, so "carteira de identidade" is a phrase of two words.

use ahash::AHashMap;
use rust_stemmers::{Algorithm, Stemmer};
use std::cell::RefCell;
use std::sync::LazyLock;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Portuguese));

/// Articles, prepositions and conjunctions: they carry no meaning a search can use.
const STOPWORDS: &[&str] = &[
    "a", "o", "as", "os", "um", "uma", "uns", "umas", "de", "da", "do", "das", "dos", "e", "em",
    "na", "no", "nas", "nos", "para", "pra", "pro", "por", "pelo", "pela", "pelos", "pelas", "com",
    "ao", "aos", "que", "se", "ou", "meu", "minha", "meus", "minhas", "seu", "sua",
];

/// Verbs and words citizens put around what they want ("como tirar", "quero fazer"): they count
/// when present, but a service need not contain them.
const WEAK_WORDS: &[&str] = &[
    "como",
    "tirar",
    "fazer",
    "quero",
    "preciso",
    "onde",
    "pedir",
    "solicitar",
    "obter",
    "conseguir",
    "consultar",
    "ver",
    "ser",
    "faco",
    "posso",
    "sou",
    "estou",
    "foi",
    "eu",
    "me",
    "quanto",
    "custa",
    // Not a stopword: without it, "sem custo" (free) read as "custo", and "quanto custa" found
    // every free service.
    "sem",
    "saber",
    "qual",
    "quais",
    "quando",
    "pagar",
    "gerar",
    "emitir",
    // "cadê" (where is): folded, it is the competition authority's acronym.
    "cade",
    "meu",
    "minha",
    "online",
    "internet",
    "site",
    "gov",
    "governo",
];

/// The longest stopword's length: every word is checked, and most are longer.
const STOPWORD_LEN_MAX: usize = {
    let mut max = 0;
    let mut index = 0;
    while index < STOPWORDS.len() {
        if STOPWORDS[index].len() > max {
            max = STOPWORDS[index].len();
        }
        index += 1;
    }
    max
};

pub fn is_stopword(folded: &str) -> bool {
    folded.len() <= STOPWORD_LEN_MAX && STOPWORDS.contains(&folded)
}

pub fn is_weak(folded: &str) -> bool {
    WEAK_WORDS.contains(&folded)
}

/// The most frequent words of Portuguese, folded and sorted (`common_words.py` writes them). A
/// citizen who types one that no service has means it, not a catalogue word one letter away:
/// "sabe" is not "cabe", "ontem" not "contém", "tarde" not "trade".
static COMMON_WORDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    include_str!("common_words.txt")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect()
});

/// A word the citizen means as typed, never read as a typo of another: a number ("8112", a law,
/// is not "812") or a common word of the language.
pub fn is_meant(folded: &str) -> bool {
    folded.bytes().all(|b| b.is_ascii_digit()) || COMMON_WORDS.binary_search(&folded).is_ok()
}

/// Lowercase without accents: the one accent folding of the project (search and slugs).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        fold_char(ch, &mut out);
    }
    out
}

fn fold_char(ch: char, out: &mut String) {
    if ch.is_ascii() {
        out.push(ch.to_ascii_lowercase());
        return;
    }
    if is_ignorable(ch) {
        return;
    }
    // Fullwidth forms ("ｃｐｆ", from some phone keyboards) are the ASCII they look like.
    if ('\u{FF01}'..='\u{FF5E}').contains(&ch) {
        if let Some(ascii) = char::from_u32(ch as u32 - 0xFEE0) {
            out.push(ascii.to_ascii_lowercase());
            return;
        }
    }
    for lower in ch.to_lowercase() {
        let folded = match lower {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ª' => "a",
            'ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'º' | '°' => "o",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ý' | 'ÿ' => "y",
            'æ' => "ae",
            'œ' => "oe",
            'ß' => "ss",
            other => {
                out.push(other);
                continue;
            }
        };
        out.push_str(folded);
    }
}

/// Plural endings Snowball leaves apart from their singular ("certidoes" vs "certidao").
fn singular(word: &str) -> std::borrow::Cow<'_, str> {
    const RULES: &[(&str, &str)] = &[
        ("oes", "ao"),
        ("aes", "ao"),
        ("ais", "al"),
        ("eis", "el"),
        ("ois", "ol"),
        ("uis", "ul"),
        ("ns", "m"),
    ];
    if word.len() > 4 {
        for (plural, singular) in RULES {
            if let Some(stem) = word.strip_suffix(plural) {
                return format!("{stem}{singular}").into();
            }
        }
    }
    word.into()
}

/// A word without its plural ending, for words Snowball would cut too short to keep apart:
/// "casas" → "casa", "meses" → "mes", "cores" → "cor" (the plural of a word ending in r, z, s
/// or l adds "es").
fn without_plural(word: &str) -> &str {
    if let Some(stem) = word.strip_suffix("es") {
        if stem.len() >= 2 && stem.ends_with(['r', 'z', 's', 'l']) {
            return stem;
        }
    }
    word.strip_suffix('s').unwrap_or(word)
}

/// The singular of a plural acronym ("rgs", "cpfs", "cnhs"): a folded word of three or more
/// letters, none a vowel, ending in "s". Only for reading a query: indexed, "nfs" (of NFS-e)
/// would become "nf" (of NF-e).
pub fn acronym_singular(folded: &str) -> Option<&str> {
    let singular = folded.strip_suffix('s')?;
    let acronym = singular.len() >= 2
        && singular
            .bytes()
            .all(|b| b.is_ascii_lowercase() && !b"aeiouy".contains(&b));
    acronym.then_some(singular)
}

/// The singular of a four-letter plural of a three-letter word, which Snowball leaves whole
/// (`word` is such a word, as Snowball left it):
/// "vias" → "via", "dias" → "dia", "leis" → "lei". Only "as" and "eis": a word in "is" or "us" is
/// as often singular ("país" is not "pai", "ônus" not "ONU").
fn plural_of_three_letters(word: &str) -> Option<String> {
    let plural = word.len() == 4 && (word.ends_with("as") || word.ends_with("eis"));
    plural.then(|| word[..3].to_owned())
}

/// Words Snowball stems into another word's family where citizens mean something else, with
/// the stem they get instead (as Lucene's `StemmerOverrideFilter`), found as typed or by their
/// singular. Each was found by trying citizens' searches on the federal catalogue: "medicamento"
/// was cut as "médico", "remediador" (of polluted soil) as "remédio", "grávida" and "gravidez" as
/// "grave" and "gravar", "marca" (trademark) as "marcar" (to book an appointment), "parto" as
/// "parte", "leito" as "leite", "reservista" as "reserva", "mortis" (causa mortis) as "morte",
/// "loas" as "LOA" (the budget law), "livro" as "livre" (Passe Livre came first for books),
/// "motorista" as "motor" (engine licences for an app driver), "porte" (de arma) as "porto",
/// "licenciamento" (of a vehicle) as "licença" (every licence);
/// "autismo" did not meet "autista".
fn stem_override(folded: &str, singular: &str) -> Option<&'static str> {
    const OVERRIDES: &[(&str, &str)] = &[
        ("medicamento", "medicament"),
        ("remediador", "remediador"),
        ("remediadora", "remediador"),
        ("gravida", "gravid"),
        ("gravidez", "gravid"),
        ("marca", "marca"),
        ("parto", "parto"),
        ("leito", "leito"),
        ("reservista", "reservista"),
        ("mortis", "mortis"),
        ("loas", "loas"),
        ("autismo", "autist"),
        ("livro", "livro"),
        ("livre", "livre"),
        ("livres", "livre"),
        ("motorista", "motorist"),
        ("porte", "porte"),
        ("licenciamento", "licenciament"),
        ("licenciar", "licenciament"),
    ];
    OVERRIDES
        .iter()
        .find(|(word, _)| *word == folded || *word == singular)
        .map(|(_, stem)| *stem)
}

/// Stems remembered per thread: a catalogue repeats the same few tens of thousands of words, and
/// Snowball is most of the cost of indexing.
const MEMO_WORDS: usize = 200_000;

thread_local! {
    // aHash: it runs for every word indexed, and is faster than the default hash on short keys
    // while keyed at random as well (queries put their words here too).
    static MEMO: RefCell<AHashMap<String, String>> = RefCell::new(AHashMap::new());
}

/// The stemmed form of one folded word. Short words and words with digits are kept whole:
/// acronyms ("rg", "ir") and codes must not be mangled.
pub fn stem(folded: &str) -> String {
    let mut out = String::new();
    stem_into(folded, &mut out);
    out
}

/// [`stem`], appended to `out`.
pub fn stem_into(folded: &str, out: &mut String) {
    if folded.len() <= 3 || folded.bytes().any(|b| b.is_ascii_digit()) {
        out.push_str(folded);
        return;
    }
    MEMO.with_borrow_mut(|memo| {
        if let Some(stem) = memo.get(folded) {
            out.push_str(stem);
            return;
        }
        let singular = singular(folded);
        if let Some(stem) = stem_override(folded, without_plural(&singular)) {
            out.push_str(stem);
            return;
        }
        let stem = STEMMER.stem(&singular).into_owned();
        // Snowball cuts some short words to three letters, where they meet acronyms and other
        // words kept whole: "meio" would be "mei" (MEI), "cine" "cin" (CIN), "casar" "cas" (as
        // "casa"). Those keep their form, without a plural ending.
        let stem = match stem.len() <= 3 {
            true => without_plural(&singular).to_owned(),
            false if stem == *singular => plural_of_three_letters(&stem).unwrap_or(stem),
            false => stem,
        };
        out.push_str(&stem);
        if memo.len() < MEMO_WORDS {
            memo.insert(folded.to_owned(), stem);
        }
    });
}

/// Letters, digits and the ordinal indicators, also the degree sign phones offer for "º"
/// ("2° via" is "2º via").
fn is_word_char(ch: char) -> bool {
    ch.is_alphanumeric() || matches!(ch, 'ª' | 'º' | '°')
}

/// What may sit inside a word without being part of it: combining accents (text typed on Apple
/// devices or pasted often spells "ã" as "a" plus U+0303), the soft hyphen, the zero-width
/// space and joiners, the invisible operators and the byte order mark. They neither split a word
/// nor survive folding. The zero-width space is a break between words in scripts without spaces;
/// in Portuguese, pasted from a web page or a chat, it sits inside words ("cer\u{200B}tidão").
fn is_ignorable(ch: char) -> bool {
    matches!(
        ch,
        '\u{0300}'..='\u{036F}'
            | '\u{00AD}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
    )
}

/// A word of the text: where it is and its two normal forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Byte offsets in the original text.
    pub start: usize,
    pub end: usize,
    /// Lowercase, no accents.
    pub folded: String,
    pub stem: String,
    /// `None` for stopwords.
    pub position: Option<usize>,
}

/// Splits on anything that is not a letter or digit.
pub fn words(text: &str) -> Vec<Word> {
    words_stemming(text, |_| true)
}

/// [`words`], stemming only the words `worth_stemming` accepts (others get an empty stem):
/// stemming is most of the cost of analysis, and highlighting needs few stems.
pub fn words_stemming(text: &str, worth_stemming: impl Fn(&str) -> bool) -> Vec<Word> {
    let mut out = Vec::new();
    let mut position = 0;
    let mut cursor = 0;
    let mut folded = String::new();
    while let Some((start, end)) = next_word(text, &mut cursor, &mut folded) {
        let is_stop = is_stopword(&folded);
        let stem = match (is_stop, worth_stemming(&folded)) {
            (true, _) => folded.clone(),
            (false, true) => stem(&folded),
            (false, false) => String::new(),
        };
        out.push(Word {
            start,
            end,
            stem,
            folded: folded.clone(),
            position: (!is_stop).then(|| {
                position += 1;
                position - 1
            }),
        });
    }
    out
}

/// The words of `text` but stopwords, folded, not stemmed.
pub fn content_words(text: &str) -> impl Iterator<Item = Word> {
    words_stemming(text, |_| false)
        .into_iter()
        .filter(|w| w.position.is_some())
}

/// `text` with the words at the byte ranges `replaced` (in text order) replaced; `None` when a
/// range is not one of the text's.
pub fn replace_words(text: &str, replaced: &[(std::ops::Range<usize>, String)]) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 8);
    let mut cursor = 0;
    for (range, with) in replaced {
        out.push_str(text.get(cursor..range.start)?);
        out.push_str(with);
        cursor = range.end;
    }
    out.push_str(text.get(cursor..)?);
    Some(out)
}

/// Written with a capital after its first letter and some lowercase ("eSocial", "CadÚnico"): a
/// name's own spelling, not a sentence's.
pub fn is_mixed_case(word: &str) -> bool {
    word.chars().skip(1).any(char::is_uppercase) && word.chars().any(char::is_lowercase)
}

/// `form` (a word as the catalogue writes it) in the case `typed` was: in capitals when typed
/// in capitals, capitalised when typed capitalised, unless written in mixed case ("eSocial").
pub fn in_the_case_of(typed: &str, form: String) -> String {
    let mut letters = typed.chars().filter(|c| c.is_alphabetic());
    let Some(first) = letters.next() else {
        return form;
    };
    let mut rest = letters.peekable();
    let has_more = rest.peek().is_some();
    match (
        first.is_uppercase(),
        has_more && rest.all(char::is_uppercase),
    ) {
        (true, true) => form.to_uppercase(),
        (true, false) if !is_mixed_case(&form) => {
            let mut chars = form.chars();
            chars.next().map_or(form.clone(), |initial| {
                initial.to_uppercase().chain(chars).collect()
            })
        }
        _ => form,
    }
}

/// The words of a text one at a time, with no allocation per word (highlighting scans long
/// descriptions for every hit shown, and usually stops at the first match).
pub struct Scanner<'a> {
    text: &'a str,
    cursor: usize,
    folded: String,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Scanner<'a> {
        Scanner {
            text,
            cursor: 0,
            folded: String::new(),
        }
    }

    /// The next word's byte range and folded form.
    pub fn next_word(&mut self) -> Option<(usize, usize, &str)> {
        let (start, end) = next_word(self.text, &mut self.cursor, &mut self.folded)?;
        Some((start, end, &self.folded))
    }
}

/// The one word splitter: the next word of `text` from `cursor`, its byte range returned, its
/// folded form written to `folded`, and `cursor` moved past it.
fn next_word(text: &str, cursor: &mut usize, folded: &mut String) -> Option<(usize, usize)> {
    folded.clear();
    let mut start = None;
    let mut end = text.len();
    for (offset, ch) in text[*cursor..].char_indices() {
        if is_word_char(ch) {
            if start.is_none() {
                start = Some(*cursor + offset);
            }
            fold_char(ch, folded);
        } else if (start.is_some() && is_ignorable(ch))
            || (ch == '.' && is_thousands_separator(folded, &text[*cursor + offset + 1..]))
        {
            continue;
        } else if start.is_some() {
            end = *cursor + offset;
            break;
        }
    }
    *cursor = if start.is_some() { end } else { text.len() };
    Some((start?, end))
}

/// A dot between a number's digits and three more, then no digit: "Lei nº 8.112" is "8112", as
/// citizens type it, and a pasted "123.456.789-00" is one number before its check digits.
fn is_thousands_separator(before: &str, after: &str) -> bool {
    let after = after.as_bytes();
    before.ends_with(|ch: char| ch.is_ascii_digit())
        && after.len() >= 3
        && after[..3].iter().all(u8::is_ascii_digit)
        && !after.get(3).is_some_and(u8::is_ascii_digit)
}

/// Which normal form a tantivy field indexes.
#[derive(Debug, Clone, Copy)]
pub enum Form {
    /// For matching by meaning: stems with positions.
    Stem,
    /// For typo and prefix matching: whole folded words.
    Folded,
}

/// The analysis above as a tantivy tokenizer, streaming: one token buffer reused for every word.
#[derive(Debug, Clone, Copy)]
pub struct PortugueseTokenizer(pub Form);

pub struct WordStream<'a> {
    text: &'a str,
    cursor: usize,
    position: usize,
    form: Form,
    folded: String,
    token: Token,
}

impl Tokenizer for PortugueseTokenizer {
    type TokenStream<'a> = WordStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream<'a> {
        WordStream {
            text,
            cursor: 0,
            position: 0,
            form: self.0,
            folded: String::new(),
            token: Token::default(),
        }
    }
}

impl TokenStream for WordStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            let Some((start, end)) = next_word(self.text, &mut self.cursor, &mut self.folded)
            else {
                return false;
            };
            if is_stopword(&self.folded) {
                continue;
            }
            let token = &mut self.token;
            token.offset_from = start;
            token.offset_to = end;
            token.position = self.position;
            token.position_length = 1;
            self.position += 1;
            token.text.clear();
            match self.form {
                Form::Stem => stem_into(&self.folded, &mut token.text),
                Form::Folded => token.text.push_str(&self.folded),
            }
            return true;
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(text: &str) -> Vec<String> {
        words(text)
            .into_iter()
            .filter(|w| w.position.is_some())
            .map(|w| w.stem)
            .collect()
    }

    #[test]
    fn plural_accent_and_case_agree() {
        assert_eq!(stems("Certidões"), stems("certidao"));
        assert_eq!(stems("EMISSÃO"), stems("emissoes"));
        assert_eq!(stems("declarações"), stems("Declaração"));
        assert_eq!(stems("benefícios"), stems("beneficio"));
        assert_eq!(stems("imóveis"), stems("imovel"));
    }

    #[test]
    fn stopwords_take_no_position() {
        let words = words("Carteira de Identidade");
        assert_eq!(words[0].position, Some(0));
        assert_eq!(words[1].position, None);
        assert_eq!(words[2].position, Some(1));
        assert_eq!(
            &"Carteira de Identidade"[words[2].start..words[2].end],
            "Identidade"
        );
    }

    #[test]
    fn the_tokenizer_agrees_with_words() {
        let text = "Emissão da 2ª via de Certidões, já!";
        let mut tokenizer = PortugueseTokenizer(Form::Stem);
        let mut stream = tokenizer.token_stream(text);
        let mut tokens = Vec::new();
        while stream.advance() {
            let token = stream.token();
            tokens.push((
                token.text.clone(),
                token.position,
                token.offset_from,
                token.offset_to,
            ));
        }
        let expected: Vec<_> = words(text)
            .into_iter()
            .filter_map(|w| Some((w.stem, w.position?, w.start, w.end)))
            .collect();
        assert_eq!(tokens, expected);
    }

    #[test]
    fn decomposed_accents_fullwidth_and_invisible_characters_fold_away() {
        // "certidões" as Apple keyboards may send it: "o" followed by a combining tilde.
        assert_eq!(stems("certido\u{303}es"), stems("certidões"));
        assert_eq!(stems("declarac\u{327}a\u{303}o"), stems("declaração"));
        assert_eq!(stems("ｃｐｆ"), stems("cpf"));
        assert_eq!(stems("habili\u{AD}tação\u{200D}"), stems("habilitação"));
        assert_eq!(stems("cer\u{200B}tidão"), stems("certidão"));
        assert_eq!(stems("passa\u{2063}porte"), stems("passaporte"));
        assert_eq!(fold("Emissa\u{303}o"), "emissao");
        // An invisible character between words is not a word.
        assert_eq!(stems("rg \u{200B} cpf"), stems("rg cpf"));
    }

    #[test]
    fn short_words_do_not_meet_acronyms_once_stemmed() {
        // Snowball would make "meio" "mei", the acronym of the microentrepreneur.
        assert_ne!(stems("meio"), stems("MEI"));
        assert_ne!(stems("cine"), stems("CIN"));
        assert_ne!(stems("casar"), stems("casa"));
        // Their plurals still meet them, also those in "es" and "ões".
        for (plural, singular) in [
            ("meios", "meio"),
            ("casas", "casa"),
            ("meses", "mês"),
            ("cores", "cor"),
            ("luzes", "luz"),
            ("gases", "gás"),
            ("leões", "leão"),
            ("redes", "rede"),
            ("vias", "via"),
            ("dias", "dia"),
            ("leis", "lei"),
        ] {
            assert_eq!(stems(plural), stems(singular), "{plural}");
        }
        // Four letters in "is" or "us" are as often singular.
        for (singular, other) in [("país", "pai"), ("ônus", "ONU")] {
            assert_ne!(stems(singular), stems(other), "{singular}");
        }
    }

    #[test]
    fn words_snowball_puts_in_another_family_keep_their_own() {
        for (word, other) in [
            ("medicamento", "médico"),
            ("remediadores", "remédio"),
            ("grávida", "graves"),
            ("gravidez", "gravar"),
            ("marca", "marcar"),
            ("parto", "parte"),
            ("leitos", "leite"),
            ("reservista", "reserva"),
            ("mortis", "morte"),
            ("LOAS", "LOA"),
            ("livros", "livre"),
            ("motorista", "motores"),
            ("porte", "porto"),
            ("licenciamento", "licença"),
        ] {
            assert_ne!(stems(word), stems(other), "{word}");
        }
        for (word, same) in [
            ("medicamentos", "medicamento"),
            ("remediadores", "remediador"),
            ("remediadoras", "remediador"),
            ("grávidas", "gravidez"),
            ("marcas", "marca"),
            ("autismo", "autista"),
            ("livros", "livro"),
            ("livres", "livre"),
            ("motoristas", "motorista"),
            ("portes", "porte"),
            ("licenciar", "licenciamento"),
            // The rest of each family still meets.
            ("médicos", "médica"),
            ("remédios", "remédio"),
            ("marcar", "marcado"),
            ("partes", "parte"),
        ] {
            assert_eq!(stems(word), stems(same), "{word}");
        }
    }

    #[test]
    fn acronyms_and_codes_stay_whole() {
        assert_eq!(stems("RG 2ª via"), vec!["rg", "2a", "via"]);
        assert_eq!(stems("2° via"), stems("2º via"));
    }

    #[test]
    fn a_number_is_one_word_across_its_thousands_separators() {
        assert_eq!(stems("Lei nº 8.112, de 1990."), vec!["lei", "8112", "1990"]);
        assert_eq!(stems("R$ 1.500.000,00"), vec!["r", "1500000", "00"]);
        assert_eq!(stems("123.456.789-00"), vec!["123456789", "00"]);
        let text = "Decreto 9.094.";
        let word = &words(text)[1];
        assert_eq!(&text[word.start..word.end], "9.094");
        // Not three digits after the dot: a date, a version, a sentence's end.
        assert_eq!(stems("10.12.2020"), vec!["10", "12", "2020"]);
        assert_eq!(stems("versão 1.2345")[1..], ["1", "2345"]);
        assert_eq!(stems("art. 7. 123"), vec!["art", "7", "123"]);
    }

    #[test]
    fn common_words_are_sorted_as_their_search_expects() {
        assert!(COMMON_WORDS.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(COMMON_WORDS.len() > 20_000);
        assert!(is_meant("ontem") && is_meant("sabe") && is_meant("8112"));
        assert!(!is_meant("pasaporte") && !is_meant("ontém") && !is_meant("2via"));
    }

    #[test]
    fn only_a_word_without_vowels_reads_as_a_plural_acronym() {
        assert_eq!(acronym_singular("rgs"), Some("rg"));
        assert_eq!(acronym_singular("cpfs"), Some("cpf"));
        assert_eq!(acronym_singular("cnhs"), Some("cnh"));
        assert_eq!(acronym_singular("ss"), None);
        assert_eq!(acronym_singular("bens"), None);
        assert_eq!(acronym_singular("vias"), None);
        assert_eq!(acronym_singular("cpf"), None);
        assert_eq!(acronym_singular("2s"), None);
    }

    #[test]
    fn a_word_read_as_another_takes_the_case_it_was_typed_in() {
        assert_eq!(in_the_case_of("agua", "água".into()), "água");
        assert_eq!(in_the_case_of("Agua", "água".into()), "Água");
        assert_eq!(in_the_case_of("AGUA", "água".into()), "ÁGUA");
        // One capital is a capitalised word, not an acronym.
        assert_eq!(in_the_case_of("A", "à".into()), "À");
        assert_eq!(in_the_case_of("cpff", "CPF".into()), "CPF");
        // Mixed case is how the name is written: kept, unless typed in capitals.
        assert_eq!(in_the_case_of("Esocal", "eSocial".into()), "eSocial");
        assert_eq!(in_the_case_of("ESOCAL", "eSocial".into()), "ESOCIAL");
    }
}
