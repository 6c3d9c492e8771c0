//! Agents signing in from a browser: passwords (argon2id), wrong tries and lockout, and
//! the sessions a sign-in opens. Programs keep using API keys ([`Directory::authenticate`]).

use super::directory::{Directory, hash_secret};
use super::error::{ServiceError, ServiceResult};
use crate::model::{Agent, AgentId};
use crate::ports::{PortError, Session};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use subtle::ConstantTimeEq;

/// How long a session lasts from its sign-in.
pub const SESSION_LIFETIME: Duration = Duration::days(7);
/// Sign-ins one client network may try at one email (an agent's or not) before it is
/// refused for [`LOCK_FOR`]; a right password forgets them. Counted per network, so that
/// nobody elsewhere can lock an agent out, and alike for every email, so that the
/// refusal tells nobody who has an account. (Also: wrong current passwords in a row,
/// from a signed-in agent changing theirs, that lock the account.)
pub const LOCK_AFTER: u32 = 10;
/// Wrong passwords from every network together that lock the account itself for
/// [`LOCK_FOR`]: the bound on guesses spread over many networks.
pub const LOCK_AFTER_FROM_EVERYWHERE: u32 = 100;
/// How long a lock lasts.
pub const LOCK_FOR: Duration = Duration::minutes(15);
/// How long a one-time sign-in link stays good.
pub const LINK_LIFETIME: Duration = Duration::hours(24);
/// A password's length, in characters.
pub const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 12..=256;

/// Why a sign-in was refused. The wrong email and the wrong password are one answer, so
/// a sign-in tells nobody who has an account.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the email or the password is wrong")]
    Wrong,
    #[error("too many wrong passwords: try again after {0}")]
    Locked(DateTime<Utc>),
    #[error(transparent)]
    Failed(#[from] ServiceError),
}

/// A session just opened: the cookie value is shown only now.
pub struct SignedIn {
    pub agent: Agent,
    pub session: Session,
    /// `<session id>.<secret>`: what the browser's cookie holds.
    pub cookie: String,
}

fn random_text<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; N]>())
}

/// The argon2id hash (PHC string) of a password, with a fresh salt; argon2's default
/// parameters (19 MiB, 2 passes), as OWASP advises.
pub fn hash_password(password: &str) -> ServiceResult<String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| ServiceError::Backend(PortError::Internal(e.to_string())))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Backend(PortError::Internal(e.to_string())))
}

fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash no password matches, checked when there is no account, so that an unknown
/// email costs what a known one does.
fn stand_in_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_text::<32>()).unwrap_or_default())
}

/// argon2 runs at once: each takes 19 MiB and a core for tens of milliseconds, so a
/// flood of sign-ins waits its turn rather than exhausting memory.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs argon2 off the async threads, one of [`HASHING`]'s turns at a time.
async fn hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _turn = HASHING.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// Checks a password (against a stand-in when there is no hash).
async fn verify(password: String, hash: Option<String>) -> bool {
    hashing(move || {
        let hash = hash.as_deref().unwrap_or_else(|| stand_in_hash());
        password_matches(&password, hash)
    })
    .await
    .unwrap_or(false)
}

/// A session (or, with no CSRF token, a sign-in link) and its `<id>.<secret>`.
fn new_session(
    agent: AgentId,
    csrf_token: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    user_agent: Option<&str>,
) -> (Session, String) {
    let id = random_text::<16>();
    let secret = random_text::<32>();
    let session = Session {
        id: id.clone(),
        agent_id: agent,
        secret_hash: hash_secret(&secret),
        csrf_token,
        created_at,
        expires_at,
        user_agent: user_agent.map(|a| a.chars().take(200).collect()),
    };
    (session, format!("{id}.{secret}"))
}

pub fn checked_password(password: &str) -> ServiceResult<&str> {
    let length = password.chars().count();
    if !PASSWORD_LENGTH.contains(&length) {
        return Err(ServiceError::Invalid(format!(
            "a password has {} to {} characters",
            PASSWORD_LENGTH.start(),
            PASSWORD_LENGTH.end()
        )));
    }
    Ok(password)
}

impl Directory {
    /// Counts a try at the agent's password before it is checked, so that tries sent at
    /// once are counted too, and gives the hash to check it against; refused while the
    /// agent is locked out (the try that reaches `lock_after` locks).
    async fn try_password(
        &self,
        agent: AgentId,
        lock_after: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, SignInError> {
        let counted = self
            .sessions
            .count_failure(agent, lock_after, now + LOCK_FOR)
            .await
            .map_err(ServiceError::from)?;
        match counted.locked_until {
            Some(until) if until > now => {
                tracing::warn!(agent_id = %agent, "a password tried while locked out");
                Err(SignInError::Locked(until))
            }
            _ => Ok(counted.password_hash),
        }
    }

    /// Signs an agent in by email and password from `client` (the client's network, as
    /// the rate limits name it), opening a session.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        user_agent: Option<&str>,
        client: &str,
    ) -> Result<SignedIn, SignInError> {
        let now = Utc::now();
        let agent = match self.find_agent(email).await {
            Ok(agent) if email.contains('@') => Some(agent),
            Ok(_) | Err(ServiceError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        // The client's tries at this account (or, for an email nobody has, at the email),
        // counted before anything is checked, so every spelling of one agent's email
        // counts as one; a new password starts them again.
        let (account, password_hash) = match &agent {
            Some(agent) => (
                agent.id.to_string(),
                self.sessions
                    .credentials(agent.id)
                    .await
                    .map_err(ServiceError::from)?
                    .password_hash,
            ),
            None => (email.to_lowercase(), None),
        };
        let key = crate::services::proof::proof_key(&format!(
            "sign-in\n{account}\n{client}\n{}",
            password_hash.as_deref().unwrap_or_default()
        ));
        let tries = self
            .tries
            .count_try(&key, now + LOCK_FOR)
            .await
            .map_err(ServiceError::from)?;
        if tries >= LOCK_AFTER {
            tracing::warn!("too many sign-ins tried at one email from one network");
            return Err(SignInError::Locked(now + LOCK_FOR));
        }
        let Some(agent) = agent else {
            verify(password.to_owned(), None).await;
            return Err(SignInError::Wrong);
        };
        let hash = self
            .try_password(agent.id, LOCK_AFTER_FROM_EVERYWHERE, now)
            .await?;
        if !verify(password.to_owned(), hash).await {
            tracing::info!(agent_id = %agent.id, "a wrong password");
            return Err(SignInError::Wrong);
        }
        self.sessions
            .clear_failures(agent.id)
            .await
            .map_err(ServiceError::from)?;
        self.tries
            .forget_tries(&key)
            .await
            .map_err(ServiceError::from)?;
        Ok(self.open_session(agent, now, user_agent).await?)
    }

    /// A new session for the agent, opened at `now`.
    async fn open_session(
        &self,
        agent: Agent,
        now: DateTime<Utc>,
        user_agent: Option<&str>,
    ) -> ServiceResult<SignedIn> {
        let (session, cookie) = new_session(
            agent.id,
            random_text::<32>(),
            now,
            now + SESSION_LIFETIME,
            user_agent,
        );
        self.sessions.create_session(&session).await?;
        tracing::info!(agent_id = %agent.id, session = %session.id, "an agent signed in");
        Ok(SignedIn {
            agent,
            session,
            cookie,
        })
    }

    /// A one-time sign-in link's token (`<id>.<secret>`, for `/app/link/<token>`): it
    /// opens one session within [`LINK_LIFETIME`], for an agent who has no password yet
    /// or lost it. Kept as a session without a CSRF token, which opens nothing itself.
    pub async fn sign_in_link(&self, agent: AgentId) -> ServiceResult<String> {
        if self.agents.agent(agent).await?.is_none() {
            return Err(ServiceError::NotFound("agent"));
        }
        let now = Utc::now();
        let (link, token) = new_session(
            agent,
            String::new(),
            now,
            now + LINK_LIFETIME,
            Some("sign-in link"),
        );
        self.sessions.create_session(&link).await?;
        tracing::info!(agent_id = %agent, link = %link.id, "a sign-in link made");
        Ok(token)
    }

    /// The agent a link's token signs in, while it is good (it is not used up here).
    pub async fn link_agent(&self, token: &str) -> ServiceResult<Option<Agent>> {
        let Some(link) = self.live_link(token).await? else {
            return Ok(None);
        };
        Ok(self.agents.agent(link.agent_id).await?)
    }

    /// Opens a session from a link's token, once: the link is used up.
    pub async fn redeem_link(
        &self,
        token: &str,
        user_agent: Option<&str>,
    ) -> ServiceResult<Option<SignedIn>> {
        let Some(link) = self.live_link(token).await? else {
            return Ok(None);
        };
        // Whoever deletes it first has it: a link opens one session, however many use it.
        if !self.sessions.end_session(&link.id).await? {
            return Ok(None);
        }
        let Some(agent) = self.agents.agent(link.agent_id).await? else {
            return Ok(None);
        };
        Ok(Some(
            self.open_session(agent, Utc::now(), user_agent).await?,
        ))
    }

    /// The link a token names: its secret matches, it has not expired, and it was made
    /// after the agent's password last changed (a disable voids it).
    async fn live_link(&self, token: &str) -> ServiceResult<Option<Session>> {
        let Some(link) = self.presented(token).await? else {
            return Ok(None);
        };
        if !link.csrf_token.is_empty() {
            return Ok(None);
        }
        let credentials = self.sessions.credentials(link.agent_id).await?;
        if credentials
            .sessions_valid_after
            .is_some_and(|after| link.created_at < after)
        {
            return Ok(None);
        }
        Ok(Some(link))
    }

    /// The session (or link) whose `<id>.<secret>` this is, when the secret matches.
    async fn presented(&self, token: &str) -> ServiceResult<Option<Session>> {
        let Some((id, secret)) = token.split_once('.') else {
            return Ok(None);
        };
        if id.is_empty() || id.len() > 64 || secret.len() > 128 {
            return Ok(None);
        }
        let Some(session) = self.sessions.session(id).await? else {
            return Ok(None);
        };
        let presented = hash_secret(secret);
        Ok(
            bool::from(presented.as_bytes().ct_eq(session.secret_hash.as_bytes()))
                .then_some(session),
        )
    }

    /// The agent and session a cookie value opens, while the session lasts.
    pub async fn session(&self, cookie: &str) -> ServiceResult<Option<(Agent, Session)>> {
        let Some(session) = self.presented(cookie).await? else {
            return Ok(None);
        };
        // A sign-in link is no session: it only opens one.
        if session.csrf_token.is_empty() {
            return Ok(None);
        }
        let (agent, credentials) = tokio::try_join!(
            self.agents.agent(session.agent_id),
            self.sessions.credentials(session.agent_id)
        )?;
        let Some(agent) = agent else {
            return Ok(None);
        };
        // Opened before the password last changed (or was removed): over, even if it
        // was opened while that happened or missed when the sessions were ended.
        if credentials
            .sessions_valid_after
            .is_some_and(|after| session.created_at < after)
        {
            return Ok(None);
        }
        Ok(Some((self.seen(agent).await, session)))
    }

    /// Ends the session (signing out, or an admin ending it); false when there was none.
    pub async fn end_session(&self, id: &str) -> ServiceResult<bool> {
        let ended = self.sessions.end_session(id).await?;
        if ended {
            tracing::info!(session = %id, "a session ended");
        }
        Ok(ended)
    }

    /// Every session open now, newest first.
    pub async fn sessions(&self) -> ServiceResult<Vec<Session>> {
        Ok(self.sessions.sessions().await?)
    }

    /// Sets the agent's password; every session they had ends.
    pub async fn set_password(&self, id: AgentId, password: &str) -> ServiceResult<()> {
        if self.agents.agent(id).await?.is_none() {
            return Err(ServiceError::NotFound("agent"));
        }
        let password = checked_password(password)?.to_owned();
        let hash = hashing(move || hash_password(&password))
            .await
            .ok_or_else(|| ServiceError::Backend(PortError::Internal("hashing failed".into())))??;
        self.sessions
            .set_password(id, Some(&hash), Utc::now())
            .await?;
        let ended = self.sessions.end_sessions_of(id).await?;
        tracing::info!(agent_id = %id, sessions_ended = ended, "password set");
        Ok(())
    }

    /// The agent changes their own password, proving the one they have (an agent who
    /// has none, signed in by a link, sets one).
    pub async fn change_password(
        &self,
        agent: AgentId,
        current: &str,
        new: &str,
    ) -> Result<(), SignInError> {
        checked_password(new)?;
        // An agent who came in by a sign-in link has none yet: their session sets it, and
        // there is nothing to guess, so nothing is counted.
        let has_one = self
            .sessions
            .credentials(agent)
            .await
            .map_err(ServiceError::from)?
            .password_hash
            .is_some();
        if has_one {
            // Counted like a sign-in: a stolen session cannot guess the password either.
            let hash = self.try_password(agent, LOCK_AFTER, Utc::now()).await?;
            if !verify(current.to_owned(), hash).await {
                return Err(SignInError::Wrong);
            }
        }
        self.sessions
            .clear_failures(agent)
            .await
            .map_err(ServiceError::from)?;
        Ok(self.set_password(agent, new).await?)
    }
}
