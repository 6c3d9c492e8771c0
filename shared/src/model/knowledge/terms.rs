//! Words as the search compares them: Persian letter variants made one (ي/ى → ی,
//! ك → ک, …), Persian and Arabic-Indic digits made ASCII, diacritics and tatweel dropped,
//! lower case. A word written with a zero-width non-joiner (می‌شود, کارت‌ها) counts whole
//! and as its parts, so it is found however the customer spaces it (میشود, می شود). No
//! stemming: a word's endings are met at search time instead (see [`super::KnowledgeIndex`]).
//!
//! Persian written in Latin letters ("Finglish": sefaresh, ramz ro faramoosh kardam) is
//! met through [`sound_of`]: the consonants a word is spoken with, the same whichever
//! script wrote it.

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

/// Words of Persian written in Latin letters that say nothing of the question but that
/// it is Persian ("salam, chetori sefaresh ro ...").
const FINGLISH_WORDS: &[&str] = &[
    "salam", "lotfan", "mamnoon", "mamnun", "mersi", "ro", "ke", "dar", "shoma", "chera", "chetor",
    "chetori", "chejoori", "chejori", "hast", "mishe", "mikham", "konam", "konid", "daram", "vali",
    "baraye", "shod", "shode",
];

/// Little words of Persian written in Latin letters that are English words (or names)
/// too: left out of every question, but no sign that it is Persian.
const FINGLISH_OR_ENGLISH_WORDS: &[&str] = &[
    "merci", "ra", "va", "az", "ba", "ya", "ye", "man", "chi", "dare",
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
    if !word.is_empty()
        && long_enough
        && !STOP_WORDS.contains(&word)
        && !FINGLISH_WORDS.contains(&word)
        && !FINGLISH_OR_ENGLISH_WORDS.contains(&word)
    {
        terms.push(word.to_owned());
    }
}

/// The consonants `word` is spoken with, one letter for each sound, in a script of their
/// own: of a Persian word, and of a word of Latin letters read as Persian ("Finglish"),
/// so that sefaresh and سفارش, faramoosh and فراموش, kharid and خرید come out the same.
/// Vowels are left out on both sides (Persian writes few of them, and Finglish writes
/// them as it likes; و and ی, which are vowels as often as v and y, with them), letters
/// that sound alike are one (س ص ث → s, ز ذ ض ظ → z, ت ط → t, ق غ → q, ژ → j), a
/// final ه after a consonant is the vowel e, and a letter doubled counts once. `None` for
/// a word of digits or of both scripts.
pub fn sound_of(word: &str) -> Option<String> {
    let mut sounds = String::new();
    let mut last = None;
    let mut push = |sound: char| {
        if last != Some(sound) {
            sounds.push(sound);
        }
        last = Some(sound);
    };
    if word.chars().all(|c| c.is_ascii_lowercase()) {
        let letters = word.as_bytes();
        let mut i = 0;
        while i < letters.len() {
            let pair = (letters[i], letters.get(i + 1).copied());
            let (sound, width) = match pair {
                (b'k', Some(b'h')) => (Some('x'), 2),
                (b's', Some(b'h')) => (Some('S'), 2),
                (b'c', Some(b'h')) => (Some('c'), 2),
                (b'g', Some(b'h')) => (Some('q'), 2),
                (b'z', Some(b'h')) => (Some('j'), 2),
                (b'p', Some(b'h')) => (Some('f'), 2),
                (b'a' | b'e' | b'i' | b'o' | b'u' | b'v' | b'w' | b'y', _) => (None, 1),
                (b'c', _) => (Some('k'), 1),
                (letter, _) => (Some(char::from(letter)), 1),
            };
            if let Some(sound) = sound {
                push(sound);
            }
            i += width;
        }
    } else {
        let letters: Vec<char> = word.chars().collect();
        for (i, &letter) in letters.iter().enumerate() {
            let sound = match letter {
                'ب' => 'b',
                'پ' => 'p',
                'ت' | 'ط' => 't',
                'ث' | 'س' | 'ص' => 's',
                'ج' | 'ژ' => 'j',
                'چ' => 'c',
                'ح' => 'h',
                'ه' => {
                    let final_vowel = i + 1 == letters.len()
                        && i > 0
                        && !matches!(letters[i - 1], 'ا' | 'و' | 'ی');
                    if final_vowel {
                        continue;
                    }
                    'h'
                }
                'خ' => 'x',
                'د' => 'd',
                'ذ' | 'ز' | 'ض' | 'ظ' => 'z',
                'ر' => 'r',
                'ش' => 'S',
                'غ' | 'ق' => 'q',
                'ف' => 'f',
                'ک' => 'k',
                'گ' => 'g',
                'ل' => 'l',
                'م' => 'm',
                'ن' => 'n',
                'ا' | 'و' | 'ی' | 'ع' | 'ء' => continue,
                _ => return None,
            };
            push(sound);
        }
    }
    Some(sounds).filter(|s| !s.is_empty())
}

/// Whether `text` has one of the little words of Persian written in Latin letters (ro,
/// konam, mishe, …): a sign that its other Latin words are Persian too.
pub fn has_finglish_words(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| FINGLISH_WORDS.contains(&w.to_lowercase().as_str()))
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
    fn a_persian_word_sounds_the_same_in_either_script() {
        for (finglish, persian) in [
            ("sefaresh", "سفارش"),
            ("faramoosh", "فراموش"),
            ("kharid", "خرید"),
            ("rahgiri", "رهگیری"),
            ("hafte", "هفته"),
            ("sharj", "شارژ"),
            ("aghsati", "اقساطی"),
            ("mamnoon", "ممنون"),
            ("rah", "راه"),
            ("code", "کد"),
        ] {
            assert_eq!(
                sound_of(finglish),
                sound_of(persian),
                "{finglish} / {persian}"
            );
        }
        assert_eq!(sound_of("sefareshamo").as_deref(), Some("sfrSm"));
        assert_ne!(sound_of("sefaresh"), sound_of("pardakht"));
        assert_eq!(sound_of("123"), None);
        assert_eq!(sound_of("کارتcard"), None);
        assert_eq!(sound_of("aye"), None);
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
