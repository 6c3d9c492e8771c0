//! Strict `application/x-www-form-urlencoded` decoding: invalid UTF-8 or a broken escape
//! is an error, never silently replaced.

use percent_encoding::percent_decode;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormError {
    #[error("the form body is not valid UTF-8")]
    NotUtf8,
    #[error("the form field `{0}` is malformed")]
    Malformed(String),
    #[error("the form field `{0}` appears more than once")]
    Repeated(String),
}

/// Decodes a form body into its fields; each field may appear once.
pub fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, FormError> {
    let mut fields = HashMap::new();
    for (name, value) in parse_pairs(body)? {
        if fields.insert(name.clone(), value).is_some() {
            return Err(FormError::Repeated(name));
        }
    }
    Ok(fields)
}

/// Decodes a form body into its `(name, value)` pairs in order, repeats kept (a signed
/// webhook signs every pair it sent).
pub fn parse_pairs(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let text = std::str::from_utf8(body).map_err(|_| FormError::NotUtf8)?;
    let mut pairs = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name =
            decode(name).map_err(|_| FormError::Malformed(name.chars().take(40).collect()))?;
        let value = decode(value).map_err(|_| FormError::Malformed(name.clone()))?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn decode(raw: &str) -> Result<String, ()> {
    let spaced = raw.replace('+', " ");
    let bytes = spaced.as_bytes();
    // A `%` must start a two-digit hex escape.
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(())?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err(());
            }
        }
    }
    percent_decode(bytes)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_persian_and_plus_signs() {
        let fields =
            parse_form("name=%D8%B3%D8%A7%D8%B1%D8%A7&message=a+b%2Bc".as_bytes()).unwrap();
        assert_eq!(fields["name"], "سارا");
        assert_eq!(fields["message"], "a b+c");
    }

    #[test]
    fn refuses_invalid_utf8_broken_escapes_and_repeats() {
        assert_eq!(
            parse_form(b"message=%FF%FE"),
            Err(FormError::Malformed("message".into()))
        );
        assert_eq!(parse_form(b"message=\xff"), Err(FormError::NotUtf8));
        assert!(parse_form(b"message=100%").is_err());
        assert!(parse_form(b"message=%zz").is_err());
        assert_eq!(parse_form(b"a=1&a=2"), Err(FormError::Repeated("a".into())));
    }
}
