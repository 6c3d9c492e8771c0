//! Opaque keyset cursors: the sort key of the last item a page showed.

use crate::ports::{PortError, PortResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn encode(millis: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{millis}|{id}"))
}

pub fn decode(cursor: &str) -> PortResult<(i64, String)> {
    let invalid = || PortError::Invalid("the cursor is not one this server issued".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (millis, id) = text.split_once('|').ok_or_else(invalid)?;
    Ok((millis.parse().map_err(|_| invalid())?, id.to_owned()))
}

pub fn encode_seq(seq: &str) -> String {
    URL_SAFE_NO_PAD.encode(seq)
}

pub fn decode_seq(cursor: &str) -> PortResult<String> {
    let invalid = || PortError::Invalid("the cursor is not one this server issued".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let seq = String::from_utf8(bytes).map_err(|_| invalid())?;
    if seq.len() == 26 && seq.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(seq)
    } else {
        Err(invalid())
    }
}
