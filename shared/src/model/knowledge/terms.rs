//! Words as the search compares them: Persian letter variants made one (ي/ى → ی,
//! ك → ک, …), Persian and Arabic-Indic digits made ASCII, diacritics and tatweel dropped,
//! lower case. A word written with a zero-width non-joiner (می‌شود, کارت‌ها) counts whole
//! and as its parts, so it is found however the customer spaces it (میشود, می شود). No
//! stemming: a word's endings are met at search time instead (see [`super::KnowledgeIndex`]).

use crate::model::identity::ascii_digits;

const ZWNJ: char = '\u{200C}';

/// Words too common to tell one article from another.
const STOP_WORDS: &[&str] = &[
    // English
    "a",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "been",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "for",
    "from",
    "had",
    "has",
    "have",
    "hello",
    "hi",
    "how",
    "i",
    "if",
    "im",
    "in",
    "is",
    "it",
    "its",
    "me",
    "my",
    "of",
    "on",
    "or",
    "our",
    "please",
    "so",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "this",
    "to",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "pls",
    "thanks",
    // Persian
    "از",
    "اگر",
    "اما",
    "این",
    "آن",
    "ان",
    "با",
    "بر",
    "برای",
    "به",
    "تا",
    "چه",
    "چرا",
    "در",
    "را",
    "رو",
    "که",
    "کی",
    "من",
    "ما",
    "شما",
    "هم",
    "و",
    "یا",
    "یه",
    "یک",
    "است",
    "هست",
    "بود",
    "سلام",
    "لطفا",
    "ممنون",
    "مرسی",
    "ها",
    "های",
    "هایی",
    "ی",
    "می",
    "نمی",
    "شده",
    "شد",
    "کنم",
    "کنید",
    "چطور",
    "چطوری",
    "چی",
    "باید",
    "دارم",
    "داره",
    "ولی",
];

fn fold(c: char) -> Option<char> {
    match c {
        'ي' | 'ى' | 'ئ' => Some('ی'),
        'ك' => Some('ک'),
        'ة' | 'ۀ' => Some('ه'),
        'أ' | 'إ' | 'ٱ' | 'آ' => Some('ا'),
        'ؤ' => Some('و'),
        // Diacritics, the superscript alef, tatweel, the zero-width joiner, direction marks.
        '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{0640}'
        | '\u{200D}'
        | '\u{200E}'
        | '\u{200F}' => None,
        other => Some(other),
    }
}

/// Every word of `text` in order, repeated as often as it is written (for counting),
/// each word with a non-joiner also as its parts; stop words left out.
pub fn search_terms(text: &str) -> Vec<String> {
    let text = ascii_digits(text);
    let mut terms = Vec::new();
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == ZWNJ || fold(c).is_none())) {
        let word: String = word
            .chars()
            .filter_map(fold)
            .flat_map(char::to_lowercase)
            .collect();
        let word = word.trim_matches(ZWNJ);
        if word.is_empty() {
            continue;
        }
        let whole: String = word.chars().filter(|c| *c != ZWNJ).collect();
        push(&mut terms, &whole);
        if word.contains(ZWNJ) {
            for part in word.split(ZWNJ) {
                push(&mut terms, part);
            }
        }
    }
    terms
}

fn push(terms: &mut Vec<String>, word: &str) {
    let long_enough = word.chars().count() >= 2 || word.chars().all(|c| c.is_ascii_digit());
    if !word.is_empty() && long_enough && !STOP_WORDS.contains(&word) {
        terms.push(word.to_owned());
    }
}

/// Most words of one question that are searched for: a question is a few sentences,
/// and each word costs a look through the index's words.
pub const MAX_QUERY_WORDS: usize = 24;

/// The words of a question, each once, in the order first written; the first
/// [`MAX_QUERY_WORDS`].
pub fn query_terms(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    search_terms(text)
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .take(MAX_QUERY_WORDS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arabic_letters_and_digits_read_as_persian_and_ascii() {
        assert_eq!(
            search_terms("كارت بانكي ۱۲۳ ١٢٣"),
            ["کارت", "بانکی", "123", "123"]
        );
        assert_eq!(search_terms("Refund, REFUND!"), ["refund", "refund"]);
    }

    #[test]
    fn a_word_with_a_non_joiner_is_found_joined_or_spaced() {
        assert_eq!(search_terms("کارت‌ها"), ["کارتها", "کارت"]);
        assert_eq!(search_terms("می‌شود"), ["میشود", "شود"]);
        let spaced = search_terms("می شود");
        assert!(spaced.contains(&"شود".to_owned()));
        assert!(search_terms("میشود").contains(&"میشود".to_owned()));
    }

    #[test]
    fn stop_words_and_marks_are_left_out() {
        assert_eq!(
            search_terms("سلام، من رمز را فراموش کردم"),
            ["رمز", "فراموش", "کردم"]
        );
        assert_eq!(search_terms("hi, my password"), ["password"]);
        assert_eq!(search_terms("رَمز\u{200F}"), ["رمز"]);
        assert_eq!(query_terms("order order ORDER"), ["order"]);
    }
}
