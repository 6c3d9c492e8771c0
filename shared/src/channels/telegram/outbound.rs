//! A reply → `sendMessage` texts; Bot API failures → retryable or permanent. Pure.

use super::wire::ApiResponse;
use crate::ports::SendError;
use std::time::Duration;

/// Most characters `sendMessage` takes in one text (counted, as Telegram does, in
/// UTF-16 code units of the text after entity parsing).
pub const MAX_TEXT_UNITS: usize = 4096;

/// Most characters of a photo's or document's caption, counted the same way.
pub const MAX_CAPTION_UNITS: usize = 1024;

/// Largest photo `sendPhoto` takes; a larger image goes as a document.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;

/// How a file is uploaded: a photo Telegram shows inline, or any other file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Photo,
    Document,
}

impl FileKind {
    /// `sendPhoto` takes JPEG, PNG and WebP up to 10 MB; everything else is a document.
    pub fn of(content_type: &str, size: usize) -> Self {
        let photo = matches!(content_type, "image/jpeg" | "image/png" | "image/webp");
        if photo && size <= MAX_PHOTO_BYTES {
            Self::Photo
        } else {
            Self::Document
        }
    }

    pub fn method(self) -> &'static str {
        match self {
            Self::Photo => "sendPhoto",
            Self::Document => "sendDocument",
        }
    }

    /// The form field the file goes in.
    pub fn field(self) -> &'static str {
        match self {
            Self::Photo => "photo",
            Self::Document => "document",
        }
    }
}

/// The text as the caption of the first file when it fits, else nothing (the text
/// then goes first, as messages of its own).
pub fn caption_of(text: &str) -> Option<&str> {
    (!text.trim().is_empty() && utf16_len(text) <= MAX_CAPTION_UNITS).then_some(text)
}

/// Escapes the four characters `parse_mode=HTML` gives meaning to; an agent's text is
/// shown exactly as written.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            other => out.push(other),
        }
    }
    out
}

/// Splits `text` into parts of at most `max_units` UTF-16 units, cutting after a blank
/// line if one is near the end of a part, else after a line break, else after a space,
/// else between characters (so never inside a surrogate pair). Splitting happens before
/// escaping, so an escape is never cut either.
pub fn split_text(text: &str, max_units: usize) -> Vec<String> {
    let max_units = max_units.max(2);
    let mut parts = Vec::new();
    let mut rest = text;
    while utf16_len(rest) > max_units {
        // The longest prefix that fits, on a char boundary.
        let mut units = 0;
        let mut limit = 0;
        for (i, c) in rest.char_indices() {
            if units + c.len_utf16() > max_units {
                break;
            }
            units += c.len_utf16();
            limit = i + c.len_utf8();
        }
        let window = &rest[..limit];
        // Prefer a natural boundary in the second half of the window.
        let floor = limit / 2;
        let cut = ["\n\n", "\n", " "]
            .iter()
            .find_map(|sep| {
                window
                    .rfind(sep)
                    .filter(|&at| at >= floor)
                    .map(|at| at + sep.len())
            })
            .unwrap_or(limit);
        let (head, tail) = rest.split_at(cut);
        let head = head.trim_end();
        if !head.is_empty() {
            parts.push(head.to_owned());
        }
        rest = tail.trim_start_matches(['\n', ' ']);
    }
    if !rest.trim().is_empty() || parts.is_empty() {
        parts.push(rest.to_owned());
    }
    parts
}

fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// The group chat and message a reply answers, when the customer wrote in a group: the
/// source id of a Telegram message is `telegram:<chat>:<message>[…]`, and group and
/// supergroup ids are negative (a private chat's id is its user's, positive).
pub fn group_message(source_id: &str) -> Option<(i64, i64)> {
    let mut parts = source_id.strip_prefix("telegram:")?.split(':');
    let chat = parts.next()?.parse::<i64>().ok()?;
    let message = parts.next()?.parse::<i64>().ok()?;
    (chat < 0).then_some((chat, message))
}

/// What a failed Bot API call means for the reply.
pub fn classify<T>(http_status: u16, answer: Option<&ApiResponse<T>>) -> SendError {
    let code = answer.and_then(|a| a.error_code).unwrap_or(http_status);
    let description = answer
        .and_then(|a| a.description.clone())
        .unwrap_or_else(|| format!("HTTP {http_status}"));
    let retry_after = answer
        .and_then(|a| a.parameters.as_ref())
        .and_then(|p| p.retry_after)
        .map(Duration::from_secs);
    match code {
        429 => SendError::Retryable {
            reason: format!("Telegram rate limit: {description}"),
            retry_after: Some(retry_after.unwrap_or(Duration::from_secs(1))),
        },
        403 => SendError::Unreachable {
            reason: format!("the customer blocked the bot or cannot be written to ({description})"),
        },
        400 => SendError::Permanent {
            reason: format!("Telegram refused the request ({description})"),
        },
        401 | 404 => SendError::Permanent {
            reason: format!(
                "Telegram refused the bot token ({description}); check the configuration"
            ),
        },
        500..=599 => SendError::Retryable {
            reason: format!("Telegram is failing ({description})"),
            retry_after: None,
        },
        _ => SendError::Permanent {
            reason: format!("Telegram answered {code} ({description})"),
        },
    }
}

/// Removes the bot token from any text about to be logged or shown.
pub fn redact(text: &str, token: &str) -> String {
    if token.is_empty() {
        return text.to_owned();
    }
    text.replace(token, "<bot-token>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::telegram::wire::ResponseParameters;

    fn error(code: u16, description: &str, retry_after: Option<u64>) -> ApiResponse<()> {
        ApiResponse {
            ok: false,
            result: None,
            error_code: Some(code),
            description: Some(description.into()),
            parameters: retry_after.map(|s| ResponseParameters {
                retry_after: Some(s),
            }),
        }
    }

    #[test]
    fn html_escaping_covers_the_four_characters_and_nothing_else() {
        assert_eq!(
            escape_html(r#"<b>"Tom" & Jerry's</b> سلام"#),
            "&lt;b&gt;&quot;Tom&quot; &amp; Jerry's&lt;/b&gt; سلام"
        );
    }

    #[test]
    fn short_texts_are_one_part() {
        assert_eq!(split_text("hello", MAX_TEXT_UNITS), vec!["hello"]);
        assert_eq!(split_text("", MAX_TEXT_UNITS), vec![""]);
    }

    #[test]
    fn long_texts_split_at_paragraphs_then_lines_then_spaces() {
        let paragraph = "word ".repeat(500); // 2500 units
        let text = format!("{}\n\n{}", paragraph.trim(), paragraph.trim());
        let parts = split_text(&text, MAX_TEXT_UNITS);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], paragraph.trim());
        let spaces = "abc ".repeat(2000);
        for part in split_text(&spaces, MAX_TEXT_UNITS) {
            assert!(utf16_len(&part) <= MAX_TEXT_UNITS);
            assert!(part.trim_end().ends_with("abc"), "cut at a space");
            assert!(part.starts_with("abc"), "cut at a space");
        }
    }

    #[test]
    fn no_part_is_too_long_and_nothing_is_lost_or_cut_inside_a_character() {
        // Emoji are two UTF-16 units each: a cut at an odd unit would split one.
        let text = "😀".repeat(5000) + &"س".repeat(3000);
        let parts = split_text(&text, MAX_TEXT_UNITS);
        assert!(parts.iter().all(|p| utf16_len(p) <= MAX_TEXT_UNITS));
        assert_eq!(parts.concat(), text);
        let odd = split_text(&"😀".repeat(10), 5);
        assert!(odd.iter().all(|p| p == "😀😀"));
    }

    #[test]
    fn escapes_are_never_cut_because_splitting_comes_first() {
        let text = "<&>".repeat(3000);
        for part in split_text(&text, MAX_TEXT_UNITS) {
            let escaped = escape_html(&part);
            assert!(
                escaped.starts_with("&lt;")
                    || escaped.starts_with("&amp;")
                    || escaped.starts_with("&gt;")
            );
            assert!(escaped.ends_with(';'));
        }
    }

    #[test]
    fn failures_are_classified_in_one_place() {
        assert_eq!(
            classify(
                429,
                Some(&error(429, "Too Many Requests: retry after 3", Some(3)))
            ),
            SendError::Retryable {
                reason: "Telegram rate limit: Too Many Requests: retry after 3".into(),
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert!(matches!(
            classify(403, Some(&error(403, "Forbidden: bot was blocked by the user", None))),
            SendError::Unreachable { reason } if reason.contains("blocked")
        ));
        assert!(matches!(
            classify(400, Some(&error(400, "Bad Request: chat not found", None))),
            SendError::Permanent { .. }
        ));
        assert!(matches!(
            classify::<()>(502, None),
            SendError::Retryable {
                retry_after: None,
                ..
            }
        ));
    }

    #[test]
    fn small_jpeg_png_and_webp_are_photos_and_everything_else_a_document() {
        assert_eq!(FileKind::of("image/png", 1000), FileKind::Photo);
        assert_eq!(FileKind::of("image/jpeg", MAX_PHOTO_BYTES), FileKind::Photo);
        assert_eq!(FileKind::of("image/webp", 10), FileKind::Photo);
        assert_eq!(
            FileKind::of("image/jpeg", MAX_PHOTO_BYTES + 1),
            FileKind::Document
        );
        assert_eq!(FileKind::of("image/gif", 10), FileKind::Document);
        assert_eq!(FileKind::of("application/pdf", 10), FileKind::Document);
    }

    #[test]
    fn a_text_is_a_caption_only_when_it_fits() {
        assert_eq!(caption_of("see attached"), Some("see attached"));
        assert_eq!(caption_of(&"😀".repeat(512)).map(str::len), Some(2048));
        assert_eq!(caption_of(&"😀".repeat(513)), None, "1026 UTF-16 units");
        assert_eq!(caption_of("  "), None);
    }

    #[test]
    fn only_a_group_message_redirects_a_reply() {
        assert_eq!(
            group_message("telegram:-1001234567890:5001"),
            Some((-1_001_234_567_890, 5001))
        );
        assert_eq!(
            group_message("telegram:-1001234567890:5001:edit:1735733100"),
            Some((-1_001_234_567_890, 5001))
        );
        assert_eq!(group_message("telegram:9007199254740993:101"), None);
        assert_eq!(group_message("telegram:update:873000017"), None);
        assert_eq!(group_message("webform:-1:2"), None);
        assert_eq!(group_message("telegram:-1"), None);
    }

    #[test]
    fn the_token_is_redacted() {
        let token = "123456:ABC-DEF";
        assert_eq!(
            redact(
                "error sending request for url (https://api.telegram.org/bot123456:ABC-DEF/sendMessage)",
                token
            ),
            "error sending request for url (https://api.telegram.org/bot<bot-token>/sendMessage)"
        );
    }
}
