//! Pages: the templates (embedded), and what every page is given.
use crate::i18n::Lang;
use crate::session::Signed;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use herald_core::domain::auth::{Principal, Role};
use minijinja::{Environment, Error, ErrorKind, State, Value, context};
use std::sync::LazyLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    ("projects.html", include_str!("../templates/projects.html")),
    ("tasks.html", include_str!("../templates/tasks.html")),
    (
        "task_form.html",
        include_str!("../templates/task_form.html"),
    ),
    ("records.html", include_str!("../templates/records.html")),
    ("record.html", include_str!("../templates/record.html")),
    ("settings.html", include_str!("../templates/settings.html")),
    ("message.html", include_str!("../templates/message.html")),
    (
        "confirm_text.html",
        include_str!("../templates/confirm_text.html"),
    ),
    (
        "confirm_dialog.html",
        include_str!("../templates/confirm_dialog.html"),
    ),
    (
        "settings_nav.html",
        include_str!("../templates/settings_nav.html"),
    ),
    ("keys.html", include_str!("../templates/keys.html")),
    ("contacts.html", include_str!("../templates/contacts.html")),
    ("sources.html", include_str!("../templates/sources.html")),
    ("general.html", include_str!("../templates/general.html")),
    ("sandbox.html", include_str!("../templates/sandbox.html")),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Every value is HTML-escaped, whatever a template's name: a task named `<form …>` is text.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    for (name, source) in TEMPLATES {
        if let Err(err) = env.add_template(name, source) {
            // A template that does not parse is a build defect; the page test renders each one.
            tracing::error!(template = name, error = %err, "console template does not parse");
        }
    }
    env.add_function("t", translate);
    env.add_function("asset", |name: &str| crate::assets::url(name));
    env.add_filter("words", crate::words::schedule_filter);
    env
});

/// `t("key")`: the page language's text for `key` (an unknown key is an error, caught by tests).
fn translate(state: &State, key: &str) -> Result<String, Error> {
    let lang = state
        .lookup("lang")
        .and_then(|l| l.as_str().map(Lang::parse))
        .unwrap_or_default();
    lang.text(key)
        .map(str::to_owned)
        .ok_or_else(|| Error::new(ErrorKind::UndefinedError, format!("no text for '{key}'")))
}

/// What the page header needs to know about the caller.
pub(crate) fn who(principal: &Principal) -> Value {
    match principal {
        Principal::Admin => {
            context! { admin => true, role => "admin", writer => true, project => () }
        }
        Principal::Member { project, role } => context! {
            admin => false,
            role => role.as_str(),
            writer => *role == Role::Editor,
            project => project.to_string(),
        },
    }
}

/// Renders a page for a signed-in caller: `extra` plus the caller, language and CSRF token.
pub(crate) fn page(signed: &Signed, name: &str, extra: serde_json::Value) -> Response {
    let common = context! {
        lang => signed.lang.as_str(),
        who => who(&signed.open.principal),
        csrf => signed.open.csrf.clone(),
        path => signed.path.clone(),
        sandbox => signed.sandbox,
    };
    let extra = Value::from(minijinja::value::Serde(&extra));
    render(name, context! { ..extra, ..common }, StatusCode::OK)
}

/// `base` with the fields of `extra` added (both JSON objects).
pub(crate) fn merged(mut base: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    if let (Some(map), serde_json::Value::Object(extra)) = (base.as_object_mut(), extra) {
        map.extend(extra);
    }
    base
}

/// Answers `status` with a rendered page (a page that failed to render stays a 500).
pub(crate) fn with_status(mut response: Response, status: StatusCode) -> Response {
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

/// Renders `name` with `ctx` and answers `status`.
pub(crate) fn render(name: &str, ctx: Value, status: StatusCode) -> Response {
    let rendered = ENV
        .get_template(name)
        .and_then(|template| template.render(ctx));
    match rendered {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(template = name, error = %err, "console page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "this page failed to render",
            )
                .into_response()
        }
    }
}

/// A page with a message (an API error, a missing item), in the page frame.
pub(crate) fn message(signed: &Signed, status: StatusCode, title: &str, text: &str) -> Response {
    let response = page(
        signed,
        "message.html",
        serde_json::json!({ "title": title, "text": text }),
    );
    with_status(response, status)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        for (name, _) in super::TEMPLATES {
            assert!(super::ENV.get_template(name).is_ok(), "{name}");
        }
    }
}
