//! Portuguese text analysis shared by indexing, querying and highlighting, so the three agree.
//!
//! Words are lowercased and stripped of accents ("Emissão" = "emissao"), plurals are reduced by
//! rules Snowball lacks ("certidões" → "certidão"), then stemmed by Snowball's Portuguese
//! stemmer. Stopwords take no position, so "carteira de identidade" is a phrase of two words.

use rust_stemmers::{Algorithm, Stemmer};
use std::sync::LazyLock;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Portuguese));

/// Articles, prepositions and conjunctions: they carry no meaning a search can use.
const STOPWORDS: &[&str] = &[
    "a", "o", "as", "os", "um", "uma", "uns", "umas", "de", "da", "do", "das", "dos", "e", "em",
    "na", "no", "nas", "nos", "para", "pra", "pro", "por", "pelo", "pela", "pelos", "pelas", "com",
    "sem", "ao", "aos", "que", "se", "ou", "meu", "minha", "meus", "minhas", "seu", "sua",
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
    "saber",
    "qual",
    "quais",
    "quando",
    "meu",
    "minha",
    "online",
    "internet",
    "site",
    "gov",
    "governo",
];

pub fn is_stopword(folded: &str) -> bool {
    STOPWORDS.contains(&folded)
}

pub fn is_weak(folded: &str) -> bool {
    WEAK_WORDS.contains(&folded)
}

/// Lowercase without accents.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        fold_char(ch, &mut out);
    }
    out
}

fn fold_char(ch: char, out: &mut String) {
    let folded = match ch {
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'Á' | 'À' | 'Â' | 'Ã' | 'Ä' | 'ª' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'i',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' | 'º' | '°' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ç' | 'Ç' => 'c',
        'ñ' | 'Ñ' => 'n',
        _ => {
            for lower in ch.to_lowercase() {
                out.push(lower);
            }
            return;
        }
    };
    out.push(folded);
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

/// The stemmed form of one folded word. Short words and words with digits are kept whole:
/// acronyms ("rg", "ir") and codes must not be mangled.
pub fn stem(folded: &str) -> String {
    if folded.len() <= 3 || folded.bytes().any(|b| b.is_ascii_digit()) {
        return folded.to_owned();
    }
    STEMMER.stem(&singular(folded)).into_owned()
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
    let mut out = Vec::new();
    let mut position = 0;
    let mut start = None;
    let mut folded = String::new();
    let mut finish = |start: usize, end: usize, folded: &mut String, out: &mut Vec<Word>| {
        let word = std::mem::take(folded);
        let is_stop = is_stopword(&word);
        out.push(Word {
            start,
            end,
            stem: if is_stop { word.clone() } else { stem(&word) },
            folded: word,
            position: (!is_stop).then(|| {
                position += 1;
                position - 1
            }),
        });
    };
    for (offset, ch) in text.char_indices() {
        if ch.is_alphanumeric() || ch == 'ª' || ch == 'º' {
            if start.is_none() {
                start = Some(offset);
            }
            fold_char(ch, &mut folded);
        } else if let Some(begin) = start.take() {
            finish(begin, offset, &mut folded, &mut out);
        }
    }
    if let Some(begin) = start {
        finish(begin, text.len(), &mut folded, &mut out);
    }
    out
}

/// Which normal form a tantivy field indexes.
#[derive(Debug, Clone, Copy)]
pub enum Form {
    /// For matching by meaning: stems with positions.
    Stem,
    /// For typo and prefix matching: whole folded words.
    Folded,
}

/// The analysis above as a tantivy tokenizer.
#[derive(Debug, Clone, Copy)]
pub struct PortugueseTokenizer(pub Form);

pub struct WordStream {
    tokens: std::vec::IntoIter<Token>,
    current: Token,
}

impl Tokenizer for PortugueseTokenizer {
    type TokenStream<'a> = WordStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream {
        let tokens: Vec<Token> = words(text)
            .into_iter()
            .filter_map(|word| {
                let position = word.position?;
                Some(Token {
                    offset_from: word.start,
                    offset_to: word.end,
                    position,
                    text: match self.0 {
                        Form::Stem => word.stem,
                        Form::Folded => word.folded,
                    },
                    position_length: 1,
                })
            })
            .collect();
        WordStream {
            tokens: tokens.into_iter(),
            current: Token::default(),
        }
    }
}

impl TokenStream for WordStream {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(token) => {
                self.current = token;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
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
    fn acronyms_and_codes_stay_whole() {
        assert_eq!(stems("RG 2ª via"), vec!["rg", "2a", "via"]);
    }
}
