//! Working-day calendars: every caller reads them; admins set and delete days.
use crate::AppState;
use crate::dto::calendars::{CalendarList, CalendarView, DayBody, DayView};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, RawBody, parse_query};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use chrono::{Datelike, NaiveDate};
use herald_core::domain::calendar::CalendarName;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A calendar and a date from the path: a bad one is named as the field at fault.
fn calendar_day(calendar: &str, date: &str) -> Result<(CalendarName, NaiveDate), ApiError> {
    let name = CalendarName::parse(calendar).map_err(|m| ApiError::invalid("calendar", m))?;
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
        ApiError::invalid("date", format!("'{date}' is not a date: use YYYY-MM-DD"))
    })?;
    // The years a schedule runs in (EventBridge's cron stops at 2199).
    if !(1970..=2199).contains(&date.year()) {
        return Err(ApiError::invalid("date", "must be in the years 1970-2199"));
    }
    Ok((name, date))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CalendarQuery {
    /// Only the days of this year (1970-2199, the years a schedule runs in).
    #[param(minimum = 1970, maximum = 2199)]
    year: Option<i32>,
}

/// The calendars: `cn-workdays`, and each one an admin set days on.
#[utoipa::path(get, path = "/v1/calendars", tag = "calendars",
    responses((status = 200, body = CalendarList)))]
async fn list_calendars(
    State(state): State<AppState>,
    Caller(_who): Caller,
) -> Result<Json<CalendarList>, ApiError> {
    let calendars = state.settings.calendars().await?;
    Ok(Json(CalendarList {
        items: calendars
            .all()
            .iter()
            .map(|c| CalendarView::new(c, None))
            .collect(),
    }))
}

/// One calendar with its listed days (holidays and make-up working days).
#[utoipa::path(get, path = "/v1/calendars/{calendar}", tag = "calendars",
    params(("calendar" = String, Path), CalendarQuery),
    responses((status = 200, body = CalendarView), (status = 404, body = ErrorBody)))]
async fn get_calendar(
    State(state): State<AppState>,
    Caller(_who): Caller,
    Path(calendar): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<CalendarView>, ApiError> {
    let query: CalendarQuery = parse_query(query.as_deref())?;
    if query.year.is_some_and(|y| !(1970..=2199).contains(&y)) {
        return Err(ApiError::invalid("year", "must be 1970-2199"));
    }
    let name = CalendarName::parse(calendar).map_err(|_| ApiError::not_found("calendar"))?;
    let calendar = state.settings.calendar(&name).await?;
    Ok(Json(CalendarView::new(&calendar, Some(query.year))))
}

/// Sets a day (admin): `{"kind": "off", "name": "公司年会"}` or `{"kind": "work", "name": "调休上班"}`.
/// A new calendar name makes a calendar; on `cn-workdays` it corrects or adds to what Herald ships.
#[utoipa::path(put, path = "/v1/calendars/{calendar}/days/{date}", tag = "calendars",
    request_body = DayBody,
    params(("calendar" = String, Path), ("date" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 200, body = DayView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_calendar_day(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((calendar, date)): Path<(String, String)>,
    body: RawBody,
) -> Result<Json<DayView>, ApiError> {
    who.check_admin()?;
    let (name, date) = calendar_day(&calendar, &date)?;
    let day = body.json::<DayBody>()?.parse()?;
    state
        .settings
        .put_calendar_day(&who, &name, date, day.clone())
        .await?;
    Ok(Json(DayView::new(date, &day, true)))
}

/// Deletes a day an admin set (admin): a shipped day holds again.
#[utoipa::path(delete, path = "/v1/calendars/{calendar}/days/{date}", tag = "calendars",
    params(("calendar" = String, Path), ("date" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_calendar_day(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((calendar, date)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    who.check_admin()?;
    let (name, date) =
        calendar_day(&calendar, &date).map_err(|_| ApiError::not_found("calendar day"))?;
    state
        .settings
        .delete_calendar_day(&who, &name, date)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_calendars))
        .routes(routes!(get_calendar))
        .routes(routes!(put_calendar_day, delete_calendar_day))
}
