use super::conversation::str_enum;
use super::{AgentId, EmailAddress, TeamId};
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
    Available,
    Away,
}

str_enum!(Availability { Available => "available", Away => "away" });

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
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// An agent as assignment sees it: who they are and how loaded they are.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentLoad {
    pub agent_id: AgentId,
    pub availability: Availability,
    pub max_open_conversations: Option<u32>,
    pub open_conversations: u32,
}

impl AgentLoad {
    pub fn can_take_more(&self) -> bool {
        self.availability == Availability::Available
            && self
                .max_open_conversations
                .is_none_or(|cap| self.open_conversations < cap)
    }
}
