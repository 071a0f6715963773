//! The templates, compiled once, and rendering one with the escaping its name says.
use super::*;

/// Every template, compiled into the environment under its file name.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    (
        "push_text.txt",
        include_str!("../../../templates/push_text.txt"),
    ),
    (
        "push_feishu_post.txt",
        include_str!("../../../templates/push_feishu_post.txt"),
    ),
    (
        "push_wecom_markdown.md",
        include_str!("../../../templates/push_wecom_markdown.md"),
    ),
    (
        "push_dingtalk_markdown.md",
        include_str!("../../../templates/push_dingtalk_markdown.md"),
    ),
    (
        "push_wecom_textcard.txt",
        include_str!("../../../templates/push_wecom_textcard.txt"),
    ),
    (
        "push_email_subject.plain",
        include_str!("../../../templates/push_email_subject.txt"),
    ),
    // Mail's plain part: the same text, shown as it is (see `escape::Sink::Plain`).
    (
        "push_text.plain",
        include_str!("../../../templates/push_text.txt"),
    ),
    (
        "alarm_owner.plain",
        include_str!("../../../templates/alarm_owner.txt"),
    ),
    (
        "ticket_text.plain",
        include_str!("../../../templates/ticket_text.txt"),
    ),
    (
        "push_email.html",
        include_str!("../../../templates/push_email.html"),
    ),
    (
        "alarm_robot.md",
        include_str!("../../../templates/alarm_robot.md"),
    ),
    (
        "alarm_owner.txt",
        include_str!("../../../templates/alarm_owner.txt"),
    ),
    (
        "ticket_text.txt",
        include_str!("../../../templates/ticket_text.txt"),
    ),
    (
        "ticket_email.html",
        include_str!("../../../templates/ticket_email.html"),
    ),
];

pub(super) static ENV: LazyLock<Result<Environment<'static>, String>> =
    LazyLock::new(build_environment);

pub(super) fn build_environment() -> Result<Environment<'static>, String> {
    let mut env = Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|e| e.to_string())?;
    env.set_syntax(syntax);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| AutoEscape::Custom(escape::sink_of(name).name().into()));
    env.set_formatter(|out, state, value| {
        let written = if value.is_safe() {
            write!(out, "{value}")
        } else {
            write!(out, "{}", sink_of_state(state).escape(&value.to_string()))
        };
        written.map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write"))
    });
    env.add_filter("link", |state: &minijinja::State, url: String| {
        Value::from_safe_string(escape::link(&url, sink_of_state(state)))
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(env)
}

pub(super) fn sink_of_state(state: &minijinja::State) -> escape::Sink {
    match state.auto_escape() {
        AutoEscape::Custom(name) => escape::Sink::from_name(name.as_ref()),
        AutoEscape::Html => escape::Sink::Html,
        _ => escape::Sink::Text,
    }
}

pub(super) fn render(name: &'static str, ctx: &Value) -> Result<String, RenderError> {
    let env = ENV
        .as_ref()
        .map_err(|e| RenderError::Templates(e.clone()))?;
    let failed = |e: minijinja::Error| RenderError::Template {
        template: name,
        message: e.to_string(),
    };
    env.get_template(name)
        .map_err(failed)?
        .render(ctx.clone())
        .map_err(failed)
}

pub(super) fn serialized<T: serde::Serialize>(value: T) -> Value {
    Value::from(minijinja::value::Serde(value))
}
