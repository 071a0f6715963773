//! Working-day calendars: `cn-workdays` as shipped under the days admins set, and calendars of
//! their own, kept in the settings document.
use super::{SettingsService, change_settings};
use crate::domain::auth::Principal;
use crate::domain::calendar::{Calendar, CalendarDay, CalendarDays, CalendarName, MAX_SET_DAYS};
use crate::{FieldError, ServiceError};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Every calendar there is: `cn-workdays`, and each one an admin set days on.
#[derive(Debug, Clone, Default)]
pub struct Calendars(BTreeMap<CalendarName, CalendarDays>);

impl Calendars {
    /// The calendar named, if there is one.
    pub fn get(&self, name: &CalendarName) -> Option<Calendar> {
        let set = self.0.get(name);
        (Calendar::is_shipped(name) || set.is_some())
            .then(|| Calendar::new(name.clone(), set.cloned().unwrap_or_default()))
    }

    /// The calendar a schedule names: a calendar whose days were all deleted keeps its weekends
    /// off (as the trigger, the next runs and the console all read it).
    pub fn for_schedule(&self, name: &CalendarName) -> Calendar {
        self.get(name)
            .unwrap_or_else(|| Calendar::new(name.clone(), CalendarDays::new()))
    }

    /// The calendars, `cn-workdays` first.
    pub fn all(&self) -> Vec<Calendar> {
        let shipped = CalendarName::parse(crate::domain::calendar::CN_WORKDAYS)
            .ok()
            .and_then(|name| self.get(&name));
        shipped
            .into_iter()
            .chain(
                self.0
                    .keys()
                    .filter(|name| !Calendar::is_shipped(name))
                    .filter_map(|name| self.get(name)),
            )
            .collect()
    }
}

impl SettingsService {
    /// The calendars, for schedules: read like the sending path's settings (once a second).
    pub async fn calendars(&self) -> Result<Calendars, ServiceError> {
        Ok(Calendars(self.sending_settings().await?.calendars))
    }

    /// One calendar; `NotFound` when no day was ever set on it and it is not shipped.
    pub async fn calendar(&self, name: &CalendarName) -> Result<Calendar, ServiceError> {
        self.calendars()
            .await?
            .get(name)
            .ok_or(ServiceError::NotFound("calendar"))
    }

    /// Sets a day of a calendar (making the calendar if it is new). Admins only.
    pub async fn put_calendar_day(
        &self,
        who: &Principal,
        name: &CalendarName,
        date: NaiveDate,
        day: CalendarDay,
    ) -> Result<(), ServiceError> {
        who.check_admin()?;
        change_settings(self.store.as_ref(), 3, "this write", |record| {
            let set: usize = record.calendars.values().map(BTreeMap::len).sum();
            let days = record.calendars.entry(name.clone()).or_default();
            if !days.contains_key(&date) && set >= MAX_SET_DAYS {
                return Err(FieldError::new(
                    "date",
                    format!(
                        "the calendars hold at most {MAX_SET_DAYS} set days: delete some first"
                    ),
                )
                .into());
            }
            days.insert(date, day.clone());
            Ok(true)
        })
        .await?;
        self.forget_sending_settings();
        Ok(())
    }

    /// Removes a day an admin set (the shipped day, if any, holds again); a calendar left with no
    /// day set and not shipped is gone. `NotFound` when the day was not set.
    pub async fn delete_calendar_day(
        &self,
        who: &Principal,
        name: &CalendarName,
        date: NaiveDate,
    ) -> Result<(), ServiceError> {
        who.check_admin()?;
        let removed = change_settings(self.store.as_ref(), 3, "this delete", |record| {
            let Some(days) = record.calendars.get_mut(name) else {
                return Ok(false);
            };
            let removed = days.remove(&date).is_some();
            if days.is_empty() {
                record.calendars.remove(name);
            }
            Ok(removed)
        })
        .await?;
        self.forget_sending_settings();
        if removed {
            Ok(())
        } else {
            Err(ServiceError::NotFound("calendar day"))
        }
    }
}
