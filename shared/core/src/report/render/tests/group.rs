//! Group messages: fitted to the robots' own limits.
use super::*;

#[test]
fn a_groups_robot_gets_more_of_a_long_page_than_the_apps_message_within_its_own_limit() {
    let charts = many(10);
    let v = view(&charts);
    for (channel, robot_limit) in [(Channel::Wecom, 4096), (Channel::Dingtalk, 20_000 - 1024)] {
        let app = all_text(&render_push(channel, Template::Markdown, &v).unwrap());
        let group = match render_group(channel, Template::Markdown, &v).unwrap() {
            Some(GroupBody::Wecom(RobotBody::Markdown { content })) => content,
            Some(GroupBody::Dingtalk(body @ DingtalkBody::Markdown { .. })) => {
                let msg = serde_json::to_string(&crate::domain::message::DingtalkMsg::of(&body));
                assert!(msg.unwrap().len() <= robot_limit);
                let DingtalkBody::Markdown { text, .. } = body else {
                    unreachable!()
                };
                text
            }
            other => panic!("{channel:?}: {other:?}"),
        };
        assert!(
            group.len() <= robot_limit,
            "{channel:?} {} bytes",
            group.len()
        );
        assert!(
            group.len() > app.len() + 1000,
            "{channel:?}: the group's {} bytes against the app's {}",
            group.len(),
            app.len()
        );
    }
    assert_eq!(
        render_group(Channel::Feishu, Template::Card, &v).unwrap(),
        None
    );
}
