//! Noticing an outage before anyone declares it: a watch over the first messages of new
//! conversations, minute by minute. A **burst** is many new conversations within the
//! last ten minutes sharing words (after making Persian and Arabic letters and digits
//! alike and leaving out stop words), far more than the hour before had; a **surge** is
//! one channel bringing far more new conversations than in the hour before. Either
//! proposes an incident; the words and channels proposed are not proposed again for an
//! hour.

use super::Channel;
use super::rule::normalize_text;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Minutes a burst is counted over.
pub const WINDOW_MINUTES: i64 = 10;
/// Minutes before the window that say what is usual.
pub const HISTORY_MINUTES: i64 = 60;
/// New conversations sharing a term in the window before it is a burst.
pub const MIN_BURST: u32 = 20;
/// …and the share of the window's new conversations they are at least.
pub const MIN_SHARE: f64 = 0.1;
/// …and how many times their usual share (in the hour before) at least: a word always
/// common ("order" in a shop) rises with the traffic, and does not burst.
pub const BURST_FACTOR: f64 = 3.0;
/// A word bursts on its own only when no pair holding it comes with this share of it.
const PAIR_SHARE: f64 = 0.8;
/// A term bursts beside the burst's head only with at least a third of its count.
const HEAD_FRACTION: u32 = 3;
/// New conversations on one channel in the window before a surge can be told…
pub const MIN_SURGE: u32 = 20;
/// …and how many times the usual ten minutes' count they are at least.
pub const SURGE_FACTOR: f64 = 5.0;
/// Minutes before a term or channel proposed is proposed again.
const COOLDOWN_MINUTES: i64 = 60;
/// Most terms one proposal names.
const MAX_PROPOSED_TERMS: usize = 3;
/// Most terms a past minute keeps (its most frequent), so the watch stays small.
const MAX_TERMS_KEPT: usize = 50;
/// Most different terms one minute counts (a flood repeats the same few).
const MAX_MINUTE_TERMS: usize = 400;
/// Most new conversations the window keeps the terms of.
const MAX_WINDOW_CONVERSATIONS: usize = 300;
/// Words of a message read: an outage is told in its first words.
const MAX_WORDS: usize = 16;
/// Shortest word counted, in characters.
const MIN_WORD_CHARS: usize = 3;
/// Longest: anything longer is no word an outage is told in.
const MAX_WORD_CHARS: usize = 40;

const STOP_WORDS: &[&str] = &[
    // English
    "the",
    "and",
    "are",
    "was",
    "were",
    "you",
    "your",
    "yours",
    "our",
    "ours",
    "for",
    "with",
    "this",
    "that",
    "these",
    "those",
    "have",
    "has",
    "had",
    "not",
    "can",
    "cant",
    "could",
    "please",
    "hello",
    "thanks",
    "thank",
    "there",
    "what",
    "when",
    "why",
    "how",
    "where",
    "who",
    "been",
    "from",
    "but",
    "just",
    "again",
    "still",
    "help",
    "any",
    "some",
    "all",
    "get",
    "got",
    "would",
    "will",
    "about",
    "out",
    "did",
    "does",
    "doing",
    "done",
    "its",
    "it's",
    "i'm",
    "im",
    "dont",
    "don't",
    "didnt",
    "didn't",
    "isnt",
    "isn't",
    "hey",
    "dear",
    "team",
    "support",
    "today",
    "now",
    "yes",
    "also",
    "one",
    "two",
    "my",
    "me",
    "a",
    "an",
    "is",
    "it",
    "to",
    "of",
    "in",
    "on",
    "at",
    "or",
    "be",
    "am",
    "so",
    "if",
    "do",
    "no",
    "we",
    "us",
    "up",
    "as",
    "by",
    "i",
    "hi",
    "ok",
    "okay",
    "very",
    "much",
    "more",
    "than",
    "then",
    "them",
    "they",
    "their",
    "here",
    "which",
    "while",
    "after",
    "before",
    "into",
    "over",
    "should",
    "need",
    "want",
    "know",
    "like",
    "really",
    "sir",
    "madam",
    "regards",
    "best",
    // Persian, as `normalize_text` writes it (ی, ک)
    "سلام",
    "ممنون",
    "مرسی",
    "لطفا",
    "لطفاً",
    "باتشکر",
    "تشکر",
    "خسته",
    "نباشید",
    "است",
    "هست",
    "نیست",
    "برای",
    "این",
    "اون",
    "آن",
    "که",
    "را",
    "رو",
    "با",
    "از",
    "به",
    "در",
    "و",
    "یا",
    "تا",
    "هم",
    "ولی",
    "اما",
    "من",
    "ما",
    "شما",
    "تو",
    "او",
    "یک",
    "بود",
    "شد",
    "شده",
    "شدم",
    "میشه",
    "نمیشه",
    "می",
    "نمی",
    "کنم",
    "کنید",
    "کنین",
    "کرد",
    "کردم",
    "کردید",
    "چرا",
    "چی",
    "چه",
    "کی",
    "کجا",
    "هیچ",
    "همه",
    "خیلی",
    "باید",
    "دارم",
    "دارید",
    "داره",
    "نه",
    "بله",
    "اگر",
    "اگه",
    "روی",
    "پس",
    "حالا",
    "الان",
    "امروز",
    "دیگه",
    "دیگر",
    "چون",
    "هنوز",
    "باز",
    "بازم",
    "یه",
    "اینکه",
    "چطور",
    "چند",
    "کنه",
    "بشه",
    "شدن",
    "بودم",
    // Arabic
    "في",
    "من",
    "على",
    "الى",
    "إلى",
    "عن",
    "مع",
    "هذا",
    "هذه",
    "انا",
    "أنا",
    "لا",
    "نعم",
    "مرحبا",
    "شكرا",
    "السلام",
    "عليكم",
];

/// What one minute saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Minute {
    total: u32,
    #[serde(default)]
    channels: BTreeMap<Channel, u32>,
    #[serde(default)]
    terms: BTreeMap<String, u32>,
}

/// One new conversation in the window, by its terms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Seen {
    minute: i64,
    terms: Vec<String>,
}

/// The watch, kept between passes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BurstWatch {
    /// By unix minute.
    #[serde(default)]
    minutes: BTreeMap<i64, Minute>,
    /// The new conversations of the window, for which terms cover them.
    #[serde(default)]
    window: Vec<Seen>,
    /// The first minute watched: a surge needs an hour of history behind it.
    #[serde(default)]
    since: Option<i64>,
    /// Terms (and `channel:<name>`) proposed, by the minute they were.
    #[serde(default)]
    proposed: BTreeMap<String, i64>,
}

/// What the watch noticed.
#[derive(Clone, Debug, PartialEq)]
pub enum Burst {
    /// New conversations sharing these terms: `count` of the window's `total`, against
    /// `usual` in ten minutes of the hour before.
    Terms {
        terms: Vec<String>,
        count: u32,
        total: u32,
        usual: f64,
    },
    /// One channel bringing `count` new conversations in the window, against `usual`.
    Surge {
        channel: Channel,
        count: u32,
        usual: f64,
    },
}

fn minute_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

/// The words and word pairs of a message that can tell a burst: made comparable, stop
/// words and numbers left out, each once.
pub fn terms_of(text: &str) -> Vec<String> {
    let normalized = normalize_text(text);
    // Every word in its place; the ones that cannot tell a burst as none, so a pair is
    // two words side by side in the text.
    let words: Vec<Option<&str>> = normalized
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .map(|w| {
            let length = w.chars().count();
            let counts = (MIN_WORD_CHARS..=MAX_WORD_CHARS).contains(&length)
                && !w.chars().all(|c| c.is_numeric())
                && !STOP_WORDS.contains(&w);
            counts.then_some(w)
        })
        .collect();
    let mut terms: BTreeSet<String> = words.iter().flatten().map(|w| (*w).to_owned()).collect();
    for pair in words.windows(2) {
        if let [Some(a), Some(b)] = pair {
            terms.insert(format!("{a} {b}"));
        }
    }
    terms.into_iter().collect()
}

impl BurstWatch {
    /// Counts a new conversation whose first message came on `channel` at `at`.
    pub fn record(&mut self, at: DateTime<Utc>, channel: Channel, text: &str) {
        let minute = minute_of(at);
        self.since = Some(self.since.map_or(minute, |s| s.min(minute)));
        let terms = terms_of(text);
        let counts = self.minutes.entry(minute).or_default();
        counts.total += 1;
        *counts.channels.entry(channel).or_default() += 1;
        for term in &terms {
            if let Some(n) = counts.terms.get_mut(term) {
                *n += 1;
            } else if counts.terms.len() < MAX_MINUTE_TERMS {
                counts.terms.insert(term.clone(), 1);
            }
        }
        if self.window.len() < MAX_WINDOW_CONVERSATIONS {
            self.window.push(Seen { minute, terms });
        }
    }

    /// What is bursting at `now`, leaving out terms `covered` already (an incident
    /// matches them); each is marked proposed. Forgets what is older than it needs.
    pub fn bursts(&mut self, now: DateTime<Utc>, covered: impl Fn(&str) -> bool) -> Vec<Burst> {
        let now = minute_of(now);
        let window_start = now - WINDOW_MINUTES + 1;
        let history_start = window_start - HISTORY_MINUTES;
        self.forget(now, window_start, history_start);
        let window: Vec<&Minute> = self
            .minutes
            .range(window_start..=now)
            .map(|(_, m)| m)
            .collect();
        let history: Vec<&Minute> = self
            .minutes
            .range(history_start..window_start)
            .map(|(_, m)| m)
            .collect();
        // The hour before, in tens of minutes (what there is of it).
        let watched = self
            .since
            .map_or(0, |s| (window_start - s).clamp(0, HISTORY_MINUTES));
        let tens = (watched as f64 / WINDOW_MINUTES as f64).max(1.0);
        let total: u32 = window.iter().map(|m| m.total).sum();
        let history_total: u32 = history.iter().map(|m| m.total).sum();
        let mut found = Vec::new();

        let term_count = |term: &str, minutes: &[&Minute]| -> u32 {
            minutes.iter().filter_map(|m| m.terms.get(term)).sum()
        };
        // Each bursting term with how many the hour before would have had in the window.
        let mut bursting: BTreeMap<String, (u32, f64)> = BTreeMap::new();
        for minute in &window {
            for term in minute.terms.keys() {
                if bursting.contains_key(term) {
                    continue;
                }
                let count = term_count(term, &window);
                let share = f64::from(count) / f64::from(total.max(1));
                let usual_share = match history_total {
                    0 => 0.0,
                    n => f64::from(term_count(term, &history)) / f64::from(n),
                };
                if count >= MIN_BURST && share >= MIN_SHARE && share >= BURST_FACTOR * usual_share {
                    bursting.insert(term.clone(), (count, usual_share * f64::from(total)));
                }
            }
        }
        // A word that mostly comes in one pair waits for the pair, which says more
        // ("gateway shows" rather than "shows").
        let mut pairs: BTreeMap<&str, u32> = BTreeMap::new();
        for minute in &window {
            for (term, n) in &minute.terms {
                if term.contains(' ') {
                    *pairs.entry(term.as_str()).or_default() += n;
                }
            }
        }
        bursting.retain(|term, (count, _)| {
            term.contains(' ')
                || !pairs.iter().any(|(pair, n)| {
                    f64::from(*n) >= PAIR_SHARE * f64::from(*count)
                        && pair.split(' ').any(|w| w == term)
                })
        });
        // The words of one outage come together: one far below the burst's head (its
        // most frequent term, proposed already or not) is the everyday traffic around it.
        let head = bursting
            .values()
            .map(|(count, _)| *count)
            .max()
            .unwrap_or(0);
        bursting.retain(|term, (count, _)| {
            *count * HEAD_FRACTION >= head && !self.proposed.contains_key(term) && !covered(term)
        });
        let terms = match bursting.is_empty() {
            true => Vec::new(),
            false => self.cover(&bursting),
        };
        if !terms.is_empty() {
            let count = self
                .window
                .iter()
                .filter(|s| s.minute >= window_start && s.terms.iter().any(|t| terms.contains(t)))
                .count() as u32;
            let usual = terms
                .iter()
                .filter_map(|t| bursting.get(t).map(|(_, u)| *u))
                .fold(0.0, f64::max);
            for term in &terms {
                self.proposed.insert(term.clone(), now);
            }
            // The words of the pairs proposed are not a burst of their own either.
            for word in terms.iter().flat_map(|t| t.split(' ')) {
                self.proposed.entry(word.to_owned()).or_insert(now);
            }
            for term in bursting.keys() {
                self.proposed.entry(term.clone()).or_insert(now);
            }
            found.push(Burst::Terms {
                terms,
                count,
                total,
                usual,
            });
        }

        // A surge needs an hour behind it to be told from a quiet start.
        if watched >= HISTORY_MINUTES {
            let channels: BTreeSet<Channel> = window
                .iter()
                .flat_map(|m| m.channels.keys().copied())
                .collect();
            for channel in channels {
                let key = format!("channel:{}", channel.as_str());
                if self.proposed.contains_key(&key) {
                    continue;
                }
                let count: u32 = window.iter().filter_map(|m| m.channels.get(&channel)).sum();
                let usual = f64::from(
                    history
                        .iter()
                        .filter_map(|m| m.channels.get(&channel))
                        .sum::<u32>(),
                ) / tens;
                if count >= MIN_SURGE && f64::from(count) >= SURGE_FACTOR * usual.max(1.0) {
                    self.proposed.insert(key, now);
                    found.push(Burst::Surge {
                        channel,
                        count,
                        usual,
                    });
                }
            }
        }
        found
    }

    /// The fewest bursting terms (at most three) that cover the window's conversations
    /// that hold any: each time the one that covers most of those left, where a word of
    /// a bursting pair counts a third less than the pair (the pair says more).
    fn cover(&self, bursting: &BTreeMap<String, (u32, f64)>) -> Vec<String> {
        let mut left: Vec<&Seen> = self
            .window
            .iter()
            .filter(|s| s.terms.iter().any(|t| bursting.contains_key(t)))
            .collect();
        let mut chosen: Vec<String> = Vec::new();
        while !left.is_empty() && chosen.len() < MAX_PROPOSED_TERMS {
            let in_a_pair = |word: &str| {
                bursting
                    .keys()
                    .any(|p| p.contains(' ') && p.split(' ').any(|w| w == word))
            };
            let best = bursting
                .keys()
                .filter(|t| !chosen.contains(t))
                .map(|t| {
                    let covers = left.iter().filter(|s| s.terms.contains(t)).count();
                    let weight = if !t.contains(' ') && in_a_pair(t) {
                        2
                    } else {
                        3
                    };
                    (covers * weight, covers, std::cmp::Reverse(t.clone()))
                })
                .max();
            let Some((_, covers, std::cmp::Reverse(term))) = best else {
                break;
            };
            // What is left must be a burst of its own, not the everyday traffic around.
            if covers < MIN_BURST as usize {
                break;
            }
            left.retain(|s| !s.terms.contains(&term));
            chosen.push(term);
        }
        chosen
    }

    /// Makes the watch fit in `max_bytes` as JSON (a store keeps one item of it): the
    /// window's oldest conversations go first, then the rarer terms of each minute.
    pub fn fit(&mut self, max_bytes: usize) {
        let size = |w: &Self| serde_json::to_vec(w).map_or(0, |v| v.len());
        while size(self) > max_bytes && !self.window.is_empty() {
            let half = self.window.len().div_ceil(2);
            self.window.drain(..half);
        }
        let mut keep = MAX_TERMS_KEPT;
        while size(self) > max_bytes && keep > 0 {
            keep /= 2;
            for counts in self.minutes.values_mut() {
                let mut terms: Vec<(String, u32)> =
                    std::mem::take(&mut counts.terms).into_iter().collect();
                terms.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                terms.truncate(keep);
                counts.terms = terms.into_iter().collect();
            }
        }
    }

    fn forget(&mut self, now: i64, window_start: i64, history_start: i64) {
        self.minutes.retain(|m, _| *m >= history_start && *m <= now);
        self.window.retain(|s| s.minute >= window_start);
        self.proposed.retain(|_, at| now - *at < COOLDOWN_MINUTES);
        // Past minutes keep their most frequent terms only.
        for (minute, counts) in self.minutes.iter_mut() {
            if *minute < window_start && counts.terms.len() > MAX_TERMS_KEPT {
                let mut terms: Vec<(String, u32)> =
                    std::mem::take(&mut counts.terms).into_iter().collect();
                terms.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                terms.truncate(MAX_TERMS_KEPT);
                counts.terms = terms.into_iter().collect();
            }
        }
    }
}

impl Burst {
    /// A title for the incident it proposes.
    pub fn title(&self) -> String {
        match self {
            Self::Terms {
                terms,
                count,
                total,
                ..
            } => format!(
                "{count} of {total} new conversations in {WINDOW_MINUTES} minutes mention {}",
                terms
                    .iter()
                    .map(|t| format!("“{t}”"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::Surge {
                channel,
                count,
                usual,
            } => format!(
                "{count} new conversations on {} in {WINDOW_MINUTES} minutes (usually {usual:.0})",
                channel.as_str()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: i64, second: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap()
            + chrono::Duration::seconds(minute * 60 + second)
    }

    const EVERYDAY: &[&str] = &[
        "Where is my parcel? I ordered it last week",
        "Do you ship to Tabriz?",
        "Can I change the size of my order?",
        "سلام، سفارشم کی می‌رسه؟",
        "How do I return a broken mug",
        "I want to cancel my order please",
        "آیا ارسال به شیراز دارید؟",
        "My invoice shows the wrong address",
        "Is the blue jacket back in stock?",
        "کد تخفیف من کار نمی‌کنه",
    ];

    #[test]
    fn terms_are_words_and_pairs_without_stop_words_or_numbers() {
        assert_eq!(
            terms_of("My PAYMENT failed 3 times!"),
            vec!["failed", "payment", "payment failed", "times"],
            "a pair is two words side by side"
        );
        // Arabic letters and digits written the Persian way.
        assert_eq!(terms_of("پرداخت ناموفق"), terms_of("پرداخت ناموفق ۲"));
        assert_eq!(
            terms_of("درگاه بانكي"),
            vec!["بانکی", "درگاه", "درگاه بانکی"]
        );
    }

    #[test]
    fn a_flood_about_one_thing_on_four_channels_is_one_proposal_covering_its_wordings() {
        let mut watch = BurstWatch::default();
        let channels = [
            Channel::Web,
            Channel::Email,
            Channel::Telegram,
            Channel::Sms,
        ];
        // A quiet hour before.
        for n in 0..60 {
            watch.record(
                at(n, 0),
                channels[n as usize % 4],
                EVERYDAY[n as usize % EVERYDAY.len()],
            );
            assert!(watch.bursts(at(n, 1), |_| false).is_empty(), "minute {n}");
        }
        let wordings = [
            "سلام، پرداخت ناموفق بود ولی پول کم شد",
            "My card payment failed at checkout",
            "The bank gateway shows an error when I pay",
        ];
        let mut proposals = Vec::new();
        for n in 0..300 {
            let second = n / 5;
            watch.record(
                at(60, second),
                channels[n as usize % 4],
                wordings[n as usize % 3],
            );
            if n % 10 == 9 {
                proposals.extend(watch.bursts(at(60, second), |_| false));
            }
        }
        for n in 0..50 {
            watch.record(
                at(61, n),
                channels[n as usize % 4],
                EVERYDAY[n as usize % EVERYDAY.len()],
            );
            proposals.extend(watch.bursts(at(61, n), |_| false));
        }
        assert_eq!(proposals.len(), 1, "{proposals:?}");
        let Burst::Terms { terms, count, .. } = &proposals[0] else {
            panic!("{proposals:?}");
        };
        eprintln!("proposed: {}", proposals[0].title());
        assert_eq!(terms.len(), 3, "one term for each wording: {terms:?}");
        assert!(*count >= MIN_BURST, "{count}");
        for wording in wordings {
            let words = normalize_text(wording);
            assert!(
                terms.iter().any(|t| words.contains(t.as_str())),
                "{wording} in {terms:?}"
            );
        }
        for everyday in EVERYDAY {
            let words = normalize_text(everyday);
            assert!(
                !terms.iter().any(|t| words.contains(t.as_str())),
                "{everyday}"
            );
        }
    }

    /// Ten busy days of everyday questions, at a steady and at a rising pace: nothing is
    /// proposed (the false-positive rate on this fixture is 0 in 14,400 passes).
    #[test]
    fn everyday_traffic_proposes_nothing() {
        let mut watch = BurstWatch::default();
        let channels = [
            Channel::Web,
            Channel::Email,
            Channel::Telegram,
            Channel::Sms,
        ];
        let mut proposals = Vec::new();
        let mut seed: u64 = 7;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        for minute in 0..14_400 {
            // Busier in the day: 0–6 new conversations a minute.
            let hour = (minute / 60) % 24;
            let rate = if (8..20).contains(&hour) { 6 } else { 1 };
            for k in 0..next(rate + 1) {
                let text = EVERYDAY[next(EVERYDAY.len() as u64) as usize];
                watch.record(at(minute, k as i64), channels[next(4) as usize], text);
            }
            proposals.extend(watch.bursts(at(minute, 59), |_| false));
        }
        assert_eq!(proposals, vec![], "false positives");
        let size = serde_json::to_vec(&watch).unwrap().len();
        assert!(size < 200_000, "the watch stays small: {size} bytes");
    }

    #[test]
    fn a_flood_of_long_different_messages_still_fits_one_item() {
        let mut watch = BurstWatch::default();
        for n in 0..2_000 {
            let text: String = (0..300).map(|w| format!("w{n}x{w} ")).collect();
            watch.record(at(0, n % 60), Channel::Email, &text);
        }
        watch.bursts(at(0, 59), |_| false);
        watch.fit(300_000);
        let size = serde_json::to_vec(&watch).unwrap().len();
        assert!(size <= 300_000, "{size} bytes");
    }

    #[test]
    fn a_surge_on_one_channel_is_told_once_an_hour_is_known() {
        let mut watch = BurstWatch::default();
        for n in 0..70 {
            if n % 3 == 0 {
                watch.record(
                    at(n, 0),
                    Channel::Sms,
                    EVERYDAY[n as usize % EVERYDAY.len()],
                );
            }
            assert!(watch.bursts(at(n, 1), |_| false).is_empty());
        }
        let mut found = Vec::new();
        for n in 0..40 {
            // Each different, so no words burst; only the channel does.
            watch.record(at(70, n), Channel::Sms, &format!("zq{n}a zq{n}b"));
            found.extend(watch.bursts(at(70, n), |_| false));
        }
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(matches!(
            found[0],
            Burst::Surge {
                channel: Channel::Sms,
                ..
            }
        ));
    }

    #[test]
    fn terms_an_incident_covers_are_not_proposed() {
        let mut watch = BurstWatch::default();
        for n in 0..40 {
            watch.record(at(0, n), Channel::Telegram, "payment failed again");
        }
        assert!(
            watch
                .bursts(at(0, 59), |t| t.contains("payment")
                    || t.contains("failed")
                    || t == "again")
                .is_empty()
        );
    }
}
