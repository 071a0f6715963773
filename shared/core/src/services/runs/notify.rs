//! Alarms and stop notices: to the task's group robot (if it has one) and to its owner.
use super::compose::{Audience, deliveries, robot_delivery};
use crate::domain::delivery::{Delivery, DeliveryCause};
use crate::domain::image::ImageRef;
use crate::domain::message::RobotBody;
use crate::domain::run::{ChartCheck, PauseReason, PushRun};
use crate::domain::task::PushTask;
use crate::ports::ContactStore;
use crate::report::render::{AlarmReason, AlarmView, render_alarm_owner, render_alarm_robot};
use crate::services::settings::SettingsService;

#[derive(Clone)]
pub struct Notices {
    pub(super) settings: SettingsService,
    /// Where an owner given as a contact is found.
    pub(super) contacts: std::sync::Arc<dyn ContactStore>,
}

impl Notices {
    /// A link to the run's record, when a URL prefix is configured.
    pub async fn record_url(&self, run: &PushRun) -> Option<String> {
        match self.settings.url_prefix().await {
            Ok(prefix) => {
                prefix.map(|p| format!("{p}/projects/{}/records/{}", run.project, run.id))
            }
            Err(err) => {
                tracing::warn!(error = %err, "no record link: the settings could not be read");
                None
            }
        }
    }

    async fn notify(
        &self,
        task: &PushTask,
        run: &PushRun,
        reason: AlarmReason,
        paused: bool,
        charts: &[ChartCheck],
    ) -> Vec<Delivery> {
        let record_url = self.record_url(run).await;
        let view = AlarmView {
            task_name: task.spec.name.as_str(),
            project: task.project.as_str(),
            reason,
            paused,
            charts,
            total_charts: run.charts.len(),
            record_url: record_url.as_deref(),
            at: run.started_at.with_timezone(&task.spec.schedule.timezone()),
            language: task
                .spec
                .content
                .language_for(task.spec.page.title.as_str()),
        };
        let cause = DeliveryCause::Run {
            project: run.project.clone(),
            run: run.id,
            push: false,
        };
        let mut out = Vec::new();
        if let Some(robot) = &task.spec.alarm_robot {
            match render_alarm_robot(&view) {
                Ok(body) => out.push(robot_delivery(robot, body, &cause, run.started_at)),
                Err(err) => tracing::error!(error = %err, "the robot alarm did not render"),
            }
        }
        match render_alarm_owner(task.spec.channel, &view) {
            Ok(rendered) => {
                let owner = self.owner(task).await;
                out.extend(deliveries(&rendered, &owner, &cause, run.started_at));
            }
            Err(err) => tracing::error!(error = %err, "the owner's alarm did not render"),
        }
        out
    }

    /// The owner on the task's channel: the ids given, plus the owner's contact (if any) from the
    /// contacts directory. A directory that cannot be read leaves the ids given.
    async fn owner(&self, task: &PushTask) -> Audience {
        let channel = task.spec.channel;
        let mut owner = Audience::owner(channel, &task.spec.owner);
        let contact: Vec<_> = task.spec.owner.contact.iter().cloned().collect();
        match owner
            .add_contacts(channel, &contact, self.contacts.as_ref())
            .await
        {
            Ok(unreachable) if !unreachable.is_empty() => {
                tracing::warn!(?unreachable, "the owner's contact cannot get the alarm");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "the owner's contact could not be read"),
        }
        owner
    }

    /// The alarm for empty or unreadable charts. An empty-data alarm to the robot also carries
    /// the page snapshot as an image message, so the group sees which charts are blank.
    pub async fn alarm(
        &self,
        task: &PushTask,
        run: &PushRun,
        (reason, paused): (PauseReason, bool),
        charts: &[ChartCheck],
        snapshot: Option<&ImageRef>,
    ) -> Vec<Delivery> {
        let alarm = match reason {
            PauseReason::Empty => AlarmReason::Empty,
            PauseReason::AccessError => AlarmReason::AccessError,
        };
        let mut out = self.notify(task, run, alarm, paused, charts).await;
        if let (PauseReason::Empty, Some(robot), Some(image)) =
            (reason, &task.spec.alarm_robot, snapshot)
        {
            let cause = DeliveryCause::Run {
                project: run.project.clone(),
                run: run.id,
                push: false,
            };
            let body = RobotBody::Image {
                image: image.clone(),
            };
            out.insert(1, robot_delivery(robot, body, &cause, run.started_at));
        }
        out
    }

    /// The notice that the failure limit stopped the task.
    pub async fn stopped(&self, task: &PushTask, run: &PushRun) -> Vec<Delivery> {
        self.notify(
            task,
            run,
            AlarmReason::Stopped {
                failures: task.consecutive_failures,
            },
            false,
            &[],
        )
        .await
    }
}
