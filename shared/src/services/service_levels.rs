//! What an admin sets for service levels: calendars (business hours and holidays) and
//! SLA policies, each checked before it is kept.

use super::error::{ServiceError, ServiceResult, room_for};
use crate::model::{Calendar, CalendarId, SlaPolicy, SlaPolicyId};
use crate::ports::{SlaStore, TeamStore};
use std::sync::Arc;

/// Most calendars, and most policies, an installation keeps.
pub const MAX_EACH: usize = 100;

/// Most holidays one calendar lists.
pub const MAX_HOLIDAYS: usize = 400;

#[derive(Clone)]
pub struct ServiceLevels {
    pub slas: Arc<dyn SlaStore>,
    pub teams: Arc<dyn TeamStore>,
}

impl ServiceLevels {
    pub async fn calendars(&self) -> ServiceResult<Vec<Calendar>> {
        Ok(self.slas.calendars().await?)
    }

    /// Keeps a new calendar, or replaces one (`replacing`: it must exist).
    pub async fn save_calendar(
        &self,
        calendar: Calendar,
        replacing: bool,
    ) -> ServiceResult<Calendar> {
        if calendar.name.trim().is_empty() || calendar.name.chars().count() > 100 {
            return Err(ServiceError::Invalid(
                "a calendar's name is 1 to 100 characters".into(),
            ));
        }
        if calendar.hours.chars().count() > 500 {
            return Err(ServiceError::Invalid(
                "business hours are written in at most 500 characters".into(),
            ));
        }
        if calendar.holidays.len() > MAX_HOLIDAYS {
            return Err(ServiceError::Invalid(format!(
                "a calendar lists at most {MAX_HOLIDAYS} holidays"
            )));
        }
        calendar.business_hours().map_err(ServiceError::Invalid)?;
        let all = self.slas.calendars().await?;
        let exists = all.iter().any(|c| c.id == calendar.id);
        room_for("calendar", replacing, exists, all.len(), MAX_EACH)?;
        self.slas.save_calendar(&calendar).await?;
        Ok(calendar)
    }

    /// Deletes a calendar no policy counts in.
    pub async fn delete_calendar(&self, id: CalendarId) -> ServiceResult<()> {
        let users: Vec<String> = self
            .slas
            .sla_policies()
            .await?
            .into_iter()
            .filter(|p| p.calendar_id == Some(id))
            .map(|p| p.name)
            .collect();
        if !users.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "the policies {} count in this calendar; change them first",
                users.join(", ")
            )));
        }
        match self.slas.delete_calendar(id).await? {
            true => Ok(()),
            false => Err(ServiceError::NotFound("calendar")),
        }
    }

    pub async fn policies(&self) -> ServiceResult<Vec<SlaPolicy>> {
        Ok(self.slas.sla_policies().await?)
    }

    /// Keeps a new policy, or replaces one (`replacing`: it must exist). Conversations
    /// it measures already keep the targets they were given; it applies to the
    /// conversations it covers from their next first message.
    pub async fn save_policy(
        &self,
        policy: SlaPolicy,
        replacing: bool,
    ) -> ServiceResult<SlaPolicy> {
        if let Some(problem) = policy.problem() {
            return Err(ServiceError::Invalid(problem));
        }
        if let Some(calendar) = policy.calendar_id
            && !self
                .slas
                .calendars()
                .await?
                .iter()
                .any(|c| c.id == calendar)
        {
            return Err(ServiceError::Invalid(format!(
                "there is no calendar {calendar}"
            )));
        }
        for team in &policy.teams {
            if self.teams.team(*team).await?.is_none() {
                return Err(ServiceError::Invalid(format!("there is no team {team}")));
            }
        }
        let all = self.slas.sla_policies().await?;
        let exists = all.iter().any(|p| p.id == policy.id);
        room_for("SLA policy", replacing, exists, all.len(), MAX_EACH)?;
        self.slas.save_sla_policy(&policy).await?;
        Ok(policy)
    }

    pub async fn delete_policy(&self, id: SlaPolicyId) -> ServiceResult<()> {
        match self.slas.delete_sla_policy(id).await? {
            true => Ok(()),
            false => Err(ServiceError::NotFound("SLA policy")),
        }
    }
}
