//! The schedule gateways: EventBridge Scheduler on moto, and the local schedule table.
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::ports::{ScheduleDefinition, ScheduleGateway};
use herald_embedded::{Db, LocalScheduler};

fn definition(enabled: bool) -> ScheduleDefinition {
    ScheduleDefinition {
        project: ProjectId::parse("payments").expect("project"),
        task: TaskId::new(),
        expression: "cron(0 10 ? * MON,THU *)".into(),
        timezone: "Asia/Shanghai".into(),
        start: chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00+08:00")
            .expect("time")
            .to_utc(),
        enabled,
    }
}

/// Create, read, update (disable), delete, delete again: the same for every gateway.
async fn gateway_follows_the_task_through_its_life(gateway: &dyn ScheduleGateway) {
    let mut def = definition(true);
    assert_eq!(
        gateway
            .get_schedule(&def.project, &def.task)
            .await
            .expect("get"),
        None
    );
    gateway.put_schedule(&def).await.expect("create");
    assert_eq!(
        gateway
            .get_schedule(&def.project, &def.task)
            .await
            .expect("get"),
        Some(def.clone())
    );

    def.enabled = false;
    def.expression = "cron(30 9 * * ? *)".into();
    def.timezone = "Europe/Berlin".into();
    gateway.put_schedule(&def).await.expect("update");
    assert_eq!(
        gateway
            .get_schedule(&def.project, &def.task)
            .await
            .expect("get"),
        Some(def.clone())
    );

    gateway
        .put_schedule(&def)
        .await
        .expect("putting the same definition twice is fine");
    gateway
        .delete_schedule(&def.project, &def.task)
        .await
        .expect("delete");
    assert_eq!(
        gateway
            .get_schedule(&def.project, &def.task)
            .await
            .expect("get"),
        None
    );
    gateway
        .delete_schedule(&def.project, &def.task)
        .await
        .expect("deleting a schedule that is gone is fine");
}

#[tokio::test]
async fn local_scheduler_follows_the_task_through_its_life() {
    let clock = std::sync::Arc::new(herald_core::clock::SystemClock);
    let gateway = LocalScheduler::new(Db::in_memory().expect("sqlite"), clock);
    gateway_follows_the_task_through_its_life(&gateway).await;
}

#[tokio::test]
async fn eventbridge_scheduler_follows_the_task_through_its_life() {
    let config = herald_tests::moto::sdk_config().await;
    let (_, gateway, _) = herald_tests::moto::fresh_scheduler(&config).await;
    gateway_follows_the_task_through_its_life(&gateway).await;
}

#[tokio::test]
async fn eventbridge_schedule_targets_the_trigger_with_the_task_and_scheduled_time() {
    let config = herald_tests::moto::sdk_config().await;
    let (client, gateway, group) = herald_tests::moto::fresh_scheduler(&config).await;
    let def = definition(true);
    gateway.put_schedule(&def).await.expect("create");

    let got = client
        .get_schedule()
        .name(def.task.to_string())
        .group_name(&group)
        .send()
        .await
        .expect("schedule exists in its group, named by the task id");
    assert_eq!(got.schedule_expression(), Some("cron(0 10 ? * MON,THU *)"));
    assert_eq!(got.schedule_expression_timezone(), Some("Asia/Shanghai"));
    assert_eq!(
        got.state(),
        Some(&aws_sdk_scheduler::types::ScheduleState::Enabled)
    );
    assert_eq!(
        got.start_date().map(|d| d.secs()),
        Some(def.start.timestamp())
    );
    let target = got.target().expect("target");
    assert_eq!(
        target.arn(),
        "arn:aws:lambda:us-east-1:123456789012:function:herald-trigger"
    );
    assert_eq!(
        target.role_arn(),
        "arn:aws:iam::123456789012:role/herald-scheduler"
    );
    let input: serde_json::Value =
        serde_json::from_str(target.input().expect("input")).expect("json input");
    assert_eq!(
        input,
        serde_json::json!({
            "project_id": "payments",
            "task_id": def.task.to_string(),
            "scheduled_time": "<aws.scheduler.scheduled-time>"
        })
    );
    assert_eq!(
        got.flexible_time_window().map(|w| w.mode()),
        Some(&aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off)
    );
}

#[tokio::test]
async fn eventbridge_scheduler_in_a_missing_group_fails_cleanly() {
    let config = herald_tests::moto::sdk_config().await;
    let client = aws_sdk_scheduler::Client::new(&config);
    let gateway = herald_aws::EventBridgeScheduler::new(
        client,
        herald_aws::SchedulerTarget {
            group: herald_tests::moto::unique("missing"),
            trigger_arn: "arn:aws:lambda:us-east-1:123456789012:function:herald-trigger".into(),
            role_arn: "arn:aws:iam::123456789012:role/herald-scheduler".into(),
            dead_letter_arn: None,
            flexible_window_minutes: 0,
        },
    );
    assert!(gateway.put_schedule(&definition(true)).await.is_err());
}

/// `ScheduleWindowMinutes` (`HERALD_SCHEDULE_WINDOW_MINUTES`) lets Scheduler spread firings over
/// that many minutes after the scheduled time, so a stack's many 09:00 tasks do not all start in
/// one second.
#[tokio::test]
async fn eventbridge_schedules_take_the_stacks_flexible_window() {
    let config = herald_tests::moto::sdk_config().await;
    let (client, _, group) = herald_tests::moto::fresh_scheduler(&config).await;
    let gateway = herald_aws::EventBridgeScheduler::new(
        client.clone(),
        herald_aws::SchedulerTarget {
            group: group.clone(),
            trigger_arn: "arn:aws:lambda:us-east-1:123456789012:function:herald-trigger".into(),
            role_arn: "arn:aws:iam::123456789012:role/herald-scheduler".into(),
            dead_letter_arn: None,
            flexible_window_minutes: 15,
        },
    );
    let def = definition(true);
    gateway.put_schedule(&def).await.expect("create");
    let got = client
        .get_schedule()
        .name(def.task.to_string())
        .group_name(&group)
        .send()
        .await
        .expect("schedule");
    let window = got.flexible_time_window().expect("window");
    assert_eq!(
        (window.mode(), window.maximum_window_in_minutes()),
        (
            &aws_sdk_scheduler::types::FlexibleTimeWindowMode::Flexible,
            Some(15)
        )
    );
}
