//! The alarm and auto-stop notices.
use super::*;

pub(super) struct Alarm<'v> {
    pub(super) view: &'v AlarmView<'v>,
    pub(super) lines: Vec<Line>,
    pub(super) reason: String,
    pub(super) action: Option<&'static str>,
}

impl<'v> Alarm<'v> {
    pub(super) fn new(view: &'v AlarmView<'v>) -> Self {
        let words = Words {
            language: view.language,
        };
        let zh = words.zh();
        let concerned = |state: LineState| -> Vec<Line> {
            view.charts
                .iter()
                .map(|c| Line::new(c, None, words))
                .filter(|l| l.state == state)
                .collect()
        };
        let (lines, reason, action) = match view.reason {
            AlarmReason::Empty => {
                let lines = concerned(LineState::Empty);
                let phrase = if zh {
                    ("无数据", "无数据")
                } else {
                    ("is empty", "are empty")
                };
                let reason = count_phrase(lines.len(), view.total_charts, phrase, zh);
                (lines, reason, Some(paused_phrase(view.paused, zh)))
            }
            AlarmReason::AccessError => {
                let lines = concerned(LineState::Unreadable);
                let phrase = if zh {
                    ("无法读取", "无法读取")
                } else {
                    ("could not be read", "could not be read")
                };
                let reason = count_phrase(lines.len(), view.total_charts, phrase, zh);
                (lines, reason, Some(paused_phrase(view.paused, zh)))
            }
            AlarmReason::Stopped { failures } => {
                let reason = if zh {
                    format!("任务已连续 {failures} 次推送失败，已自动停止；启用后将重新开始。")
                } else {
                    let runs = if failures == 1 { "run" } else { "runs" };
                    format!(
                        "The task was stopped after {failures} failed {runs} in a row; enable it to start again."
                    )
                };
                (Vec::new(), reason, None)
            }
        };
        Self {
            view,
            lines,
            reason,
            action,
        }
    }

    pub(super) fn words(&self) -> Words {
        Words {
            language: self.view.language,
        }
    }

    /// The notice's subject line (mail) and heading.
    pub(super) fn heading(&self) -> String {
        let label = if self.words().zh() {
            "Herald 告警"
        } else {
            "Herald alarm"
        };
        one_line(&format!("{label}: {}", self.view.task_name))
    }

    pub(super) fn fit(
        &self,
        template: &'static str,
        limit: usize,
        measure: &dyn Fn(&str) -> usize,
    ) -> Result<String, RenderError> {
        let at = format_at(&self.view.at);
        let labels = if self.words().zh() {
            context! { alarm => "Herald 告警", project => "项目", record => "推送记录", view_record => "查看推送记录" }
        } else {
            context! { alarm => "Herald alarm", project => "Project", record => "Record", view_record => "View the run record" }
        };
        let render = |shape: &Shape| {
            let ctx = context! {
                task_name => one_line(self.view.task_name),
                project => one_line(self.view.project),
                reason => self.reason.as_str(),
                action => self.action,
                charts => shape.lines_value(),
                more_text => shape.more_text(),
                record_url => self.view.record_url,
                at => at.as_str(),
                labels => labels.clone(),
            };
            render(template, &ctx).map(|s| tidy(&s))
        };
        fit(
            &self.lines,
            (None, None),
            self.words(),
            limit,
            &render,
            measure,
        )
    }
}

/// "2 of 5 charts are empty", "All 5 charts could not be read", "The only chart is empty".
pub(super) fn count_phrase(
    count: usize,
    total: usize,
    (one, many): (&str, &str),
    zh: bool,
) -> String {
    let total = total.max(count);
    match (zh, total == 1, count == total, count == 1) {
        (true, true, _, _) => format!("唯一的图表{one}。"),
        (true, false, true, _) => format!("全部 {total} 个图表{many}。"),
        (true, false, false, _) => format!("{total} 个图表中有 {count} 个{many}。"),
        (false, true, _, _) => format!("The only chart {one}."),
        (false, false, true, _) => format!("All {total} charts {many}."),
        (false, false, false, true) => format!("1 of {total} charts {one}."),
        (false, false, false, false) => format!("{count} of {total} charts {many}."),
    }
}

pub(super) fn paused_phrase(paused: bool, zh: bool) -> &'static str {
    match (paused, zh) {
        (true, true) => "本次推送已暂停，未发送任何消息。",
        (false, true) => "本次推送仍已发送。",
        (true, false) => "This push was paused: nothing was sent.",
        (false, false) => "This push was sent anyway.",
    }
}

// ---------------------------------------------------------------------------------------------
// Text helpers
