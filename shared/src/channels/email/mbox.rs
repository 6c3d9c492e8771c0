//! Files of mail to import: one `.eml`, or an mbox of many (`From ` separator lines).

/// The raw messages in `file`: an mbox is split (its `>From ` escapes undone by the
/// reader), anything else is one message.
pub fn split_messages(file: &[u8]) -> Vec<Vec<u8>> {
    if !file.starts_with(b"From ") {
        return vec![file.to_vec()];
    }
    mail_parser::mailbox::mbox::MessageIterator::new(std::io::Cursor::new(file))
        .filter_map(Result::ok)
        .map(|m| m.unwrap_contents())
        .filter(|m| !m.iter().all(u8::is_ascii_whitespace))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mbox_is_split_into_its_messages() {
        let mbox = b"From a@example.com Mon Nov  3 09:00:00 2025\nFrom: a@example.com\nSubject: one\n\nfirst\n\nFrom b@example.com Mon Nov  3 10:00:00 2025\nFrom: b@example.com\nSubject: two\n\nsecond\n";
        let messages = split_messages(mbox);
        assert_eq!(messages.len(), 2);
        assert!(String::from_utf8_lossy(&messages[1]).contains("second"));
    }

    #[test]
    fn a_single_email_is_one_message() {
        assert_eq!(split_messages(b"From: a@example.com\n\nhi\n").len(), 1);
    }
}
