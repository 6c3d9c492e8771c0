//! TwiML answers: what Twilio does after a webhook call.
//!
//! <https://www.twilio.com/docs/voice/twiml>, <https://www.twilio.com/docs/messaging/twiml>

/// Nothing more to do (an SMS taken, a callback noted).
pub const EMPTY: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#;

/// The content type Twilio expects TwiML in.
pub const CONTENT_TYPE: &str = "text/xml";

/// Escapes text for an XML element or attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && !matches!(c, '\n' | '\t') => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(
            super::escape("<Say> & \"x\" 'y'\u{7}"),
            "&lt;Say&gt; &amp; &quot;x&quot; &apos;y&apos;"
        );
    }
}
