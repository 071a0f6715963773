//! A push run's message, per channel and template.
use super::*;
use crate::domain::limits::{dingtalk, feishu, wecom};

pub(super) struct Push<'v> {
    pub(super) view: &'v PushView<'v>,
    pub(super) words: Words,
    pub(super) title: String,
    pub(super) at: String,
    pub(super) lines: Vec<Line>,
    pub(super) worst: Option<LineState>,
}

/// HTML mail: big enough for every chart's table, small enough that one queued mail stays far
/// below a DynamoDB item's 400 KB.
pub(super) const EMAIL_HTML_MAX_BYTES: usize = 96 * 1024;
/// The mail's plain-text part.
pub(super) const EMAIL_TEXT_MAX_BYTES: usize = 32 * 1024;

impl<'v> Push<'v> {
    pub(super) fn new(view: &'v PushView<'v>) -> Self {
        let words = Words {
            language: view.language,
        };
        let lines: Vec<Line> = view
            .charts
            .iter()
            .enumerate()
            .map(|(i, check)| Line::new(check, view.figures.get(i).and_then(Option::as_ref), words))
            .collect();
        let worst = lines.iter().map(|l| l.state).min();
        Self {
            view,
            words,
            title: format!(
                "{}{}",
                words.kind_label(view.kind),
                one_line(view.page_title)
            ),
            at: format_run_at(&view.at, view.kind, view.reference),
            lines,
            worst,
        }
    }

    pub(super) fn context(&self, shape: &Shape, share_url: Option<&str>) -> Value {
        context! {
            // Herald's own label ("[Test] ") is no markup; the page's title is escaped.
            title_label => Value::from_safe_string(self.words.kind_label(self.view.kind).to_owned()),
            title => one_line(self.view.page_title),
            at => self.at.as_str(),
            task_name => one_line(self.view.task_name),
            kind => self.view.kind.as_str(),
            beginning => shape.beginning.as_deref(),
            ending => shape.ending.as_deref(),
            charts => shape.lines_value(),
            summary => shape.summary,
            more_text => shape.more_text(),
            share_url => share_url,
            view_report => self.words.view_report(),
            snapshot => self.view.snapshot.map(|s| s.name.as_str()),
            aligned_tables => false,
        }
    }

    /// Renders `template` fitted to `limit` as measured by `measure`.
    pub(super) fn fit(
        &self,
        template: &'static str,
        share_url: Option<&str>,
        limit: usize,
        measure: &dyn Fn(&str) -> usize,
    ) -> Result<String, RenderError> {
        self.fit_with(limit, measure, &|shape: &Shape| {
            render(template, &self.context(shape, share_url)).map(|s| tidy(&s))
        })
    }

    pub(super) fn fit_with(
        &self,
        limit: usize,
        measure: &dyn Fn(&str) -> usize,
        render: &dyn Fn(&Shape) -> Result<String, RenderError>,
    ) -> Result<String, RenderError> {
        fit(
            &self.lines,
            (self.view.beginning, self.view.ending),
            self.words,
            limit,
            render,
            measure,
        )
    }

    pub(super) fn wecom_textcard(&self, url: &str) -> Result<RenderedPush, RenderError> {
        let description = self.fit(
            "push_wecom_textcard.txt",
            None,
            wecom::TEXTCARD_DESCRIPTION_MAX_BYTES,
            &str::len,
        )?;
        Ok(RenderedPush::Wecom(WecomBody::Textcard {
            title: ellipsize(
                &escape::defang(&self.title),
                wecom::TEXTCARD_TITLE_MAX_BYTES,
            )
            .into_owned(),
            description,
            url: url.to_owned(),
            btntxt: Some(self.words.button().to_owned()),
        }))
    }

    pub(super) fn wecom_markdown(&self) -> Result<RenderedPush, RenderError> {
        let content = self.fit(
            "push_wecom_markdown.md",
            self.view.share_url,
            wecom::CONTENT_MAX_BYTES,
            &str::len,
        )?;
        Ok(RenderedPush::Wecom(WecomBody::Markdown { content }))
    }

    pub(super) fn wecom_text(&self) -> Result<RenderedPush, RenderError> {
        let content = self.fit(
            "push_text.txt",
            self.view.share_url,
            wecom::CONTENT_MAX_BYTES,
            &str::len,
        )?;
        Ok(RenderedPush::Wecom(WecomBody::Text { content }))
    }

    /// DingTalk markdown, fitted to a work notice's `msg` (2,048 bytes); a group's robot takes
    /// far more (see `group.rs`).
    /// A DingTalk markdown message's title: the chat list's one-line preview.
    pub(super) fn dingtalk_title(&self) -> String {
        ellipsize(&escape::defang(&self.title), dingtalk::TITLE_MAX_BYTES).into_owned()
    }

    pub(super) fn dingtalk_markdown(&self) -> Result<RenderedPush, RenderError> {
        let title = self.dingtalk_title();
        let measure = |text: &str| {
            dingtalk_msg_len(&DingtalkBody::Markdown {
                title: title.clone(),
                text: text.to_owned(),
            })
        };
        let text = self.fit(
            "push_dingtalk_markdown.md",
            self.view.share_url,
            dingtalk::NOTICE_MSG_MAX_BYTES,
            &measure,
        )?;
        Ok(RenderedPush::Dingtalk(DingtalkBody::Markdown {
            title,
            text,
        }))
    }

    pub(super) fn dingtalk_text(&self) -> Result<RenderedPush, RenderError> {
        let content = self.fit(
            "push_text.txt",
            self.view.share_url,
            dingtalk::NOTICE_MSG_MAX_BYTES,
            &dingtalk_text_len,
        )?;
        Ok(RenderedPush::Dingtalk(DingtalkBody::Text { content }))
    }

    /// Blue normally, orange when a chart is empty, red when one could not be read.
    pub(super) fn card_color(&self) -> &'static str {
        match self.worst {
            Some(LineState::Unreadable) => "red",
            Some(LineState::Empty) => "orange",
            _ => "blue",
        }
    }

    pub(super) fn feishu_card(&self) -> Result<RenderedPush, RenderError> {
        let render = |shape: &Shape| Ok(feishu_card::card(self, shape).to_string());
        let measure = |card: &str| {
            serde_json::Value::String(card.to_owned()).to_string().len()
                + FEISHU_REQUEST_OVERHEAD
                + feishu_card::IMAGE_ELEMENT_BYTES
        };
        let card = self.fit_with(feishu::RICH_REQUEST_MAX_BYTES, &measure, &render)?;
        let card = serde_json::from_str(&card).map_err(|e| RenderError::Template {
            template: "feishu card",
            message: e.to_string(),
        })?;
        Ok(RenderedPush::Feishu(FeishuBody::Interactive {
            card,
            image: self.view.snapshot.cloned(),
        }))
    }

    /// One paragraph per non-blank line of the post template, then the link run.
    pub(super) fn paragraphs(&self, text: &str) -> Vec<Vec<PostRun>> {
        let mut paragraphs: Vec<Vec<PostRun>> = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                vec![PostRun {
                    text: line.to_owned(),
                    href: None,
                }]
            })
            .collect();
        if let Some(url) = self.view.share_url {
            paragraphs.push(vec![PostRun {
                text: self.words.view_report().to_owned(),
                href: Some(url.to_owned()),
            }]);
        }
        paragraphs
    }

    pub(super) fn feishu_post(&self) -> Result<RenderedPush, RenderError> {
        let measure = |text: &str| {
            feishu_request_len(&post_content(
                &escape::defang(&self.title),
                &self.paragraphs(text),
            )) + feishu_card::IMAGE_ELEMENT_BYTES
        };
        let text = self.fit(
            "push_feishu_post.txt",
            None,
            feishu::RICH_REQUEST_MAX_BYTES,
            &measure,
        )?;
        Ok(RenderedPush::Feishu(FeishuBody::Post {
            title: escape::defang(&self.title).into_owned(),
            paragraphs: self.paragraphs(&text),
            image: self.view.snapshot.cloned(),
        }))
    }

    pub(super) fn feishu_text(&self) -> Result<RenderedPush, RenderError> {
        let text = self.fit(
            "push_text.txt",
            self.view.share_url,
            feishu::TEXT_REQUEST_MAX_BYTES,
            &feishu_text_request_len,
        )?;
        Ok(RenderedPush::Feishu(FeishuBody::Text { text }))
    }

    pub(super) fn email(&self, with_html: bool) -> Result<RenderedPush, RenderError> {
        let all = Shape {
            lines: self.lines.iter().collect(),
            summary: None,
            more: 0,
            beginning: self.view.beginning.map(Cow::Borrowed),
            ending: self.view.ending.map(Cow::Borrowed),
            row_cap: usize::MAX,
            words: self.words,
        };
        let subject =
            one_line(render("push_email_subject.plain", &self.context(&all, None))?.trim());
        // The text part shows tables with aligned columns (mail clients show it in a fixed font).
        let text = self.fit_with(EMAIL_TEXT_MAX_BYTES, &str::len, &|shape: &Shape| {
            let mut ctx = self.context(shape, self.view.share_url);
            ctx = context! { aligned_tables => true, ..ctx };
            render("push_text.plain", &ctx).map(|s| tidy(&s))
        })?;
        let (html, images) = if with_html {
            let html = self.fit_with(EMAIL_HTML_MAX_BYTES, &str::len, &|shape: &Shape| {
                render("push_email.html", &self.context(shape, self.view.share_url))
                    .map(|h| h.trim().to_owned())
            })?;
            (
                Some(html),
                self.view.snapshot.cloned().into_iter().collect(),
            )
        } else {
            (None, Vec::new())
        };
        Ok(RenderedPush::Email {
            subject,
            text,
            html,
            images,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Alarms
