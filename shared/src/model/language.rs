//! Which language a customer wrote in. Support messages are short, and a detector that
//! weighs every language on earth takes «سلام، سفارشم کی می‌رسد؟» for Urdu and "Hello, my
//! card was declined" for Afrikaans; weighed only among the languages the team speaks
//! (or its rules name), they read right. Languages are ISO 639-1 codes (`fa`, `en`).

use whatlang::{Detector, Lang};

/// The languages a team may name, as ISO 639-1 codes, and the detector's own.
const CODES: &[(&str, Lang)] = &[
    ("af", Lang::Afr),
    ("ar", Lang::Ara),
    ("az", Lang::Aze),
    ("be", Lang::Bel),
    ("bg", Lang::Bul),
    ("bn", Lang::Ben),
    ("ca", Lang::Cat),
    ("cs", Lang::Ces),
    ("da", Lang::Dan),
    ("de", Lang::Deu),
    ("el", Lang::Ell),
    ("en", Lang::Eng),
    ("es", Lang::Spa),
    ("et", Lang::Est),
    ("fa", Lang::Pes),
    ("fi", Lang::Fin),
    ("fr", Lang::Fra),
    ("he", Lang::Heb),
    ("hi", Lang::Hin),
    ("hr", Lang::Hrv),
    ("hu", Lang::Hun),
    ("hy", Lang::Hye),
    ("id", Lang::Ind),
    ("it", Lang::Ita),
    ("ja", Lang::Jpn),
    ("ka", Lang::Kat),
    ("ko", Lang::Kor),
    ("lt", Lang::Lit),
    ("lv", Lang::Lav),
    ("mk", Lang::Mkd),
    ("nb", Lang::Nob),
    ("nl", Lang::Nld),
    ("pl", Lang::Pol),
    ("pt", Lang::Por),
    ("ro", Lang::Ron),
    ("ru", Lang::Rus),
    ("sk", Lang::Slk),
    ("sl", Lang::Slv),
    ("sr", Lang::Srp),
    ("sv", Lang::Swe),
    ("ta", Lang::Tam),
    ("th", Lang::Tha),
    ("tl", Lang::Tgl),
    ("tr", Lang::Tur),
    ("uk", Lang::Ukr),
    ("ur", Lang::Urd),
    ("uz", Lang::Uzb),
    ("vi", Lang::Vie),
    ("zh", Lang::Cmn),
];

/// How much of a message detection reads.
const MAX_DETECTED_CHARS: usize = 1000;

/// Whether `code` is a language Switchboard tells apart (a code an admin may write).
pub fn is_known_language(code: &str) -> bool {
    CODES.iter().any(|(c, _)| *c == code)
}

/// The language of `text` among `among` (ISO 639-1 codes; unknown ones are left out):
/// none when fewer than two are left to choose between, or when the text has no
/// letters of theirs.
pub fn detect_language(text: &str, among: &[String]) -> Option<String> {
    let mut langs: Vec<Lang> = CODES
        .iter()
        .filter(|(code, _)| among.iter().any(|a| a == code))
        .map(|(_, lang)| *lang)
        .collect();
    langs.sort_by_key(|l| l.code());
    langs.dedup();
    if langs.len() < 2 {
        return None;
    }
    // The start of a long message tells its language as well as the whole of it.
    let start = text
        .char_indices()
        .nth(MAX_DETECTED_CHARS)
        .map_or(text, |(at, _)| &text[..at]);
    let lang = Detector::with_allowlist(langs).detect_lang(start)?;
    CODES
        .iter()
        .find(|(_, l)| *l == lang)
        .map(|(code, _)| (*code).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn short_messages_read_right_among_the_teams_languages() {
        let team = team(&["fa", "en", "ar", "ru", "tr"]);
        for (text, language) in [
            ("سلام، سفارشم کی می‌رسد؟", "fa"),
            ("درگاه پرداخت کار نمی‌کند", "fa"),
            ("مرحبا، أين طلبي؟", "ar"),
            ("Hello, my card was declined", "en"),
            ("Привет, где мой заказ?", "ru"),
            ("Merhaba, siparişim nerede?", "tr"),
        ] {
            assert_eq!(
                detect_language(text, &team).as_deref(),
                Some(language),
                "{text}"
            );
        }
    }

    #[test]
    fn one_language_or_none_to_choose_from_tells_nothing() {
        assert_eq!(detect_language("Hello there", &team(&["en"])), None);
        assert_eq!(detect_language("Hello there", &team(&["en", "xx"])), None);
        assert_eq!(detect_language("", &team(&["en", "fa"])), None);
        assert_eq!(detect_language("12345 !!!", &team(&["en", "fa"])), None);
        assert!(is_known_language("fa") && !is_known_language("farsi"));
    }
}
