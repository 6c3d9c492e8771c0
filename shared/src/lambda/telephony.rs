//! Twilio and the PBX hook on AWS. The auth token and the PBX secret live in SSM
//! SecureStrings; each function reads the one it needs, once, at start. The rest (the
//! account SID, the numbers, the greeting, business hours) is plain configuration.

use super::Error;
use super::env::{ConfigError, checked_url, number};
use crate::aws::AwsClients;
use crate::channels::pbx::signature::DEFAULT_WINDOW_SECS;
use crate::channels::twilio::voice::VoiceSettings;
use crate::channels::twilio::{MediaFetcher, SmsSender, TwilioApi};
use crate::config::{PbxConfig, TwilioConfig, TwilioSender};
use crate::model::{DefaultRegion, PhoneNumber};

/// The Twilio account, when the stack has one (`SWITCHBOARD_TWILIO_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwilioSettings {
    /// `AC…` (`SWITCHBOARD_TWILIO_ACCOUNT_SID`): not a secret.
    pub account_sid: String,
    /// SSM SecureString with the auth token (`SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER`):
    /// the webhook checks signatures with it, the sender sends and the router fetches
    /// media with it.
    pub auth_token_parameter: String,
    /// The REST API's base URL (`SWITCHBOARD_TWILIO_API_URL`).
    pub api_url: String,
    /// What Twilio calls (`SWITCHBOARD_TWILIO_PUBLIC_URL`, else `SWITCHBOARD_PUBLIC_URL`);
    /// none: the host of each webhook call.
    pub public_url: Option<String>,
    /// Where replies come from (`SWITCHBOARD_TWILIO_FROM` or
    /// `SWITCHBOARD_TWILIO_MESSAGING_SERVICE_SID`); none: no SMS replies.
    pub sender: Option<TwilioSender>,
    /// The greeting, language, number to dial and business hours
    /// (`SWITCHBOARD_TWILIO_VOICE_{GREETING,LANGUAGE,DIAL,HOURS}`).
    pub voice: VoiceSettings,
}

/// The PBX hook, when the stack has one (`SWITCHBOARD_PBX_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbxSettings {
    /// SSM SecureString with the shared secret (`SWITCHBOARD_PBX_SECRET_PARAMETER`).
    pub secret_parameter: String,
    /// How far a call's timestamp may be from our clock (`SWITCHBOARD_PBX_WINDOW_SECS`).
    pub window_secs: i64,
}

/// Reads the Twilio variables; none without an account SID.
pub(super) fn twilio_settings(
    get: &impl Fn(&str) -> Option<String>,
    public_url: Option<&str>,
    region: DefaultRegion,
) -> Result<Option<TwilioSettings>, ConfigError> {
    let Some(account_sid) = get("SWITCHBOARD_TWILIO_ACCOUNT_SID") else {
        return Ok(None);
    };
    let wrong = |name: &'static str| move |problem: String| ConfigError { name, problem };
    let auth_token_parameter =
        get("SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER").ok_or_else(|| ConfigError {
            name: "SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER",
            problem: "is required with an account SID".into(),
        })?;
    let api_url = checked_url(
        "SWITCHBOARD_TWILIO_API_URL",
        &get("SWITCHBOARD_TWILIO_API_URL").unwrap_or_else(|| "https://api.twilio.com".into()),
    )?;
    let public_url = match get("SWITCHBOARD_TWILIO_PUBLIC_URL") {
        Some(url) => Some(checked_url("SWITCHBOARD_TWILIO_PUBLIC_URL", &url)?),
        None => public_url.map(str::to_owned),
    };
    let sender = match (
        get("SWITCHBOARD_TWILIO_FROM"),
        get("SWITCHBOARD_TWILIO_MESSAGING_SERVICE_SID"),
    ) {
        (Some(_), Some(_)) => {
            return Err(ConfigError {
                name: "SWITCHBOARD_TWILIO_FROM",
                problem: "set it or SWITCHBOARD_TWILIO_MESSAGING_SERVICE_SID, not both".into(),
            });
        }
        (Some(from), None) => Some(TwilioSender::From(
            PhoneNumber::parse(&from, region)
                .map_err(|e| e.to_string())
                .map_err(wrong("SWITCHBOARD_TWILIO_FROM"))?,
        )),
        (None, Some(service)) => Some(TwilioSender::MessagingService(service)),
        (None, None) => None,
    };
    let voice = VoiceSettings::configured(
        get("SWITCHBOARD_TWILIO_VOICE_GREETING").as_deref(),
        get("SWITCHBOARD_TWILIO_VOICE_LANGUAGE").as_deref(),
        get("SWITCHBOARD_TWILIO_VOICE_DIAL").as_deref(),
        get("SWITCHBOARD_TWILIO_VOICE_HOURS").as_deref(),
        region,
    )
    .map_err(wrong("SWITCHBOARD_TWILIO_VOICE_*"))?;
    let settings = TwilioSettings {
        account_sid,
        auth_token_parameter,
        api_url,
        public_url,
        sender,
        voice,
    };
    // The account SID and the Messaging Service SID are checked as the local server
    // checks them, with a stand-in token.
    settings
        .config("unchecked".into())
        .map_err(wrong("SWITCHBOARD_TWILIO_ACCOUNT_SID"))?;
    Ok(Some(settings))
}

/// Reads the PBX variables; none without a secret parameter.
pub(super) fn pbx_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<PbxSettings>, ConfigError> {
    let Some(secret_parameter) = get("SWITCHBOARD_PBX_SECRET_PARAMETER") else {
        return Ok(None);
    };
    let window_secs = number(get, "SWITCHBOARD_PBX_WINDOW_SECS", DEFAULT_WINDOW_SECS)?;
    if !(1..=3600).contains(&window_secs) {
        return Err(ConfigError {
            name: "SWITCHBOARD_PBX_WINDOW_SECS",
            problem: "must be 1–3600 seconds".into(),
        });
    }
    Ok(Some(PbxSettings {
        secret_parameter,
        window_secs,
    }))
}

impl TwilioSettings {
    fn config(&self, auth_token: String) -> Result<TwilioConfig, String> {
        let mut config = TwilioConfig::new(
            self.account_sid.clone(),
            auth_token,
            self.api_url.clone(),
            self.public_url.clone(),
            self.sender.clone(),
        )?;
        config.voice = self.voice.clone();
        Ok(config)
    }
}

/// The account with its auth token read from SSM: what the webhooks check signatures
/// with, and what the sender and the router build their clients from.
pub async fn twilio(
    clients: &AwsClients,
    settings: &TwilioSettings,
) -> Result<TwilioConfig, Error> {
    let parameter = &settings.auth_token_parameter;
    let token = clients.secret_parameter(parameter).await?;
    Ok(settings
        .config(token)
        .map_err(|e| format!("{parameter}: {e}"))?)
}

/// Replies by SMS; none when the account has no number or Messaging Service to send from.
pub fn sms_sender(config: &TwilioConfig) -> Result<Option<SmsSender>, Error> {
    Ok(SmsSender::new(config)?)
}

/// Downloads of MMS media and voicemail recordings, with the account's credentials.
pub fn media_fetcher(config: &TwilioConfig) -> Result<MediaFetcher, Error> {
    let api = TwilioApi::new(
        &config.api_url,
        &config.account_sid,
        config.auth_token.clone(),
    )?;
    Ok(MediaFetcher(api))
}

/// The PBX hook's settings with its secret read from SSM.
pub async fn pbx(clients: &AwsClients, settings: &PbxSettings) -> Result<PbxConfig, Error> {
    let parameter = &settings.secret_parameter;
    let secret = clients.secret_parameter(parameter).await?;
    Ok(PbxConfig::new(secret, settings.window_secs).map_err(|e| format!("{parameter}: {e}"))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SID: &str = "ACe2e0000000000000000000000000e2e0";

    fn read(
        vars: &[(&str, &str)],
    ) -> Result<(Option<TwilioSettings>, Option<PbxSettings>), ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = |name: &str| vars.get(name).cloned().filter(|v| !v.trim().is_empty());
        let region = DefaultRegion::parse("US").map_err(|problem| ConfigError {
            name: "SWITCHBOARD_DEFAULT_REGION",
            problem,
        })?;
        Ok((
            twilio_settings(&get, Some("https://help.example.com"), region)?,
            pbx_settings(&get)?,
        ))
    }

    #[test]
    fn empty_template_parameters_turn_nothing_on() {
        let (twilio, pbx) = read(&[
            ("SWITCHBOARD_TWILIO_ACCOUNT_SID", ""),
            ("SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER", "/sb/twilio"),
            ("SWITCHBOARD_PBX_SECRET_PARAMETER", ""),
        ])
        .unwrap();
        assert_eq!((twilio, pbx), (None, None));
    }

    #[test]
    fn an_account_sid_reads_the_rest_of_the_account() {
        let (twilio, pbx) = read(&[
            ("SWITCHBOARD_TWILIO_ACCOUNT_SID", SID),
            ("SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER", "/sb/twilio"),
            ("SWITCHBOARD_TWILIO_FROM", "(415) 555-0100"),
            ("SWITCHBOARD_TWILIO_VOICE_DIAL", "+14155550111"),
            (
                "SWITCHBOARD_TWILIO_VOICE_HOURS",
                "mon-fri 09:00-17:00 America/New_York",
            ),
            ("SWITCHBOARD_PBX_SECRET_PARAMETER", "/sb/pbx"),
            ("SWITCHBOARD_PBX_WINDOW_SECS", "60"),
        ])
        .unwrap();
        let twilio = twilio.expect("an account");
        assert_eq!(twilio.auth_token_parameter, "/sb/twilio");
        assert_eq!(twilio.api_url, "https://api.twilio.com");
        // The stack's public URL, when Twilio's own is not set.
        assert_eq!(
            twilio.public_url.as_deref(),
            Some("https://help.example.com")
        );
        assert_eq!(
            twilio.sender,
            Some(TwilioSender::From(
                PhoneNumber::from_e164("+14155550100").unwrap()
            ))
        );
        assert!(twilio.voice.dial.is_some());
        assert_eq!(
            pbx,
            Some(PbxSettings {
                secret_parameter: "/sb/pbx".into(),
                window_secs: 60,
            })
        );
    }

    #[test]
    fn a_wrong_value_names_its_variable() {
        let account = [
            ("SWITCHBOARD_TWILIO_ACCOUNT_SID", SID),
            ("SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER", "/sb/twilio"),
        ];
        for (name, value) in [
            ("SWITCHBOARD_TWILIO_ACCOUNT_SID", "AC-not-a-sid"),
            ("SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER", ""),
            ("SWITCHBOARD_TWILIO_API_URL", "api.twilio.com"),
            ("SWITCHBOARD_TWILIO_PUBLIC_URL", "help.example.com"),
            ("SWITCHBOARD_TWILIO_FROM", "not a number"),
            ("SWITCHBOARD_TWILIO_VOICE_HOURS", "whenever"),
        ] {
            let mut vars: Vec<(&str, &str)> = account
                .iter()
                .filter(|(k, _)| *k != name)
                .copied()
                .collect();
            vars.push((name, value));
            let err = read(&vars).unwrap_err();
            let expected = match name {
                "SWITCHBOARD_TWILIO_VOICE_HOURS" => "SWITCHBOARD_TWILIO_VOICE_*",
                other => other,
            };
            assert_eq!(err.name, expected, "{name}={value}: {err}");
        }
        let both = [
            account[0],
            account[1],
            ("SWITCHBOARD_TWILIO_FROM", "+14155550100"),
            (
                "SWITCHBOARD_TWILIO_MESSAGING_SERVICE_SID",
                "MG00000000000000000000000000000000",
            ),
        ];
        assert_eq!(read(&both).unwrap_err().name, "SWITCHBOARD_TWILIO_FROM");
        let window = [
            ("SWITCHBOARD_PBX_SECRET_PARAMETER", "/sb/pbx"),
            ("SWITCHBOARD_PBX_WINDOW_SECS", "0"),
        ];
        assert_eq!(
            read(&window).unwrap_err().name,
            "SWITCHBOARD_PBX_WINDOW_SECS"
        );
    }
}
