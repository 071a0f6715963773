//! The task form's schedule: its next five runs (on its calendar's working days, counted from the
//! service's clock) as the fields change, and the calendars it may name.
use crate::Console;
use crate::session::Signed;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use herald_core::domain::auth::Principal;
use herald_core::domain::calendar::{Calendar, CalendarDay, CalendarDays, CalendarName, DayKind};
use serde_json::{Value, json};

/// The next five runs of a schedule as the API takes it (on its calendar's working days), or the
/// API's error naming the field.
pub(super) fn next_runs(
    schedule: &Value,
    calendar: Option<&Calendar>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>, herald_core::FieldError> {
    let mut body = schedule.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("expression");
    }
    let body = serde_json::from_value::<herald_api::dto::schedule::ScheduleBody>(body)
        .map_err(|e| herald_core::FieldError::new("", e.to_string()))?;
    let schedule = body.parse(|tz| now.with_timezone(&tz).date_naive())?;
    Ok(schedule
        .upcoming_on(now, 5, calendar)
        .iter()
        .map(|at| at.to_rfc3339())
        .collect())
}

/// The calendar a schedule names, as the API has it (shipped days and those admins set); none
/// without one, or when it cannot be read (the runs then show every day the cron fires).
pub(super) async fn calendar_of(
    console: &Console,
    who: &Principal,
    schedule: &Value,
) -> Option<Calendar> {
    let name = CalendarName::parse(schedule["calendar"].as_str()?).ok()?;
    // A calendar whose days were all deleted keeps its weekends off, as the trigger reads it.
    let set = match console.get(who, &format!("/v1/calendars/{name}")).await {
        Ok(answer) => set_days(&answer),
        Err(_) => CalendarDays::new(),
    };
    Some(Calendar::new(name, set))
}

/// The days admins set, from the API's answer for a calendar.
fn set_days(answer: &Value) -> CalendarDays {
    answer["days"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|day| day["set"] == true)
        .filter_map(|day| {
            let date = chrono::NaiveDate::parse_from_str(day["date"].as_str()?, "%Y-%m-%d").ok()?;
            let kind = DayKind::parse(day["kind"].as_str()?).ok()?;
            let name = day["name"].as_str().unwrap_or_default().to_owned();
            Some((date, CalendarDay::new(kind, name).ok()?))
        })
        .collect()
}

/// The calendars a schedule may name, for the form's choice.
pub(super) async fn calendar_names(console: &Console, who: &Principal) -> Vec<Value> {
    match console.get(who, "/v1/calendars").await {
        Ok(listed) => listed["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["name"].clone())
            .collect(),
        Err(_) => vec![json!(herald_core::domain::calendar::CN_WORKDAYS)],
    }
}

/// The schedule editor's next runs as the fields change: the form's `schedule.*` fields in the
/// query, answered as `{"runs": [...]}` or `{"error": {"field", "message"}}`.
pub(crate) async fn schedule_next(
    State(console): State<Console>,
    signed: Signed,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(refused) = super::guard::read_refused(&signed, &project) {
        return refused;
    }
    let fields: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let body = crate::task_form::task_body(&fields);
    let calendar = calendar_of(&console, &signed.open.principal, &body["schedule"]).await;
    match next_runs(&body["schedule"], calendar.as_ref(), console.now()) {
        Ok(runs) => axum::Json(json!({"runs": runs})).into_response(),
        Err(err) => axum::Json(json!({"error": {
            "field": if err.field.is_empty() { "schedule".to_owned() } else { format!("schedule.{}", err.field) },
            "message": err.message,
        }}))
        .into_response(),
    }
}
