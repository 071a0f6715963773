//! A ticket event's message: text on WeCom and Feishu, HTML mail with a text part, in the
//! reader's language.
use super::*;
use crate::domain::ticket::TicketStatus;

/// What a ticket event's message says.
#[derive(Debug, Clone)]
pub struct TicketView<'a> {
    pub status: TicketStatus,
    pub title: &'a str,
    pub project: &'a str,
    pub id: &'a str,
    /// Who acted: the contact's name when known, else the id the event gave.
    pub actor: Option<&'a str>,
    /// Shown for rejected tickets and failed executions only.
    pub reason: Option<&'a str>,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// The ticket's link; `None` sends the message without one (never a relative link).
    pub link: Option<&'a str>,
}

/// Renders a ticket event for one channel in the reader's language: a text message on WeCom and
/// Feishu, HTML mail with a text part. Chinese shows the time in Asia/Shanghai, English in UTC.
pub fn render_ticket(
    channel: Channel,
    language: Language,
    view: &TicketView,
) -> Result<RenderedPush, RenderError> {
    let zh = language == Language::Zh;
    let tz = if zh { Tz::Asia__Shanghai } else { Tz::UTC };
    let at = format_at(&view.occurred_at.with_timezone(&tz));
    let headline = view.status.headline(language);
    let reason = view
        .reason
        .filter(|_| view.status.shows_reason())
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let labels = if zh {
        context! { project => "项目", id => "工单号", actor => "操作人", reason => "原因", at => "时间", open => "查看工单" }
    } else {
        context! { project => "Project", id => "Ticket", actor => "By", reason => "Reason", at => "Time", open => "Open the ticket" }
    };
    let ctx = |reason: Option<&str>| {
        context! {
            zh => zh,
            headline => headline,
            title => one_line(view.title),
            project => view.project,
            id => view.id,
            actor => view.actor,
            reason => reason,
            at => at.as_str(),
            link => view.link,
            labels => labels.clone(),
        }
    };
    // Instant messages keep the reason short; mail shows it whole.
    let short_reason = reason.map(|r| ellipsize(r, REASON_MAX_BYTES * 4));
    let text = |limit: usize, measure: &dyn Fn(&str) -> usize| {
        render("ticket_text.txt", &ctx(short_reason.as_deref()))
            .map(|t| cut_to(tidy(&t), limit, measure))
    };
    Ok(match channel {
        Channel::Wecom => RenderedPush::Wecom(WecomBody::Text {
            content: text(wecom::CONTENT_MAX_BYTES, &str::len)?,
        }),
        Channel::Feishu => RenderedPush::Feishu(FeishuBody::Text {
            text: text(feishu::TEXT_REQUEST_MAX_BYTES, &feishu_text_request_len)?,
        }),
        Channel::Dingtalk => RenderedPush::Dingtalk(DingtalkBody::Text {
            content: text(dingtalk::NOTICE_MSG_MAX_BYTES, &dingtalk_text_len)?,
        }),
        Channel::Email => RenderedPush::Email {
            subject: escape::defang(&one_line(&format!("{headline}: {}", view.title))).into_owned(),
            text: render("ticket_text.plain", &ctx(reason)).map(|t| tidy(&t))?,
            html: Some(render("ticket_email.html", &ctx(reason))?),
            images: Vec::new(),
        },
    })
}
