//! A push's message to a group chat's robot, fitted to the robot's own limit rather than the app's:
//! a WeCom robot takes 4,096 bytes of markdown (an app 2,048), a DingTalk robot 20,000 bytes (a
//! work notice 2,048), so a group's tables keep rows the people's message had to drop.
use super::*;
use crate::domain::limits::{dingtalk, wecom_robot};

/// What a group's robot gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBody {
    Wecom(RobotBody),
    Dingtalk(DingtalkBody),
}

/// Room kept in a DingTalk robot's message for the picture line it starts with
/// (`![snapshot](https://…/v1/snapshots/{project}/{sha256}.png?expires=…&sig=…)`) and `msgUuid`.
pub const DINGTALK_PICTURE_LINE_BYTES: usize = 1024;

/// Renders the group message of a push on `channel`: `text` stays text; a card or markdown task's
/// group gets markdown (robots take no text cards, and a DingTalk card is its markdown). `None`
/// for a channel without group robots.
pub fn render_group(
    channel: Channel,
    template: Template,
    view: &PushView,
) -> Result<Option<GroupBody>, RenderError> {
    let push = Push::new(view);
    let text = template == Template::Text;
    Ok(Some(match channel {
        Channel::Wecom if text => GroupBody::Wecom(RobotBody::Text {
            content: push.fit(
                "push_text.txt",
                view.share_url,
                wecom_robot::TEXT_MAX_BYTES,
                &str::len,
            )?,
            mentioned_list: Vec::new(),
        }),
        Channel::Wecom => GroupBody::Wecom(RobotBody::Markdown {
            content: push.fit(
                "push_wecom_markdown.md",
                view.share_url,
                wecom_robot::MARKDOWN_MAX_BYTES,
                &str::len,
            )?,
        }),
        Channel::Dingtalk if text => GroupBody::Dingtalk(DingtalkBody::Text {
            content: push.fit(
                "push_text.txt",
                view.share_url,
                dingtalk::ROBOT_MAX_BYTES - DINGTALK_PICTURE_LINE_BYTES,
                &dingtalk_text_len,
            )?,
        }),
        Channel::Dingtalk => {
            let title = push.dingtalk_title();
            let measure = |text: &str| {
                dingtalk_msg_len(&DingtalkBody::Markdown {
                    title: title.clone(),
                    text: text.to_owned(),
                })
            };
            let text = push.fit(
                "push_dingtalk_markdown.md",
                view.share_url,
                dingtalk::ROBOT_MAX_BYTES - DINGTALK_PICTURE_LINE_BYTES,
                &measure,
            )?;
            GroupBody::Dingtalk(DingtalkBody::Markdown { title, text })
        }
        Channel::Feishu | Channel::Email => return Ok(None),
    }))
}
