//! The ways a customer can be recognised, normalised so that two spellings of one
//! address or number compare equal.

use phonenumber::{Mode, country};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Persian (۰–۹) and Arabic-Indic (٠–٩) digits become ASCII; everything else is kept.
pub fn ascii_digits(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            other => other,
        })
        .collect()
}

/// An email address, lower-cased; only valid addresses can be built.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a valid email address")]
pub struct InvalidEmail(pub String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, InvalidEmail> {
        let trimmed = input.trim();
        let invalid = || InvalidEmail(trimmed.chars().take(100).collect());
        if trimmed.len() > 254 {
            return Err(invalid());
        }
        let parsed = email_address::EmailAddress::parse_with_options(
            trimmed,
            email_address::Options::default().without_display_text(),
        )
        .map_err(|_| invalid())?;
        // A bare domain (`a@localhost`) is legal mail syntax but never a customer's address.
        if !parsed.domain().contains('.') {
            return Err(invalid());
        }
        Ok(Self(parsed.as_str().to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidEmail;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.0)
    }
}

/// A phone number in E.164 (`+989123456789`); only valid numbers can be built.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a valid phone number")]
pub struct InvalidPhone(pub String);

/// The country assumed for numbers written without an international prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultRegion(pub country::Id);

impl DefaultRegion {
    pub fn parse(code: &str) -> Result<Self, String> {
        code.trim()
            .to_ascii_uppercase()
            .parse::<country::Id>()
            .map(Self)
            .map_err(|_| format!("`{code}` is not an ISO 3166 region code"))
    }
}

impl Default for DefaultRegion {
    fn default() -> Self {
        Self(country::Id::US)
    }
}

impl PhoneNumber {
    /// Parses any written form: national, international, `00` prefix, spaces, dashes,
    /// brackets, Persian or Arabic digits.
    pub fn parse(input: &str, region: DefaultRegion) -> Result<Self, InvalidPhone> {
        let ascii = ascii_digits(input.trim());
        let invalid = || InvalidPhone(input.trim().chars().take(40).collect());
        let digit_count = ascii.chars().filter(char::is_ascii_digit).count();
        if !(4..=17).contains(&digit_count) || ascii.len() > 40 {
            return Err(invalid());
        }
        let number = phonenumber::parse(Some(region.0), &ascii).map_err(|_| invalid())?;
        if !phonenumber::is_valid(&number) {
            return Err(invalid());
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    /// A number as a provider reports it (Twilio's `From`): E.164 is kept as given, since
    /// the provider has already put it in that form; anything else is parsed as written.
    /// Checking a provider's E.164 against the numbering plan again would load the whole
    /// plan (over a hundred milliseconds of CPU at a function's first message) and could
    /// turn away a real customer whose number is newer than the plan.
    pub fn reported(value: &str, region: DefaultRegion) -> Result<Self, InvalidPhone> {
        Self::from_e164(value).or_else(|_| Self::parse(value, region))
    }

    /// A value already in E.164, as stored.
    pub fn from_e164(e164: &str) -> Result<Self, InvalidPhone> {
        let valid = e164.len() >= 5
            && e164.len() <= 16
            && e164.starts_with('+')
            && !e164.starts_with("+0")
            && e164[1..].chars().all(|c| c.is_ascii_digit());
        if valid {
            Ok(Self(e164.to_owned()))
        } else {
            Err(InvalidPhone(e164.chars().take(40).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidPhone;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::from_e164(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.0)
    }
}

/// What kind of address an identity is.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Telegram,
    Email,
    Phone,
    WebVisitor,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::WebVisitor => "web_visitor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "telegram" => Self::Telegram,
            "email" => Self::Email,
            "phone" => Self::Phone,
            "web_visitor" => Self::WebVisitor,
            _ => return None,
        })
    }
}

/// One normalised address of a contact: a Telegram user id, an email address, an E.164
/// number or a web visitor id. Two identities are the same person iff they are equal.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct Identity {
    pub kind: IdentityKind,
    pub value: String,
}

impl Identity {
    pub fn email(address: &EmailAddress) -> Self {
        Self {
            kind: IdentityKind::Email,
            value: address.as_str().to_owned(),
        }
    }

    pub fn phone(number: &PhoneNumber) -> Self {
        Self {
            kind: IdentityKind::Phone,
            value: number.as_str().to_owned(),
        }
    }

    pub fn telegram(user_id: i64) -> Self {
        Self {
            kind: IdentityKind::Telegram,
            value: user_id.to_string(),
        }
    }

    pub fn web_visitor(visitor: &str) -> Self {
        Self {
            kind: IdentityKind::WebVisitor,
            value: visitor.to_owned(),
        }
    }

    /// The single string this identity is keyed by in the store (`email:a@b.c`).
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.value)
    }

    pub fn from_key(key: &str) -> Option<Self> {
        let (kind, value) = key.split_once(':')?;
        Some(Self {
            kind: IdentityKind::parse(kind)?,
            value: value.to_owned(),
        })
    }
}

/// An identity as a message presents it, at one of three levels of trust:
///
/// - **proven**: the channel vouches for it (a Telegram sender, a Twilio `From`, a
///   caller id, an email that passed DMARC, an address confirmed through a one-time
///   link). It joins only a contact that holds it proven.
/// - **reported**: the channel says the message came from it but cannot vouch (an
///   email `From` without a verdict). It joins only a contact that holds it reported
///   or proven by the same kind of source, never one that merely had it typed in.
/// - **typed**: anyone could have written it (a web form's email or phone). It never
///   joins, extends or merges an existing contact; where another contact holds it, an
///   agent is offered a merge instead.
///
/// Whatever the level, a reply only ever goes to an identity the customer proved or to
/// the exact address the answered message came from (see `services::recipient`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentedIdentity {
    pub identity: Identity,
    pub proven: bool,
    /// Typed into a form by whoever sent it (see the levels above).
    #[serde(default)]
    pub typed: bool,
    /// The sender proved it is theirs in a way that also makes the contact holding it
    /// them (a Telegram user sharing their own phone number): that contact and the
    /// sender's become one.
    #[serde(default)]
    pub links: bool,
}

impl PresentedIdentity {
    pub fn proven(identity: Identity) -> Self {
        Self {
            identity,
            proven: true,
            typed: false,
            links: false,
        }
    }

    /// Reported by the channel, not vouched for.
    pub fn claimed(identity: Identity) -> Self {
        Self {
            identity,
            proven: false,
            typed: false,
            links: false,
        }
    }

    /// Typed into a form: it never joins anything.
    pub fn typed(identity: Identity) -> Self {
        Self {
            identity,
            proven: false,
            typed: true,
            links: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iran() -> DefaultRegion {
        DefaultRegion::parse("IR").unwrap()
    }

    #[test]
    fn persian_and_arabic_digits_become_ascii() {
        assert_eq!(ascii_digits("۰۹۱۲ ۳۴۵ ۶۷۸۹"), "0912 345 6789");
        assert_eq!(ascii_digits("٠٩١٢٣٤٥٦٧٨٩"), "09123456789");
        assert_eq!(ascii_digits("abc 12"), "abc 12");
    }

    #[test]
    fn every_written_form_of_an_iranian_mobile_is_one_number() {
        let forms = [
            "۰۹۱۲ ۳۴۵ ۶۷۸۹",
            "0912-345-6789",
            "+98 912 345 6789",
            "00989123456789",
            "٠٩١٢٣٤٥٦٧٨٩",
            "(0912) 345 6789",
        ];
        for form in forms {
            let number = PhoneNumber::parse(form, iran()).unwrap_or_else(|e| panic!("{form}: {e}"));
            assert_eq!(number.as_str(), "+989123456789", "{form}");
        }
    }

    #[test]
    fn the_default_region_decides_national_numbers() {
        let us = DefaultRegion::parse("us").unwrap();
        assert_eq!(
            PhoneNumber::parse("(415) 555-2671", us).unwrap().as_str(),
            "+14155552671"
        );
        assert_eq!(
            PhoneNumber::parse("+44 20 7946 0958", us).unwrap().as_str(),
            "+442079460958"
        );
    }

    #[test]
    fn a_reported_number_is_kept_in_e164_or_parsed_as_written() {
        let us = DefaultRegion::parse("us").unwrap();
        for (reported, stored) in [
            ("+14155552671", "+14155552671"),
            ("+989123456789", "+989123456789"),
            ("(415) 555-2671", "+14155552671"),
            ("+98 912 345 6789", "+989123456789"),
        ] {
            let number = PhoneNumber::reported(reported, us).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(number.as_str(), stored, "{reported}");
        }
        for not_a_number in ["TWILIO", "12345", "+", "+0123456789"] {
            let parsed = PhoneNumber::reported(not_a_number, us);
            assert!(parsed.is_err(), "{not_a_number}: {parsed:?}");
        }
    }

    #[test]
    fn nonsense_is_not_a_phone_number() {
        for bad in [
            "",
            "12",
            "hello",
            "+98 912",
            "0912345678901234567890",
            "++--",
        ] {
            assert!(PhoneNumber::parse(bad, iran()).is_err(), "{bad}");
        }
        assert!(DefaultRegion::parse("ZZ").is_err());
    }

    #[test]
    fn email_addresses_are_lower_cased_and_validated() {
        assert_eq!(
            EmailAddress::parse(" Sara@Example.COM ").unwrap().as_str(),
            "sara@example.com"
        );
        for bad in [
            "",
            "sara",
            "sara@",
            "@example.com",
            "sara@localhost",
            "a b@example.com",
            "Sara <sara@example.com>",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identity_keys_round_trip() {
        let id = Identity::telegram(9_007_199_254_740_993);
        assert_eq!(id.key(), "telegram:9007199254740993");
        assert_eq!(Identity::from_key(&id.key()), Some(id));
        assert_eq!(Identity::from_key("fax:1"), None);
    }
}
