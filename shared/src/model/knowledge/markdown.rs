use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

/// The article's Markdown as HTML that is safe to put in a page: raw HTML in the source
/// is shown as text, and what CommonMark makes of the rest passes ammonia (links get
/// `rel="noopener noreferrer nofollow"`, and only http, https and mailto links stay).
pub fn render_markdown(source: &str) -> String {
    let parser = Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut unsafe_html = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string()
}

/// Every word of the Markdown as plain text (no link targets, no markup), for search.
pub fn plain_text(source: &str) -> String {
    let mut text = String::with_capacity(source.len());
    for event in Parser::new_ext(source, Options::ENABLE_TABLES) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                text.push_str(&t);
                text.push(' ');
            }
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            _ => {}
        }
    }
    text
}

/// The Markdown as a plain-text message: paragraphs and headings on lines of their own,
/// list items with `•` (or their numbers), links as their words then the address.
pub fn reply_text(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut numbers: Vec<Option<u64>> = Vec::new();
    let mut link: Option<String> = None;
    for event in Parser::new_ext(source, Options::ENABLE_TABLES) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&t);
            }
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::Start(Tag::List(first)) => numbers.push(first),
            Event::End(TagEnd::List(_)) => {
                numbers.pop();
                if numbers.is_empty() {
                    out.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                let indent = "  ".repeat(numbers.len().saturating_sub(1));
                match numbers.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{indent}{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str(&format!("{indent}• ")),
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => link = Some(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = link.take() {
                    out.push_str(&format!(" ({url})"));
                }
            }
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock,
            ) => {
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                if numbers.is_empty() {
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// The article's first paragraph as plain text, at most `max` characters (cut at a
/// word, with `…`): what a bot or a suggestion shows before the link.
pub fn summary_of(source: &str, max: usize) -> String {
    let mut text = String::new();
    let mut in_paragraph = false;
    for event in Parser::new(source) {
        match event {
            Event::Start(Tag::Paragraph) => in_paragraph = true,
            Event::End(TagEnd::Paragraph) if !text.trim().is_empty() => break,
            Event::End(TagEnd::Paragraph) => in_paragraph = false,
            Event::Text(t) | Event::Code(t) if in_paragraph => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak if in_paragraph => text.push(' '),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let at_word = cut.rfind(' ').map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cannot_carry_script_or_a_javascript_link() {
        let html = render_markdown(
            "Hi <script>alert(1)</script> <img src=x onerror=alert(2)>\n\n\
             [click](javascript:alert(3)) [ok](https://shop.example/a \"t\")\n\n\
             <a href=\"javascript:alert(4)\">x</a>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<a href=\"javascript"), "{html}");
        assert!(
            html.contains("<a rel=\"noopener noreferrer nofollow\">click</a>"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;"),
            "raw HTML is shown as text: {html}"
        );
        assert!(
            html.contains(r#"<a href="https://shop.example/a" title="t" rel="noopener noreferrer nofollow">ok</a>"#),
            "{html}"
        );
    }

    #[test]
    fn markdown_keeps_lists_emphasis_and_persian_text() {
        let html = render_markdown("مراحل:\n\n1. **ورود** به حساب\n2. `کد` را بزنید\n");
        assert!(html.contains("<ol>"), "{html}");
        assert!(html.contains("<strong>ورود</strong>"), "{html}");
        assert!(html.contains("<code>کد</code>"), "{html}");
    }

    #[test]
    fn a_reply_is_plain_text_with_its_lists_and_links() {
        let text = reply_text(
            "# Refunds\n\nMoney comes back **in 3 days**.\n\n1. Open *Orders*\n2. Press [Refund](https://shop.example/r)\n\n- a\n- b\n",
        );
        assert_eq!(
            text,
            "Refunds\n\nMoney comes back in 3 days.\n\n1. Open Orders\n2. Press Refund (https://shop.example/r)\n\n• a\n• b"
        );
    }

    #[test]
    fn a_summary_is_the_first_paragraph_in_plain_words() {
        let body = "# Title\n\nMoney comes back **within 3 days** to the\ncard you paid with.\n\nMore here.";
        assert_eq!(
            summary_of(body, 200),
            "Money comes back within 3 days to the card you paid with."
        );
        assert_eq!(summary_of(body, 20), "Money comes back…");
    }
}
