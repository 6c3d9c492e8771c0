//! Every setting Switchboard reads: its variable, its default, where it applies and what
//! it means. The local server's flags, its `--help`, the functions' readers and the
//! README's table all follow this list.

/// Where a setting is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// By the local server and by the functions on AWS.
    Both,
    /// By the local server only (`switchboard serve` and its commands).
    Local,
    /// By the functions on AWS only; the SAM template sets it.
    Aws,
}

/// What a setting's value is, for the local server's flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A value: `--name VALUE`.
    Value,
    /// A switch: `--name` alone means true.
    Switch,
    /// A value never shown in `--help` or logs (prefer the variable: flags show in `ps`).
    Secret,
}

/// One setting.
#[derive(Debug, PartialEq, Eq)]
pub struct Setting {
    /// The environment variable.
    pub name: &'static str,
    /// The value when it is unset or empty; none: off, or worked out from others.
    pub default: Option<&'static str>,
    pub scope: Scope,
    pub kind: Kind,
    /// One line for `--help`.
    pub help: &'static str,
}

impl Setting {
    /// The local server's flag for it: `SWITCHBOARD_REOPEN_WINDOW_HOURS` is
    /// `--reopen-window-hours`.
    pub fn flag(&self) -> String {
        self.name
            .trim_start_matches("SWITCHBOARD_")
            .to_ascii_lowercase()
            .replace('_', "-")
    }
}

macro_rules! schema {
    ($( $(#[doc = $doc:literal])+ $id:ident: $scope:ident $kind:ident $default:expr; )*) => {
        $(
            $(#[doc = $doc])+
            pub const $id: Setting = Setting {
                name: concat!("SWITCHBOARD_", stringify!($id)),
                default: $default,
                scope: Scope::$scope,
                kind: Kind::$kind,
                help: concat!($($doc),+),
            };
        )*
        /// Every setting, in the order `--help` shows them.
        pub const ALL: &[&Setting] = &[$(&$id),*];
    };
}

schema! {
    /// The SQLite file (created if missing).
    DB: Local Value Some("switchboard.db");
    /// Address and port to listen on (port 0 picks a free one).
    LISTEN: Local Value Some("127.0.0.1:8080");
    /// Where customers reach this server; customer links start with it [default: http://<listen>, or on AWS the host each call came in on].
    PUBLIC_URL: Both Value None;
    /// Folder for attachments [default: <db>.blobs next to the database].
    BLOB_DIR: Local Value None;
    /// Country assumed for phone numbers written without a country code (ISO 3166, e.g. IR, US).
    DEFAULT_REGION: Both Value Some("US");
    /// A resolved conversation reopens when the customer writes within this many hours.
    REOPEN_WINDOW_HOURS: Both Value Some("168");
    /// Channels on which a bot answers a new question from the knowledge base first, when it is sure of an article (telegram, web; comma-separated) [default: none].
    ANSWER_FIRST: Both Value None;
    /// An OpenAI-compatible API's base URL (up to its version, e.g. https://api.openai.com/v1); with a model it lets agents ask for a reply drafted from the matching articles [default: off].
    LLM_URL: Both Value None;
    /// The model drafts are asked of (e.g. gpt-4o-mini).
    LLM_MODEL: Both Value None;
    /// The API key sent to the language model as a bearer token [default: none].
    LLM_API_KEY: Local Secret None;
    /// The SSM SecureString holding the language model's API key.
    LLM_API_KEY_PARAMETER: Aws Value None;
    /// Erase resolved conversations this many days after their resolution (and a contact left with none) [default: keep them].
    RETENTION_DAYS: Both Value None;
    /// Set an available agent away after this many minutes without a request to the API (their next request sets them available again) [default: never].
    AWAY_AFTER_IDLE_MINUTES: Both Value None;
    /// Web-form submissions and customer-page answers allowed per client address per minute, one budget for both (0: no limit).
    WEBFORM_RATE_PER_MINUTE: Both Value Some("30");
    /// Answers allowed on one customer page per minute, from all addresses together (0: no limit).
    LINK_RATE_PER_MINUTE: Both Value Some("10");
    /// Largest web-form body in bytes.
    WEBFORM_MAX_BYTES: Both Value Some("65536");
    /// Proxies of yours in front of the server, each appending to X-Forwarded-For: the client's address is the entry this many places from the right [default: 0, the connection's peer].
    TRUSTED_PROXY_HOPS: Both Value None;
    /// The same as a trusted proxy hop count of 1 (one proxy of yours in front of the server).
    TRUST_PROXY: Both Switch Some("false");
    /// Seconds a client may take to send a request's headers (also how long an idle connection stays open).
    HEADER_TIMEOUT_SECS: Local Value Some("10");
    /// Seconds one request may take, its body and the answer included (408 after).
    REQUEST_TIMEOUT_SECS: Local Value Some("60");
    /// Most connections open at once; more wait to be accepted until one closes.
    MAX_CONNECTIONS: Local Value Some("512");
    /// Most connections one client address may hold open at once; more are closed at once (not applied behind a trusted proxy, whose address every connection shares).
    MAX_CONNECTIONS_PER_CLIENT: Local Value Some("128");
    /// Title of the hosted pages [default: Support, in the page language].
    PAGE_TITLE: Both Value None;
    /// Accent colour of the hosted pages (a CSS name or #rrggbb).
    PAGE_COLOR: Both Value Some("#2557d6");
    /// Logo shown on the hosted pages (https:// URL).
    PAGE_LOGO_URL: Both Value None;
    /// Language of the hosted pages: en or fa (right to left).
    PAGE_LANGUAGE: Both Value Some("en");
    /// The time zone the hosted pages tell times in (an IANA name, e.g. Asia/Tehran).
    TIME_ZONE: Both Value Some("UTC");
    /// The bot token from BotFather; it turns the Telegram channel on.
    TELEGRAM_BOT_TOKEN: Local Secret None;
    /// Telegram sends it back on every webhook call (16–256 of A-Z a-z 0-9 _ -).
    TELEGRAM_WEBHOOK_SECRET: Local Secret None;
    /// The SSM SecureString holding the bot token; it turns the Telegram channel on.
    TELEGRAM_BOT_TOKEN_PARAMETER: Aws Value None;
    /// The SSM SecureString holding the webhook's secret token.
    TELEGRAM_WEBHOOK_SECRET_PARAMETER: Aws Value None;
    /// The Bot API's base URL.
    TELEGRAM_API_URL: Both Value Some("https://api.telegram.org");
    /// Answer /start with this text.
    TELEGRAM_WELCOME_TEXT: Both Value None;
    /// Take messages from groups and supergroups too (otherwise they are ignored).
    TELEGRAM_GROUPS: Both Switch Some("false");
    /// Seconds between an agent's notifications (Telegram, email): what happens in between comes as one digest (on AWS, the sweeper's minute).
    NOTIFY_EVERY_SECS: Local Value Some("30");
    /// How many sender instances may run at once; each keeps to its share of the bot's 30 messages a second.
    TELEGRAM_SENDERS: Aws Value Some("1");
    /// The relay sends it in X-Switchboard-Email-Secret (at least 16 characters); it turns POST /webhooks/email on.
    EMAIL_WEBHOOK_SECRET: Local Secret None;
    /// Largest raw email taken, in bytes (40 MiB, SES's own limit).
    EMAIL_MAX_BYTES: Both Value Some("41943040");
    /// Our own mail domains, comma-separated: mail from them is never taken in.
    EMAIL_DOMAINS: Both Value None;
    /// The relay checked SPF/DKIM: a sender's From address is proven theirs.
    EMAIL_FROM_PROVEN: Local Switch Some("false");
    /// Send replies by email through this relay: smtp://host:port (plain), smtp://host:port?tls=required (STARTTLS), smtps://host:port (TLS).
    SMTP_URL: Local Secret None;
    /// The address replies come from (needed to send email).
    EMAIL_FROM: Both Value None;
    /// The display name replies come from.
    EMAIL_FROM_NAME: Both Value None;
    /// Where customers answer, as support@domain: replies carry support+<token>@domain as Reply-To [default: the From address].
    EMAIL_REPLY_ADDRESS: Both Value None;
    /// The SES configuration set replies are sent through.
    SES_CONFIGURATION_SET: Aws Value None;
    /// Where the SES receipt rule's S3 action writes each email.
    SES_OBJECT_PREFIX: Aws Value Some("email/ses/");
    /// The Twilio account SID (AC…); it turns SMS and voice on.
    TWILIO_ACCOUNT_SID: Both Value None;
    /// The Twilio auth token: it signs Twilio's webhook calls and authenticates ours.
    TWILIO_AUTH_TOKEN: Local Secret None;
    /// The SSM SecureString holding the Twilio auth token.
    TWILIO_AUTH_TOKEN_PARAMETER: Aws Value None;
    /// Twilio's REST API base URL.
    TWILIO_API_URL: Both Value Some("https://api.twilio.com");
    /// The public base URL Twilio calls, exactly as configured in the console (signatures cover it) [default: the public URL].
    TWILIO_PUBLIC_URL: Both Value None;
    /// The number replies by SMS come from (E.164).
    TWILIO_FROM: Both Value None;
    /// Or the Messaging Service they go through (MG…).
    TWILIO_MESSAGING_SERVICE_SID: Both Value None;
    /// What callers hear first.
    TWILIO_VOICE_GREETING: Both Value None;
    /// The greeting's language (a Twilio <Say> language: en-US, de-DE, …).
    TWILIO_VOICE_LANGUAGE: Both Value Some("en-US");
    /// The number calls are put through to within business hours [default: voicemail only].
    TWILIO_VOICE_DIAL: Both Value None;
    /// Business hours, e.g. `sat-wed 08:30-17:00 Asia/Tehran` or `sat-wed 08:30-12:30,13:30-17:00 thu 08:30-12:00 +03:30` [default: always].
    TWILIO_VOICE_HOURS: Both Value None;
    /// A calendar made with `POST /v1/calendars` (`cal_…`) whose hours and holidays decide, at each call, whether it is put through; `SWITCHBOARD_TWILIO_VOICE_HOURS` stand while it cannot be read.
    TWILIO_VOICE_CALENDAR: Both Value None;
    /// The shared secret the PBX signs its calls with (at least 16 characters); it turns the PBX hook on.
    PBX_SECRET: Local Secret None;
    /// The SSM SecureString holding the PBX hook's shared secret.
    PBX_SECRET_PARAMETER: Aws Value None;
    /// How far a PBX call's X-Switchboard-Timestamp may be from our clock, in seconds (1–3600).
    PBX_WINDOW_SECS: Both Value Some("300");
    /// Hosts outbound webhooks may reach although they are, or resolve to, private or internal addresses (comma-separated).
    WEBHOOK_ALLOW_HOSTS: Both Value None;
    /// Seconds between the tries of a webhook delivery that failed (comma-separated; some 27 hours in all).
    WEBHOOK_RETRY_SECONDS: Both Value Some("5,300,1800,7200,18000,36000,36000");
    /// The SSM SecureString holding the key that signs customer links.
    LINK_SECRET_PARAMETER: Aws Value None;
    /// Longest a failed queue message waits before it is handed out again, in seconds.
    MAX_RETRY_DELAY_SECS: Aws Value Some("300");
    /// The DynamoDB table.
    TABLE: Aws Value None;
    /// The inbound queue's URL.
    INBOUND_QUEUE_URL: Aws Value None;
    /// The inbound queue's dead-letter queue's URL.
    INBOUND_DLQ_URL: Aws Value None;
    /// The outbound queue's URL.
    OUTBOUND_QUEUE_URL: Aws Value None;
    /// The outbound queue's dead-letter queue's URL.
    OUTBOUND_DLQ_URL: Aws Value None;
    /// The webhooks queue's URL.
    WEBHOOKS_QUEUE_URL: Aws Value None;
    /// The webhooks queue's dead-letter queue's URL.
    WEBHOOKS_DLQ_URL: Aws Value None;
    /// The S3 bucket for attachments, originals and call state.
    BUCKET: Aws Value None;
    /// Log filter (e.g. info, warn, shared=debug).
    LOG: Both Value Some("info");
    /// Log format: text or json.
    LOG_FORMAT: Local Value Some("text");
}
