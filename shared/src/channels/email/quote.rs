//! Sets the quoted history of a reply apart from the new text. The full text is always
//! kept elsewhere; this only decides what an agent sees first.

/// The new text and, when one was found, the quoted history below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub new_text: String,
    pub quoted: Option<String>,
}

/// Splits at the first line that starts a quoted history: a Gmail-style attribution
/// ("On … wrote:", also over two lines, and its Persian form), an Outlook header block
/// ("-----Original Message-----", or "From:" followed by "Sent:"/"Date:"), or a trailing
/// block of `>` lines. Interleaved `>` quotes (answers between quoted lines) are new text.
pub fn split_quoted(text: &str) -> Split {
    let lines: Vec<&str> = text.lines().collect();
    // A `>` line starts the trailing quote block only past the last line that is
    // neither blank nor quoted; found once, so the search stays linear.
    let last_unquoted = lines.iter().rposition(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('>')
    });
    let cut = (0..lines.len()).find(|&i| starts_history(&lines, i, last_unquoted));
    match cut {
        Some(i) => {
            let new_text = trim_block(&lines[..i]);
            let quoted = trim_block(&lines[i..]);
            if new_text.is_empty() {
                // Only quoted text: show it all rather than nothing.
                Split {
                    new_text: text.trim().to_owned(),
                    quoted: None,
                }
            } else {
                Split {
                    new_text,
                    quoted: Some(quoted),
                }
            }
        }
        None => Split {
            new_text: text.trim().to_owned(),
            quoted: None,
        },
    }
}

fn starts_history(lines: &[&str], i: usize, last_unquoted: Option<usize>) -> bool {
    let line = lines[i].trim();
    if is_attribution(line) {
        return true;
    }
    // Gmail wraps a long attribution: "On …, Sara <" / "sara@example.com> wrote:".
    if let Some(next) = lines.get(i + 1)
        && line.starts_with("On ")
        && !line.ends_with("wrote:")
        && next.trim().ends_with("wrote:")
    {
        return true;
    }
    let lower = line.to_ascii_lowercase();
    if lower.starts_with("-----original message-----")
        || lower.starts_with("----- original message -----")
    {
        return true;
    }
    if (lower.starts_with("from:") || lower.starts_with("*from:*"))
        && lines
            .iter()
            .skip(i + 1)
            .take(4)
            .any(|l| is_outlook_field(l.trim()))
    {
        return true;
    }
    if line.starts_with('>') {
        // Only a trailing quote block: every later non-blank line is quoted too.
        return last_unquoted.is_none_or(|last| i > last);
    }
    false
}

fn is_attribution(line: &str) -> bool {
    (line.starts_with("On ") && line.ends_with("wrote:"))
        || (line.starts_with("در ") && line.ends_with("نوشت:"))
        || (line.starts_with("Le ") && line.ends_with("a écrit :"))
        || (line.starts_with("Am ") && line.ends_with("schrieb:"))
}

fn is_outlook_field(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.starts_with("sent:") || lower.starts_with("*sent:*") || lower.starts_with("date:")
}

fn trim_block(lines: &[&str]) -> String {
    lines.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gmail_attribution_starts_the_history() {
        let s = split_quoted(
            "Thanks!\n\nOn Mon, 3 Nov 2025 at 10:00, Support <s@x.com> wrote:\n> Hello\n",
        );
        assert_eq!(s.new_text, "Thanks!");
        assert_eq!(
            s.quoted.as_deref(),
            Some("On Mon, 3 Nov 2025 at 10:00, Support <s@x.com> wrote:\n> Hello")
        );
    }

    #[test]
    fn a_wrapped_gmail_attribution_starts_the_history() {
        let s = split_quoted("Yes\nOn Mon, 3 Nov 2025 at 10:00 Support <\ns@x.com> wrote:\n> a");
        assert_eq!(s.new_text, "Yes");
    }

    #[test]
    fn an_outlook_header_block_starts_the_history() {
        let s = split_quoted("Fine.\n\nFrom: Support <s@x.com>\nSent: Monday\nTo: me\n\nold");
        assert_eq!(s.new_text, "Fine.");
        let s = split_quoted("Fine.\n-----Original Message-----\nold");
        assert_eq!(s.new_text, "Fine.");
    }

    #[test]
    fn interleaved_quotes_are_kept_as_new_text() {
        let text = "> question one\nanswer one\n> question two\nanswer two";
        assert_eq!(split_quoted(text).new_text, text);
        assert_eq!(split_quoted(text).quoted, None);
    }

    #[test]
    fn a_message_of_only_quotes_is_shown_whole() {
        let s = split_quoted("> only\n> quotes");
        assert_eq!(s.new_text, "> only\n> quotes");
        assert_eq!(s.quoted, None);
    }

    #[test]
    fn a_trailing_quote_block_after_new_text_is_history() {
        let s = split_quoted("Sure.\n\n> old one\n>\n> old two\n");
        assert_eq!(s.new_text, "Sure.");
        assert_eq!(s.quoted.as_deref(), Some("> old one\n>\n> old two"));
    }

    #[test]
    fn a_huge_run_of_quote_lines_is_split_correctly() {
        // Once quadratic: each `>` line rescanned every later line.
        let mut text = ">\n".repeat(200_000);
        text.push('x');
        let s = split_quoted(&text);
        assert_eq!(s.quoted, None);
        assert!(s.new_text.ends_with(">\nx"));

        let text = format!("new\n{}", "> q\n".repeat(200_000));
        let s = split_quoted(&text);
        assert_eq!(s.new_text, "new");
        assert_eq!(s.quoted.map(|q| q.lines().count()), Some(200_000));
    }

    #[test]
    fn a_line_that_merely_mentions_from_is_not_a_header_block() {
        let s = split_quoted("From: my phone\nit broke");
        assert_eq!(s.quoted, None);
    }
}
