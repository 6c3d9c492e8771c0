//! Twilio and the PBX hook on AWS. The auth token and the PBX secret live in SSM
//! SecureStrings; each function reads the one it needs, once, at start. The rest (the
//! account SID, the numbers, the greeting, business hours) is plain configuration.

use super::Error;
use crate::aws::AwsClients;
use crate::channels::twilio::{MediaFetcher, SmsSender, TwilioApi};
use crate::config::{PbxConfig, TwilioConfig};
use crate::settings::{ConfigError, TwilioAccount, Vars, schema as s};

/// The Twilio account, when the stack has one (`SWITCHBOARD_TWILIO_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwilioSettings {
    /// Everything but the auth token, read as the local server reads it.
    pub account: TwilioAccount,
    /// SSM SecureString with the auth token (`SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER`):
    /// the webhook checks signatures with it, the sender sends and the router fetches
    /// media with it.
    pub auth_token_parameter: String,
}

/// The PBX hook, when the stack has one (`SWITCHBOARD_PBX_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbxSettings {
    /// SSM SecureString with the shared secret (`SWITCHBOARD_PBX_SECRET_PARAMETER`).
    pub secret_parameter: String,
    /// How far a call's timestamp may be from our clock (`SWITCHBOARD_PBX_WINDOW_SECS`).
    pub window_secs: i64,
}

/// The account's token parameter; none without an account.
pub(super) fn twilio_settings(
    vars: &Vars,
    account: Option<TwilioAccount>,
) -> Result<Option<TwilioSettings>, ConfigError> {
    let Some(account) = account else {
        return Ok(None);
    };
    let auth_token_parameter = vars.given(&s::TWILIO_AUTH_TOKEN_PARAMETER).ok_or_else(|| {
        ConfigError::new(
            &s::TWILIO_AUTH_TOKEN_PARAMETER,
            "is required with an account SID",
        )
    })?;
    Ok(Some(TwilioSettings {
        account,
        auth_token_parameter,
    }))
}

/// The PBX hook; none without a secret parameter.
pub(super) fn pbx_settings(
    vars: &Vars,
    window_secs: i64,
) -> Result<Option<PbxSettings>, ConfigError> {
    let Some(secret_parameter) = vars.given(&s::PBX_SECRET_PARAMETER) else {
        return Ok(None);
    };
    if !(1..=3600).contains(&window_secs) {
        return Err(ConfigError::new(
            &s::PBX_WINDOW_SECS,
            "must be 1–3600 seconds",
        ));
    }
    Ok(Some(PbxSettings {
        secret_parameter,
        window_secs,
    }))
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
        .account
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
    use crate::config::TwilioSender;
    use crate::model::PhoneNumber;

    const SID: &str = "ACe2e0000000000000000000000000e2e0";

    fn read(
        vars: &[(&str, &str)],
    ) -> Result<(Option<TwilioSettings>, Option<PbxSettings>), ConfigError> {
        let mut vars = vars.to_vec();
        if !vars.iter().any(|(k, _)| *k == "SWITCHBOARD_PUBLIC_URL") {
            vars.push(("SWITCHBOARD_PUBLIC_URL", "https://help.example.com"));
        }
        let config = crate::lambda::FunctionConfig::read(&Vars::of(&vars))?;
        Ok((config.twilio, config.pbx))
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
        assert_eq!(twilio.account.api_url, "https://api.twilio.com");
        // The stack's public URL, when Twilio's own is not set.
        assert_eq!(
            twilio.account.public_url.as_deref(),
            Some("https://help.example.com")
        );
        assert_eq!(
            twilio.account.sender,
            Some(TwilioSender::From(
                PhoneNumber::from_e164("+14155550100").unwrap()
            ))
        );
        assert!(twilio.account.voice.dial.is_some());
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
            ("SWITCHBOARD_TWILIO_VOICE_CALENDAR", "cal_tehran"),
        ] {
            let mut vars: Vec<(&str, &str)> = account
                .iter()
                .filter(|(k, _)| *k != name)
                .copied()
                .collect();
            vars.push((name, value));
            let err = read(&vars).unwrap_err();
            let expected = match name {
                "SWITCHBOARD_TWILIO_VOICE_HOURS" | "SWITCHBOARD_TWILIO_VOICE_CALENDAR" => {
                    "SWITCHBOARD_TWILIO_VOICE_*"
                }
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
