use crate::channels::form::{FormError, parse_form};
use crate::model::{
    Channel, DefaultRegion, EmailAddress, Identity, InboundMessage, PhoneNumber, PresentedIdentity,
    SourceId,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The fields a form may send; anything else is ignored.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct WebformFields {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub message: Option<String>,
    pub page: Option<String>,
    pub idempotency_key: Option<String>,
    /// A honeypot: hidden from people, filled in by bots.
    pub website: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebformError {
    #[error("{0}")]
    Malformed(String),
    #[error("send the form as application/x-www-form-urlencoded or application/json")]
    UnsupportedType,
    /// What is wrong, for a page to say in its language, and in the API's words.
    #[error("{1}")]
    Invalid(FormProblem, String),
}

/// What is wrong with a submission, as a person filling in the form would be told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormProblem {
    NoMessage,
    MessageTooLong,
    BadEmail,
    BadPhone,
    NoEmailOrPhone,
    /// Something only a program sends wrong (a long name, a malformed key).
    Other,
}

pub const MAX_MESSAGE_CHARS: usize = 10_000;

/// Reads the body as the content type says.
pub fn parse_fields(content_type: &str, body: &[u8]) -> Result<WebformFields, WebformError> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => {
            let mut fields =
                parse_form(body).map_err(|e: FormError| WebformError::Malformed(e.to_string()))?;
            let mut take = |name: &str| fields.remove(name);
            Ok(WebformFields {
                name: take("name"),
                email: take("email"),
                phone: take("phone"),
                message: take("message"),
                page: take("page"),
                idempotency_key: take("idempotency_key"),
                website: take("website"),
            })
        }
        "application/json" => serde_json::from_slice(body)
            .map_err(|e| WebformError::Malformed(format!("the JSON body is malformed: {e}"))),
        _ => Err(WebformError::UnsupportedType),
    }
}

/// A validated submission.
#[derive(Clone, Debug, PartialEq)]
pub struct Submission {
    pub name: Option<String>,
    pub email: Option<EmailAddress>,
    pub phone: Option<PhoneNumber>,
    pub message: String,
    pub page: Option<String>,
    pub idempotency_key: Option<String>,
    pub is_spam: bool,
}

fn present(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The message text, exactly as written apart from surrounding blank space.
pub fn checked_message(message: Option<String>) -> Result<String, WebformError> {
    let message = message.unwrap_or_default();
    let trimmed = message.trim_matches(|c: char| c == '\r' || c == '\n' || c == ' ' || c == '\t');
    if trimmed.is_empty() {
        return Err(WebformError::Invalid(
            FormProblem::NoMessage,
            "`message` is required".into(),
        ));
    }
    if trimmed.chars().count() > MAX_MESSAGE_CHARS {
        return Err(WebformError::Invalid(
            FormProblem::MessageTooLong,
            format!("`message` is longer than {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

pub fn checked_idempotency_key(key: Option<String>) -> Result<Option<String>, WebformError> {
    let Some(key) = present(key) else {
        return Ok(None);
    };
    let ok = key.len() <= 200
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(Some(key))
    } else {
        Err(WebformError::Invalid(
            FormProblem::Other,
            "`idempotency_key` must be up to 200 of A-Z a-z 0-9 - _ . :".into(),
        ))
    }
}

impl Submission {
    pub fn validate(fields: WebformFields, region: DefaultRegion) -> Result<Self, WebformError> {
        let is_spam = present(fields.website).is_some();
        let message = checked_message(fields.message)?;
        let email = present(fields.email)
            .map(|e| {
                EmailAddress::parse(&e).map_err(|e| {
                    WebformError::Invalid(FormProblem::BadEmail, format!("`email`: {e}"))
                })
            })
            .transpose()?;
        let phone = present(fields.phone)
            .map(|p| {
                PhoneNumber::parse(&p, region).map_err(|e| {
                    WebformError::Invalid(FormProblem::BadPhone, format!("`phone`: {e}"))
                })
            })
            .transpose()?;
        if email.is_none() && phone.is_none() {
            return Err(WebformError::Invalid(
                FormProblem::NoEmailOrPhone,
                "give an `email` or a `phone` so we can answer".into(),
            ));
        }
        let name = present(fields.name);
        if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
            return Err(WebformError::Invalid(
                FormProblem::Other,
                "`name` is longer than 200 characters".into(),
            ));
        }
        let page = present(fields.page);
        if page.as_ref().is_some_and(|p| p.len() > 2000) {
            return Err(WebformError::Invalid(
                FormProblem::Other,
                "`page` is longer than 2000 characters".into(),
            ));
        }
        Ok(Self {
            name,
            email,
            phone,
            message,
            page,
            idempotency_key: checked_idempotency_key(fields.idempotency_key)?,
            is_spam,
        })
    }

    /// A digest of everything the submission says: a retry under one idempotency key
    /// must say the same.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let email = self.email.as_ref().map(EmailAddress::as_str);
        let phone = self.phone.as_ref().map(PhoneNumber::as_str);
        let mut hasher = Sha256::new();
        for field in [
            self.name.as_deref(),
            email,
            phone,
            Some(self.message.as_str()),
            self.page.as_deref(),
        ] {
            match field {
                Some(value) => {
                    hasher.update([1]);
                    hasher.update((value.len() as u64).to_be_bytes());
                    hasher.update(value.as_bytes());
                }
                None => hasher.update([0]),
            }
        }
        hasher.finalize().into()
    }

    /// The channel-neutral message; `link_hash` binds the customer's page link to it.
    pub fn into_inbound(
        self,
        source_id: SourceId,
        link_hash: String,
        received_at: DateTime<Utc>,
    ) -> InboundMessage {
        let mut identities = Vec::new();
        if let Some(email) = &self.email {
            identities.push(PresentedIdentity::typed(Identity::email(email)));
        }
        if let Some(phone) = &self.phone {
            identities.push(PresentedIdentity::typed(Identity::phone(phone)));
        }
        InboundMessage {
            sender_name: self.name,
            identities,
            text: self.message,
            customer_link: Some(link_hash),
            context: self
                .page
                .map(|p| vec![("page".to_owned(), p)])
                .unwrap_or_default(),
            ..InboundMessage::new(source_id, Channel::Web, received_at)
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
    fn a_form_with_an_email_or_a_phone_is_accepted() {
        let fields = parse_fields(
            "application/x-www-form-urlencoded; charset=UTF-8",
            "name=Sara&phone=%DB%B0%DB%B9%DB%B1%DB%B2%DB%B3%DB%B4%DB%B5%DB%B6%DB%B7%DB%B8%DB%B9&message=hi".as_bytes(),
        )
        .unwrap();
        let s = Submission::validate(fields, iran()).unwrap();
        assert_eq!(s.phone.unwrap().as_str(), "+989123456789");
        assert!(!s.is_spam);
    }

    #[test]
    fn json_is_accepted_and_unknown_fields_ignored() {
        let body =
            br#"{"email":"Sara@Example.com","message":"\u0633\u0644\u0627\u0645","utm":"x"}"#;
        let s =
            Submission::validate(parse_fields("application/json", body).unwrap(), iran()).unwrap();
        assert_eq!(s.email.unwrap().as_str(), "sara@example.com");
        assert_eq!(s.message, "سلام");
    }

    #[test]
    fn what_is_missing_or_wrong_is_named() {
        let invalid = |json: &str| {
            Submission::validate(
                parse_fields("application/json", json.as_bytes()).unwrap(),
                iran(),
            )
            .unwrap_err()
        };
        assert!(
            invalid(r#"{"email":"a@b.co"}"#)
                .to_string()
                .contains("message")
        );
        assert!(invalid(r#"{"message":"hi"}"#).to_string().contains("email"));
        assert!(
            invalid(r#"{"message":"hi","email":"nope"}"#)
                .to_string()
                .contains("email")
        );
        assert!(
            invalid(r#"{"message":"hi","phone":"12"}"#)
                .to_string()
                .contains("phone")
        );
        assert!(
            invalid(r#"{"message":"hi","email":"a@b.co","idempotency_key":"a b"}"#)
                .to_string()
                .contains("idempotency_key")
        );
        assert_eq!(
            parse_fields("text/plain", b"hi"),
            Err(WebformError::UnsupportedType)
        );
        assert!(matches!(
            parse_fields("application/json", b"{"),
            Err(WebformError::Malformed(_))
        ));
    }

    #[test]
    fn a_submission_s_fingerprint_changes_with_anything_it_says() {
        let base = WebformFields {
            name: Some("Sara".into()),
            email: Some("sara@example.com".into()),
            message: Some("hi".into()),
            ..Default::default()
        };
        let print =
            |fields: WebformFields| Submission::validate(fields, iran()).unwrap().fingerprint();
        let same_address_other_case = WebformFields {
            email: Some("Sara@Example.com".into()),
            ..base.clone()
        };
        assert_eq!(print(base.clone()), print(same_address_other_case));
        for changed in [
            WebformFields {
                message: Some("hello".into()),
                ..base.clone()
            },
            WebformFields {
                email: Some("sam@example.com".into()),
                ..base.clone()
            },
            WebformFields {
                name: None,
                ..base.clone()
            },
            WebformFields {
                page: Some("/pricing".into()),
                ..base.clone()
            },
            WebformFields {
                name: Some("Sarah".into()),
                ..base.clone()
            },
        ] {
            assert_ne!(print(base.clone()), print(changed));
        }
    }

    #[test]
    fn a_filled_honeypot_marks_spam() {
        let fields = WebformFields {
            email: Some("a@b.co".into()),
            message: Some("hi".into()),
            website: Some("http://spam".into()),
            ..Default::default()
        };
        assert!(Submission::validate(fields, iran()).unwrap().is_spam);
    }
}
