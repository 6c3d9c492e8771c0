//! An email's HTML body, sanitized so any client can render it (ammonia).
//!
//! HTML's tree building re-opens every unclosed formatting element (`<b>`, `<font>`, …)
//! still in its list at each new paragraph (WHATWG HTML, "reconstruct the active
//! formatting elements"), so a few kilobytes of `<b id=1>…<b id=3000>` followed by
//! thousands of `<p>x</p>` build millions of elements: gigabytes of memory before the
//! sanitizer sees any of them. A first pass builds the same tree but only counts its
//! elements, stopping at a budget linear in the input; HTML past it is not kept (its
//! text body still is).

use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::{
    Attribute, ExpandedName, LocalName, ParseOpts, QualName, local_name, ns, parse_fragment,
};
use std::borrow::Cow;
use std::cell::Cell;
use std::rc::Rc;

/// Elements allowed on top of one per byte of HTML (a real email has far fewer).
const BASE_ELEMENTS: usize = 10_000;

/// The HTML fed to the counting pass at a time: the budget is checked between chunks, so
/// the work past it is what one chunk's paragraphs can reopen.
const CHUNK: usize = 256;

/// Formatting elements (`<b>`, `<font>`, …) left open at once, at most. Each open one is
/// in the tree builder's list of active formatting elements, which every new paragraph
/// and every end tag walks: thousands of them make parsing take time that grows with
/// their square. A real email leaves a handful open.
const MAX_OPEN_FORMATTING: usize = 500;

/// `html` sanitized, or `None` when its tree would be larger than the budget.
pub fn sanitize(html: &str) -> Option<String> {
    let open = most_formatting_open(html);
    if open > MAX_OPEN_FORMATTING {
        tracing::warn!(
            bytes = html.len(),
            open,
            "an HTML body leaves too many formatting elements open to sanitize; only its text is kept"
        );
        return None;
    }
    let budget = BASE_ELEMENTS.saturating_add(html.len());
    if !builds_at_most(html, budget) {
        tracing::warn!(
            bytes = html.len(),
            budget,
            "an HTML body would build too many elements to sanitize; only its text is kept"
        );
        return None;
    }
    Some(
        ammonia::Builder::default()
            // Inline images refer to their attachment by `cid:`.
            .add_url_schemes(&["cid"])
            .clean(html)
            .to_string(),
    )
}

/// Whether parsing `html` as ammonia does (a fragment in a `<div>`) creates at most
/// `budget` elements.
fn builds_at_most(html: &str, budget: usize) -> bool {
    let created = Rc::new(Cell::new(0));
    let sink = ElementCount {
        created: Rc::clone(&created),
        document: nameless(),
    };
    let context = QualName::new(None, ns!(html), local_name!("div"));
    let mut parser = parse_fragment(sink, ParseOpts::default(), context, Vec::new(), false);
    let mut rest = html;
    while !rest.is_empty() {
        let mut at = rest.len().min(CHUNK);
        while !rest.is_char_boundary(at) {
            at += 1;
        }
        let (chunk, tail) = rest.split_at(at);
        parser.process(StrTendril::from_slice(chunk));
        if created.get() > budget {
            return false;
        }
        rest = tail;
    }
    parser.finish();
    created.get() <= budget
}

/// The most formatting elements open at once in `html`, by its tags alone (the tokenizer,
/// one pass, no tree): an upper bound of what the tree builder's list will hold.
fn most_formatting_open(html: &str) -> usize {
    let sink = FormattingDepth::default();
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // Without a tree builder nothing asks the tokenizer to stop for a script.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.deepest.get()
}

#[derive(Default)]
struct FormattingDepth {
    open: Cell<usize>,
    deepest: Cell<usize>,
}

impl TokenSink for FormattingDepth {
    type Handle = ();

    fn process_token(&self, token: Token, _: u64) -> TokenSinkResult<()> {
        if let Token::TagToken(tag) = token
            && is_formatting(&tag.name)
        {
            match tag.kind {
                TagKind::StartTag if !tag.self_closing => {
                    let open = self.open.get() + 1;
                    self.open.set(open);
                    self.deepest.set(self.deepest.get().max(open));
                }
                TagKind::EndTag => self.open.set(self.open.get().saturating_sub(1)),
                TagKind::StartTag => {}
            }
        }
        TokenSinkResult::Continue
    }
}

/// HTML's formatting elements (WHATWG HTML, "formatting elements").
fn is_formatting(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("a")
            | local_name!("b")
            | local_name!("big")
            | local_name!("code")
            | local_name!("em")
            | local_name!("font")
            | local_name!("i")
            | local_name!("nobr")
            | local_name!("s")
            | local_name!("small")
            | local_name!("strike")
            | local_name!("strong")
            | local_name!("tt")
            | local_name!("u")
    )
}

/// A tree that keeps nothing: each element is only its name, held by the tree builder for
/// as long as it needs it, so the memory is the builder's own (its open elements and
/// formatting list), whatever the count.
struct ElementCount {
    created: Rc<Cell<usize>>,
    document: Rc<QualName>,
}

fn nameless() -> Rc<QualName> {
    Rc::new(QualName::new(None, ns!(), local_name!("")))
}

impl TreeSink for ElementCount {
    type Handle = Rc<QualName>;
    type Output = ();
    type ElemName<'a> = ExpandedName<'a>;

    fn finish(self) {}

    fn parse_error(&self, _: Cow<'static, str>) {}

    fn get_document(&self) -> Self::Handle {
        Rc::clone(&self.document)
    }

    fn elem_name<'a>(&'a self, target: &'a Self::Handle) -> ExpandedName<'a> {
        target.expanded()
    }

    fn create_element(&self, name: QualName, _: Vec<Attribute>, _: ElementFlags) -> Self::Handle {
        self.created.set(self.created.get().saturating_add(1));
        Rc::new(name)
    }

    fn create_comment(&self, _: StrTendril) -> Self::Handle {
        nameless()
    }

    fn create_pi(&self, _: StrTendril, _: StrTendril) -> Self::Handle {
        nameless()
    }

    fn append(&self, _: &Self::Handle, _: NodeOrText<Self::Handle>) {}

    fn append_based_on_parent_node(
        &self,
        _: &Self::Handle,
        _: &Self::Handle,
        _: NodeOrText<Self::Handle>,
    ) {
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {}

    fn get_template_contents(&self, target: &Self::Handle) -> Self::Handle {
        Rc::clone(target)
    }

    fn same_node(&self, x: &Self::Handle, y: &Self::Handle) -> bool {
        Rc::ptr_eq(x, y)
    }

    fn set_quirks_mode(&self, _: QuirksMode) {}

    fn append_before_sibling(&self, _: &Self::Handle, _: NodeOrText<Self::Handle>) {}

    fn add_attrs_if_missing(&self, _: &Self::Handle, _: Vec<Attribute>) {}

    fn remove_from_parent(&self, _: &Self::Handle) {}

    fn reparent_children(&self, _: &Self::Handle, _: &Self::Handle) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::email::{ParseSettings, parse_email};

    /// 3000 tags and paragraphs: 62 kB that took over 4 GB (the fuzz target's out-of-memory
    /// report) and a minute to sanitize.
    fn formatting_bomb(tags: usize, paragraphs: usize) -> Vec<u8> {
        let mut raw = String::from(
            "From: a@example.com\r\nSubject: hi\r\nMessage-ID: <bomb@example.com>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>",
        );
        for i in 0..tags {
            raw.push_str(&format!("<b id=\"{i}\">"));
        }
        raw.push_str("x</p>");
        raw.push_str(&"<p>x</p>".repeat(paragraphs));
        raw.into_bytes()
    }

    #[test]
    fn html_that_would_reopen_formatting_millions_of_times_is_not_kept() {
        let raw = formatting_bomb(3000, 3000);
        let parsed = parse_email(&raw, &ParseSettings::default()).unwrap();
        assert_eq!(parsed.html, None);
        assert!(parsed.text.trim_start().starts_with('x'));
    }

    #[test]
    fn html_that_leaves_thousands_of_formatting_elements_open_is_not_kept() {
        // Distinct attributes defeat the tree builder's limit of three alike; the end
        // tags then each walk the whole list.
        let mut html = String::new();
        for i in 0..2000 {
            html.push_str(&format!("<font id=\"{i}\">"));
        }
        html.push('x');
        html.push_str(&"</b>".repeat(2000));
        assert_eq!(most_formatting_open(&html), 2000);
        assert_eq!(sanitize(&html), None);
        // Closed as they go, the same tags are fine.
        let closed = "<b id=\"1\">x</b>".repeat(2000);
        assert_eq!(most_formatting_open(&closed), 1);
        assert!(sanitize(&closed).is_some());
    }

    #[test]
    fn ordinary_html_is_sanitized() {
        let html = "<p><b>Hi</b> <a href=\"https://example.com\">there</a><script>x</script>";
        assert_eq!(
            sanitize(html).as_deref(),
            Some(
                "<p><b>Hi</b> <a href=\"https://example.com\" rel=\"noopener noreferrer\">there</a></p>"
            )
        );
        // Unclosed formatting reopened a few times stays within the budget.
        let small = formatting_bomb(20, 20);
        let parsed = parse_email(&small, &ParseSettings::default()).unwrap();
        assert!(
            parsed
                .html
                .is_some_and(|h| h.matches("<b>").count() > 20 * 20)
        );
    }
}
