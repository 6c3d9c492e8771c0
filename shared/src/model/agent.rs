use super::conversation::str_enum;
use super::{AgentId, Conversation, EmailAddress, TeamId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Agent,
}

str_enum!(Role { Admin => "admin", Agent => "agent" });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Takes new conversations.
    Available,
    /// Takes none for now (set by the agent, or after a while idle).
    Away,
    /// Signed off: takes none, and rules on `assignee_offline` may hand their
    /// conversations back to the team.
    Offline,
}

str_enum!(Availability { Available => "available", Away => "away", Offline => "offline" });

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    #[schema(value_type = String, format = "email")]
    pub email: EmailAddress,
    pub role: Role,
    pub availability: Availability,
    /// Most open conversations assigned at once; none means no cap.
    pub max_open_conversations: Option<u32>,
    pub team_ids: Vec<TeamId>,
    /// The PBX extension (or number) the agent answers calls on: a PBX call whose
    /// `answeringNumber` is this is assigned to them.
    #[serde(default)]
    pub phone_extension: Option<String>,
    /// What they handle (`refunds`, `hardware`): a conversation tagged `skill:<name>` is
    /// given only to an agent who has that skill.
    #[serde(default)]
    pub skills: Vec<String>,
    /// The languages they answer in (ISO 639-1: `fa`, `en`): a message in one of them is
    /// given to an agent who speaks it, when one can take it.
    #[serde(default)]
    pub languages: Vec<String>,
    /// When they last used the API (to the minute).
    #[serde(default)]
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Set away for being idle: their next request makes them available again.
    #[serde(default)]
    pub idle_away: bool,
    pub created_at: DateTime<Utc>,
}

/// How stale `last_seen_at` may grow before a request writes it again.
pub const SEEN_EVERY_SECS: i64 = 60;

impl Agent {
    /// Whether a request from them now should be written down: they were set away for
    /// being idle, or were last seen over a minute ago.
    pub fn seen_is_news(&self, now: DateTime<Utc>) -> bool {
        self.idle_away
            || self
                .last_seen_at
                .is_none_or(|at| now - at >= chrono::Duration::seconds(SEEN_EVERY_SECS))
    }

    /// Whether they are available yet have done nothing for `idle`.
    pub fn idle_for(&self, idle: chrono::Duration, now: DateTime<Utc>) -> bool {
        self.availability == Availability::Available
            && self.last_seen_at.unwrap_or(self.created_at) <= now - idle
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    /// How a new conversation nobody has is given to one of its agents.
    #[serde(default)]
    pub assignment: Assignment,
    /// Whether the knowledge base's bot may answer this team's new conversations first
    /// (on the channels `SWITCHBOARD_ANSWER_FIRST` names): on unless turned off.
    #[serde(default = "answers_first")]
    pub bot_answers_first: bool,
    pub created_at: DateTime<Utc>,
}

fn answers_first() -> bool {
    true
}

/// How a team's conversations are handed out among its agents who can take one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// In turn: the next agent after the last one given a conversation.
    #[default]
    RoundRobin,
    /// To whoever has the fewest unresolved conversations (in turn among equals).
    LeastLoaded,
}

impl Assignment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoundRobin => "round_robin",
            Self::LeastLoaded => "least_loaded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::RoundRobin, Self::LeastLoaded]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// The most unresolved conversations counted of one agent to weigh loads: beyond it,
/// agents count as equally loaded, so the cost of a choice stays bounded.
pub const MAX_LOAD_COUNTED: u32 = 500;

/// The tag that says a conversation needs an agent with a skill: `skill:refunds`.
pub const SKILL_TAG: &str = "skill:";

/// Whom a conversation may be given to: the agents of its team (anyone, with none) who
/// have every skill its `skill:` tags name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssignNeed {
    pub team: Option<TeamId>,
    pub skills: Vec<String>,
}

impl AssignNeed {
    pub fn of(conversation: &Conversation) -> Self {
        Self {
            team: conversation.team_id,
            skills: conversation
                .tags
                .iter()
                .filter_map(|t| t.strip_prefix(SKILL_TAG))
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// An agent as assignment sees it: who they are and how loaded they are.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentLoad {
    pub agent_id: AgentId,
    pub availability: Availability,
    pub max_open_conversations: Option<u32>,
    pub open_conversations: u32,
    /// The languages they answer in.
    pub languages: Vec<String>,
}

impl AgentLoad {
    /// The agent as assignment starts from, before their conversations are counted:
    /// none when they may not take the conversation `need` describes.
    pub fn of(agent: &Agent, need: &AssignNeed) -> Option<Self> {
        if need.team.is_some_and(|t| !agent.team_ids.contains(&t)) {
            return None;
        }
        if !need.skills.iter().all(|s| agent.skills.contains(s)) {
            return None;
        }
        Some(Self {
            agent_id: agent.id,
            availability: agent.availability,
            max_open_conversations: agent.max_open_conversations,
            open_conversations: 0,
            languages: agent.languages.clone(),
        })
    }

    /// How far a store counts the agent's unresolved conversations: only when the count
    /// can decide anything (they are available, and have a cap or are weighed by load),
    /// up to their cap or [`MAX_LOAD_COUNTED`]. The cost stays bounded however many
    /// conversations an agent has handled.
    pub fn count_to(&self, mode: Assignment) -> Option<u32> {
        match (self.availability, mode) {
            (Availability::Available, Assignment::RoundRobin) => self.max_open_conversations,
            (Availability::Available, Assignment::LeastLoaded) => Some(
                self.max_open_conversations
                    .map_or(MAX_LOAD_COUNTED, |cap| cap.min(MAX_LOAD_COUNTED)),
            ),
            (Availability::Away | Availability::Offline, _) => None,
        }
    }

    pub fn can_take_more(&self) -> bool {
        self.availability == Availability::Available
            && self
                .max_open_conversations
                .is_none_or(|cap| self.open_conversations < cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(availability: Availability, cap: Option<u32>, teams: Vec<TeamId>) -> Agent {
        Agent {
            id: AgentId::new(),
            name: "Ana".into(),
            email: EmailAddress::parse("ana@support.example").unwrap(),
            role: Role::Agent,
            availability,
            max_open_conversations: cap,
            team_ids: teams,
            phone_extension: None,
            skills: vec![],
            languages: vec![],
            last_seen_at: None,
            idle_away: false,
            created_at: Utc::now(),
        }
    }

    fn need(team: Option<TeamId>) -> AssignNeed {
        AssignNeed {
            team,
            skills: vec![],
        }
    }

    #[test]
    fn a_conversation_needing_a_skill_goes_only_to_agents_who_have_it() {
        let mut refunds = agent(Availability::Available, None, vec![]);
        refunds.skills = vec!["refunds".into(), "vip".into()];
        let plain = agent(Availability::Available, None, vec![]);
        let need = AssignNeed {
            team: None,
            skills: vec!["refunds".into()],
        };
        assert!(AgentLoad::of(&refunds, &need).is_some());
        assert!(AgentLoad::of(&plain, &need).is_none());
        let both = AssignNeed {
            team: None,
            skills: vec!["refunds".into(), "hardware".into()],
        };
        assert!(AgentLoad::of(&refunds, &both).is_none(), "every skill");
    }

    #[test]
    fn a_load_is_of_the_team_and_counted_only_when_the_count_can_decide() {
        let team = TeamId::new();
        let member = agent(Availability::Available, Some(3), vec![team]);
        assert!(AgentLoad::of(&member, &need(None)).is_some());
        assert!(AgentLoad::of(&member, &need(Some(team))).is_some());
        assert!(AgentLoad::of(&member, &need(Some(TeamId::new()))).is_none());
        let count = |a: &Agent, mode| AgentLoad::of(a, &need(None)).unwrap().count_to(mode);
        assert_eq!(count(&member, Assignment::RoundRobin), Some(3));
        assert_eq!(count(&member, Assignment::LeastLoaded), Some(3));
        let away = agent(Availability::Away, Some(3), vec![]);
        assert_eq!(count(&away, Assignment::RoundRobin), None);
        assert_eq!(count(&away, Assignment::LeastLoaded), None);
        let uncapped = agent(Availability::Available, None, vec![]);
        assert_eq!(count(&uncapped, Assignment::RoundRobin), None);
        assert_eq!(
            count(&uncapped, Assignment::LeastLoaded),
            Some(MAX_LOAD_COUNTED),
            "weighed by load: counted, up to a bound"
        );
        let big = agent(Availability::Available, Some(10_000), vec![]);
        assert_eq!(count(&big, Assignment::LeastLoaded), Some(MAX_LOAD_COUNTED));
        assert_eq!(
            Assignment::parse("least_loaded"),
            Some(Assignment::LeastLoaded)
        );
        assert_eq!(Assignment::parse("random"), None);
    }

    #[test]
    fn an_agent_idle_long_enough_is_due_away_and_a_request_is_news_once_a_minute() {
        let now = Utc::now();
        let mut ana = agent(Availability::Available, None, vec![]);
        ana.created_at = now - chrono::Duration::hours(2);
        let idle = chrono::Duration::minutes(30);
        assert!(ana.idle_for(idle, now), "never seen, made two hours ago");
        ana.last_seen_at = Some(now - chrono::Duration::minutes(10));
        assert!(!ana.idle_for(idle, now));
        ana.last_seen_at = Some(now - chrono::Duration::minutes(31));
        assert!(ana.idle_for(idle, now));
        ana.availability = Availability::Away;
        assert!(!ana.idle_for(idle, now), "away already");

        ana.last_seen_at = Some(now - chrono::Duration::seconds(30));
        assert!(!ana.seen_is_news(now));
        ana.idle_away = true;
        assert!(ana.seen_is_news(now), "back from idling");
        ana.idle_away = false;
        ana.last_seen_at = Some(now - chrono::Duration::seconds(SEEN_EVERY_SECS));
        assert!(ana.seen_is_news(now));
    }
}
