//! Channel settings, channel tests and webhook sources (admin).
use crate::AppState;
use crate::dto::settings::{
    ChannelTestBody, ChannelTestResponse, DingtalkBody, FeishuBody, GlobalSettingsBody,
    ProviderErrorResponse, SettingsResponse, SmtpBody, WebhookSourceBody, WecomBody,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, RawBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use herald_core::domain::delivery::{AttemptResult, Delivery, DeliveryStatus};
use herald_core::domain::ids::ContactId;
use herald_core::ports::SendFailure;
use herald_core::services::channel_test::ChannelTestTarget;
use secrecy::SecretString;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Global settings and each channel's status (secrets masked).
#[utoipa::path(get, path = "/v1/settings", tag = "settings", responses((status = 200, body = SettingsResponse), (status = 403, body = ErrorBody)))]
async fn get_settings(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<SettingsResponse>, ApiError> {
    Ok(Json(state.settings.view(&who).await?.into()))
}

/// Sets the global settings (`url_prefix`).
#[utoipa::path(put, path = "/v1/settings", tag = "settings", request_body = GlobalSettingsBody,
    responses((status = 200, body = SettingsResponse), (status = 400, body = ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    Caller(who): Caller,
    body: RawBody,
) -> Result<Json<SettingsResponse>, ApiError> {
    who.check_admin()?;
    let url_prefix = body.json::<GlobalSettingsBody>()?.parse()?;
    state.settings.put_url_prefix(&who, url_prefix).await?;
    Ok(Json(state.settings.view(&who).await?.into()))
}

/// Configures one channel; the others are untouched.
#[utoipa::path(put, path = "/v1/settings/channels/{channel}", tag = "settings",
    params(("channel" = String, Path, description = "smtp, wecom, feishu or dingtalk")),
    request_body(content = Object, description = "SmtpBody, WecomBody, FeishuBody or DingtalkBody"),
    responses((status = 200, body = SettingsResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_channel(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(channel): Path<String>,
    body: RawBody,
) -> Result<Json<SettingsResponse>, ApiError> {
    who.check_admin()?;
    match channel.as_str() {
        "smtp" => {
            let (settings, password) = body.json::<SmtpBody>()?.parse()?;
            state.settings.put_smtp(&who, settings, password).await?;
        }
        "wecom" => {
            let (settings, secret, proxy) = body.json::<WecomBody>()?.parse()?;
            state
                .settings
                .put_wecom(&who, settings, secret, proxy)
                .await?;
        }
        "feishu" => {
            let (settings, secret) = body.json::<FeishuBody>()?.parse()?;
            state.settings.put_feishu(&who, settings, secret).await?;
        }
        "dingtalk" => {
            let (settings, secret) = body.json::<DingtalkBody>()?.parse()?;
            state.settings.put_dingtalk(&who, settings, secret).await?;
        }
        _ => return Err(ApiError::not_found("channel")),
    }
    Ok(Json(state.settings.view(&who).await?.into()))
}

fn test_target(channel: &str, body: &ChannelTestBody) -> Result<ChannelTestTarget, ApiError> {
    let target = match channel {
        "smtp" => body.smtp(),
        "wecom" => body.wecom(),
        "feishu" => body.feishu(),
        "dingtalk" => body.dingtalk(),
        _ => return Err(ApiError::not_found("channel")),
    };
    Ok(target?)
}

fn test_response(delivery: Delivery) -> ChannelTestResponse {
    let (provider_answer, error) = match delivery.last_attempt().map(|a| &a.result) {
        Some(AttemptResult::Accepted { receipt }) => (Some(receipt.answer.clone()), None),
        Some(AttemptResult::Failed { error }) => (
            None,
            Some(ProviderErrorResponse {
                class: match error.failure {
                    SendFailure::RateLimited { .. } => "rate_limited",
                    SendFailure::HeldBack { .. } => "held_back",
                    SendFailure::Transient => "transient",
                    SendFailure::Config => "config",
                    SendFailure::Recipient => "recipient",
                    SendFailure::Payload => "payload",
                }
                .to_owned(),
                code: error.code,
                message: error.message.clone(),
                hint: error.hint.clone(),
            }),
        ),
        None => (None, None),
    };
    ChannelTestResponse {
        delivered: delivery.status == DeliveryStatus::Delivered,
        delivery_id: delivery.id.to_string(),
        status: delivery.status.as_str().to_owned(),
        attempts: delivery.attempts,
        provider_answer,
        error,
    }
}

/// Sends a real test message on one channel and answers what the provider said (200); when it has
/// not answered within 25 s, answers the delivery still being sent (202).
#[utoipa::path(post, path = "/v1/settings/channels/{channel}/test", tag = "settings",
    params(("channel" = String, Path, description = "smtp, wecom, feishu or dingtalk")), request_body = ChannelTestBody,
    responses((status = 200, body = ChannelTestResponse), (status = 202, body = ChannelTestResponse, description = "no answer yet: the message is still being sent"),
        (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn test_channel(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(channel): Path<String>,
    body: RawBody,
) -> Result<(StatusCode, Json<ChannelTestResponse>), ApiError> {
    who.check_admin()?;
    let target = test_target(&channel, &body.json::<ChannelTestBody>()?)?;
    let delivery = state.channel_tests.test(&who, target).await?;
    // No attempt has finished: the provider has not answered yet.
    let status = if delivery.last_attempt().is_some() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(test_response(delivery))))
}

/// Sets the signing secret of a ticket webhook source. Write-only.
#[utoipa::path(put, path = "/v1/settings/webhook-sources/{source}", tag = "settings",
    params(("source" = String, Path)), request_body = WebhookSourceBody,
    responses((status = 204), (status = 400, body = ErrorBody)))]
async fn put_webhook_source(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(source): Path<String>,
    body: RawBody,
) -> Result<StatusCode, ApiError> {
    who.check_admin()?;
    let source = ContactId::parse(source).map_err(|m| ApiError::invalid("source", m))?;
    let secret = body.json::<WebhookSourceBody>()?.secret;
    if secret.chars().count() < 16 {
        return Err(ApiError::invalid(
            "secret",
            "must be at least 16 characters",
        ));
    }
    state
        .settings
        .put_webhook_source(&who, source.as_str(), SecretString::from(secret))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(put_channel))
        .routes(routes!(test_channel))
        .routes(routes!(put_webhook_source))
}
