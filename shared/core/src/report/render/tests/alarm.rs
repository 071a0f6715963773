//! The alarm and auto-stop notices.
use super::*;

#[test]
fn the_robot_alarm_says_why() {
    let mut charts = typical();
    charts.push(chart("Stock", ChartState::Empty));
    charts.push(chart("Returns", ChartState::Ok { rows: 1 }));

    let text = robot(&alarm(AlarmReason::Empty, &charts, 5));
    assert!(
        text.starts_with("**⚠️ Herald alarm: Daily sales**"),
        "{text}"
    );
    assert!(text.contains("2 of 5 charts are empty."));
    assert!(text.contains("This push was paused: nothing was sent."));
    assert!(text.contains("> Orders: <font color=\"warning\">no data</font>"));
    assert!(text.contains("> Stock: "));
    assert!(!text.contains("Refunds") && !text.contains("GMV"), "{text}");
    assert!(text.contains("Project bi · 2026-12-03 10:00 (Asia/Shanghai)"));
    assert!(text.contains(&format!("[View the run record]({RECORD})")));

    let mut view = alarm(AlarmReason::AccessError, &charts, 5);
    view.paused = false;
    view.record_url = None;
    let text = robot(&view);
    assert!(text.contains("1 of 5 charts could not be read."));
    assert!(text.contains("This push was sent anyway."));
    assert!(text.contains("Refunds: <font color=\"warning\">could not be read (HTTP 503)</font>"));
    assert!(!text.contains("record"));

    let unreadable = vec![
        chart(
            "A",
            ChartState::AccessError {
                reason: "timeout".into(),
            },
        ),
        chart(
            "B",
            ChartState::AccessError {
                reason: "HTTP 404".into(),
            },
        ),
    ];
    let text = robot(&alarm(AlarmReason::AccessError, &unreadable, 2));
    assert!(text.contains("All 2 charts could not be read."), "{text}");
    let text = robot(&alarm(AlarmReason::AccessError, &unreadable[..1], 1));
    assert!(text.contains("The only chart could not be read."), "{text}");

    let text = robot(&alarm(AlarmReason::Stopped { failures: 3 }, &charts, 5));
    assert!(
        text.contains("stopped after 3 failed runs in a row; enable it to start again"),
        "{text}"
    );
    assert!(
        !text.contains("paused") && !text.contains("Orders"),
        "{text}"
    );
    let text = robot(&alarm(AlarmReason::Stopped { failures: 1 }, &[], 5));
    assert!(text.contains("after 1 failed run in a row"));
}

#[test]
fn the_robot_alarm_fits_fifty_charts() {
    let charts: Vec<ChartCheck> = many(20)
        .into_iter()
        .map(|mut c| {
            c.state = ChartState::Empty;
            c
        })
        .collect();
    let text = robot(&alarm(AlarmReason::Empty, &charts, 50));
    assert!(text.contains("All 50 charts are empty."));
    assert!(text.contains("more"));
    assert!(text.contains(RECORD), "the record link survives the cut");
}

#[test]
fn the_owner_note_goes_on_the_tasks_channel() {
    let charts = typical();
    let view = alarm(AlarmReason::Empty, &charts, 3);
    for channel in CHANNELS {
        let note = render_alarm_owner(channel, &view).unwrap();
        assert_within_limits(&note);
        let text = all_text(&note);
        assert!(text.contains("Herald alarm: Daily sales (bi)"), "{text}");
        assert!(text.contains("1 of 3 charts is empty. This push was paused: nothing was sent."));
        assert!(text.contains("- Orders: no data"));
        assert!(text.contains(&format!("Record: {RECORD}")));
        match (channel, note) {
            (Channel::Wecom, RenderedPush::Wecom(WecomBody::Text { .. }))
            | (Channel::Feishu, RenderedPush::Feishu(FeishuBody::Text { .. }))
            | (Channel::Dingtalk, RenderedPush::Dingtalk(DingtalkBody::Text { .. })) => {}
            (Channel::Email, RenderedPush::Email { subject, html, .. }) => {
                assert_eq!(subject, "Herald alarm: Daily sales");
                assert_eq!(html, None);
            }
            other => panic!("wrong message type {other:?}"),
        }
    }
    let stopped = alarm(AlarmReason::Stopped { failures: 3 }, &[], 3);
    let RenderedPush::Wecom(WecomBody::Text { content }) =
        render_alarm_owner(Channel::Wecom, &stopped).unwrap()
    else {
        panic!("not text")
    };
    assert_eq!(
        content,
        format!(
            "Herald alarm: Daily sales (bi)\n\
             The task was stopped after 3 failed runs in a row; enable it to start again.\n\
             2026-12-03 10:00 (Asia/Shanghai)\nRecord: {RECORD}"
        )
    );
    let charts = many(20);
    let note = render_alarm_owner(Channel::Wecom, &alarm(AlarmReason::Empty, &charts, 50)).unwrap();
    assert_within_limits(&note);
}

#[test]
fn helpers() {
    assert_eq!(format_at(&at()), "2026-12-03 10:00 (Asia/Shanghai)");
    assert_eq!(tidy("\n a \n\n\n\nb  \n\n"), "a\n\nb");
    assert_eq!(one_line("a\r\nb\nc"), "a b c");
    let en = Words {
        language: Language::En,
    };
    let zh = Words {
        language: Language::Zh,
    };
    let lines: Vec<Line> = many(1).iter().map(|c| Line::new(c, None, en)).collect();
    assert_eq!(summary(&lines, en), "48 ok · 1 empty · 1 unreadable");
    assert_eq!(summary(&lines, zh), "48 正常 · 1 无数据 · 1 无法读取");
    assert_eq!(summary(&lines[..2], en), "2 ok");
    assert_eq!(
        Line::new(&chart("x", ChartState::Ok { rows: 1 }), None, en).detail,
        "1 row"
    );
    assert_eq!(
        Line::new(
            &chart("x", ChartState::AccessError { reason: " ".into() }),
            None,
            en
        )
        .detail,
        "could not be read"
    );
}

#[test]
fn alarms_speak_the_tasks_language() {
    let charts = typical();
    let mut view = alarm(AlarmReason::AccessError, &charts, 3);
    view.language = Language::Zh;
    let text = robot(&view);
    assert!(text.contains("Herald 告警"), "{text}");
    assert!(text.contains("3 个图表中有 1 个无法读取"), "{text}");
    assert!(text.contains("本次推送已暂停"), "{text}");
    assert!(text.contains("查看推送记录"), "{text}");
    let stopped = alarm(AlarmReason::Stopped { failures: 3 }, &[], 3);
    let stopped = AlarmView {
        language: Language::Zh,
        ..stopped
    };
    let note = all_text(&render_alarm_owner(Channel::Email, &stopped).unwrap());
    assert!(note.contains("连续 3 次推送失败"), "{note}");
}
