//! `POST /webhooks/twilio/{sms,status}`: check Twilio's signature, normalize, enqueue,
//! answer TwiML at once. Media and delivery reports are handled behind the queue.

use crate::channels::twilio::params::MAX_FORM_BYTES;
use crate::channels::twilio::{
    Normalized, Params, normalize_sms, normalize_status, signature, twiml, voice,
};
use crate::config::TwilioConfig;
use crate::http::ChannelState;
use crate::http::links::request_base;
use crate::http::problem::ApiError;
use crate::model::BusinessHours;
use crate::ports::Blob;
use crate::services::ingest::Queued;
use axum::extract::FromRef;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A form Twilio signed for this server: its parameters, the account's settings, and
/// the public base URL the call came to (what the TwiML's callbacks point at).
pub struct TwilioForm {
    pub params: Params,
    pub config: TwilioConfig,
    pub base: String,
}

impl<S> FromRequest<S> for TwilioForm
where
    S: Send + Sync,
    ChannelState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let state = ChannelState::from_ref(state);
        let Some(config) = state.config.twilio.clone() else {
            return Err(ApiError::not_found("route"));
        };
        let presented = req
            .headers()
            .get(signature::HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Some(presented) = presented else {
            tracing::warn!("Twilio webhook call without a signature refused");
            return Err(forbidden());
        };
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let path = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
        // Configured, or the scheme and host the call came in on (behind API Gateway,
        // `lambda_http` builds them from the API's host and `X-Forwarded-Proto`).
        let base = config
            .public_url
            .clone()
            .or_else(|| request_base(req.uri(), req.headers()));
        let Some(base) = base else {
            tracing::warn!("Twilio webhook call to no known host refused");
            return Err(forbidden());
        };
        let body = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {MAX_FORM_BYTES} bytes"),
                )
            })?;
        if !is_form {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Twilio posts application/x-www-form-urlencoded",
            ));
        }
        let params = Params::parse(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let url = format!("{base}{path}");
        if !signature::verify_form(config.auth_token.expose(), &url, params.pairs(), &presented) {
            // The path only: the public URL may carry basic-auth credentials.
            tracing::warn!(%path, "Twilio webhook call with a wrong signature refused");
            return Err(forbidden());
        }
        if params
            .get("AccountSid")
            .is_some_and(|sid| sid != config.account_sid)
        {
            tracing::warn!("Twilio webhook call for another account refused");
            return Err(forbidden());
        }
        Ok(Self {
            params,
            config,
            base,
        })
    }
}

fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "the X-Twilio-Signature header is missing or wrong",
    )
}

/// TwiML telling Twilio there is nothing more to do.
pub fn empty_twiml() -> Response {
    twiml_response(twiml::EMPTY.to_owned())
}

pub fn twiml_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, twiml::CONTENT_TYPE)], body).into_response()
}

/// An incoming SMS or MMS.
pub async fn sms(State(state): State<ChannelState>, form: TwilioForm) -> Response {
    enqueue(
        &state,
        normalize_sms(&form.params, state.config.default_region),
        "SMS",
    )
    .await
}

/// A status callback about an SMS we sent.
pub async fn status(State(state): State<ChannelState>, form: TwilioForm) -> Response {
    enqueue(&state, normalize_status(&form.params), "status callback").await
}

/// A call to the number: greet, then dial the team or take a voicemail.
pub async fn voice(State(state): State<ChannelState>, form: TwilioForm) -> Response {
    let settings = &form.config.voice;
    let hours = call_hours(&state, settings).await;
    twiml_response(voice::answer(
        settings,
        &hours,
        &form.base,
        chrono::Utc::now(),
    ))
}

/// The hours a call is put through in: the stored calendar's as it stands, when one is
/// named; the configured hours when none is, or it cannot be read (a caller is answered
/// either way).
async fn call_hours(state: &ChannelState, settings: &voice::VoiceSettings) -> BusinessHours {
    let (Some(id), Some(calendars)) = (settings.calendar, &state.calendars) else {
        return settings.hours.clone();
    };
    let read = calendars.calendars().await.map_err(|e| e.to_string());
    match read.and_then(|all| {
        all.into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| format!("there is no calendar {id}"))?
            .business_hours()
    }) {
        Ok(hours) => hours,
        Err(error) => {
            tracing::error!(calendar_id = %id, %error, "the voice calendar could not be read; its configured hours stand");
            settings.hours.clone()
        }
    }
}

/// The dial's outcome: an answered call is noted; an unanswered one goes to voicemail.
pub async fn voice_dial(State(state): State<ChannelState>, form: TwilioForm) -> Response {
    let normalized =
        voice::normalize_callback(voice::DIAL_PATH, &form.params, state.config.default_region);
    let next = voice::after_dial(&form.params, &form.base);
    if matches!(normalized, Normalized::Message(_)) {
        note_outcome(&state, &form.params).await;
    }
    match enqueue(&state, normalized, "dial outcome").await {
        answer if answer.status().is_success() => twiml_response(next),
        failed => failed,
    }
}

/// A voicemail recorded (or the caller hung up at the tone).
pub async fn voice_recording(State(state): State<ChannelState>, form: TwilioForm) -> Response {
    let normalized = voice::normalize_callback(
        voice::RECORDING_PATH,
        &form.params,
        state.config.default_region,
    );
    if matches!(normalized, Normalized::Message(_)) {
        note_outcome(&state, &form.params).await;
    }
    enqueue(&state, normalized, "recording").await
}

/// The call's end (the number's status callback). A call whose dial or recording was
/// reported has its item already; one that ended before either (the caller hung up
/// during the greeting) is a missed call to return.
pub async fn voice_status(State(state): State<ChannelState>, form: TwilioForm) -> Response {
    if !voice::is_final_status(&form.params) {
        return empty_twiml();
    }
    let key = form.params.get("CallSid").map(voice::outcome_key);
    if let Some(key) = &key {
        match state.blobs.get(key).await {
            Ok(Some(_)) => {
                tracing::info!("call ended after its outcome was reported");
                return empty_twiml();
            }
            Ok(None) => {}
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let normalized = voice::normalize_callback(
        voice::STATUS_PATH,
        &form.params,
        state.config.default_region,
    );
    enqueue(&state, normalized, "call ended unreported").await
}

/// Notes that a call's dial or recording was reported, before answering Twilio (which
/// sends the call's status callback only after that answer). Best effort: should it
/// fail, the status callback's item shares the recording's source id, so a missed call
/// is still stored once.
async fn note_outcome(state: &ChannelState, params: &Params) {
    let Some(call_sid) = params.get("CallSid") else {
        return;
    };
    let note = Blob {
        content_type: "application/json".into(),
        bytes: br#"{"reported":true}"#.to_vec(),
    };
    if let Err(e) = state.blobs.put(&voice::outcome_key(call_sid), note).await {
        tracing::warn!(error = %e, "could not note the call's reported outcome");
    }
}

/// A voicemail's transcription.
pub async fn voice_transcription(State(state): State<ChannelState>, form: TwilioForm) -> Response {
    let normalized = voice::normalize_callback(
        voice::TRANSCRIPTION_PATH,
        &form.params,
        state.config.default_region,
    );
    enqueue(&state, normalized, "transcription").await
}

async fn enqueue(state: &ChannelState, normalized: Normalized, what: &'static str) -> Response {
    match normalized {
        Normalized::Invalid(detail) => ApiError::bad_request(detail).into_response(),
        Normalized::Ignored(reason) => {
            tracing::info!(what, reason, "Twilio call ignored");
            empty_twiml()
        }
        Normalized::Message(message) => submitted(state, &*message, what).await,
        Normalized::News(news) => submitted(state, &*news, what).await,
    }
}

async fn submitted(state: &ChannelState, item: &impl Queued, what: &'static str) -> Response {
    if let Err(e) = state.ingest.submit(item).await {
        return ApiError::from(e).into_response();
    }
    tracing::info!(
        what,
        source_id = item.source_id().as_str(),
        "Twilio call queued"
    );
    empty_twiml()
}
