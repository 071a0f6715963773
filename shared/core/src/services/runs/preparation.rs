//! Preparing a run: its audience, its charts read and checked, exception control, the rendered message and alarms, before anything is written.
use super::*;
use crate::report::conditions::page_digest;
use crate::report::render::GroupBody;

/// A prepared run: the record, its push deliveries and its alarms.
pub(super) struct Prepared {
    pub(super) run: PushRun,
    pub(super) pushes: Vec<Delivery>,
    pub(super) alarms: Vec<Delivery>,
}

impl Prepared {
    pub(super) fn nothing(run: PushRun) -> Self {
        Self {
            run,
            pushes: Vec::new(),
            alarms: Vec::new(),
        }
    }
}

impl PushService {
    /// Who a run reaches on the task's channel: the listed ids plus the contacts resolved through
    /// the contacts directory. Also the contacts it cannot reach, and why, for the run log.
    pub(super) async fn audience(
        &self,
        task: &PushTask,
        owner_only: bool,
    ) -> Result<(Audience, Vec<String>), ServiceError> {
        let (spec, channel) = (&task.spec, task.spec.channel);
        let (mut audience, contacts) = if owner_only {
            (
                Audience::owner(channel, &spec.owner),
                spec.owner.contact.iter().cloned().collect::<Vec<_>>(),
            )
        } else {
            (
                Audience::of(channel, &spec.recipients),
                spec.recipients.contacts.clone(),
            )
        };
        let unreachable = audience
            .add_contacts(channel, &contacts, self.contacts.as_ref())
            .await?;
        Ok((audience, unreachable))
    }

    /// A new run. A scheduled run's id comes from its claim, so a retried firing resumes it.
    pub(super) fn new_run(
        &self,
        task: &PushTask,
        kind: RunKind,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> PushRun {
        let now = self.now();
        let id = match scheduled_for {
            Some(at) if kind == RunKind::Scheduled => {
                RunClaim::firing(task.id, at).run_id(&task.project, at)
            }
            _ => RunId::at(now),
        };
        let mut run = PushRun::start(RunStart {
            id,
            project: task.project.clone(),
            subject: RunSubject::Task {
                id: task.id,
                name: task.spec.name.to_string(),
                kind,
            },
            scheduled_for,
            started_at: now,
            expires_at: now + self.retention,
        });
        let when = scheduled_for
            .map(|t| format!(" for {t}"))
            .unwrap_or_default();
        run.log(
            now,
            LogLevel::Info,
            format!(
                "{} run of '{}' started{when}",
                kind.as_str(),
                task.spec.name
            ),
        );
        run
    }

    /// The address a DingTalk robot's message shows the page picture by: a signed link under the
    /// configured URL prefix (a robot cannot upload a picture). None, logged, without a prefix.
    async fn picture_link(&self, run: &mut PushRun, image: &ImageRef) -> Option<String> {
        let now = self.now();
        let prefix = match self.ledger.notices.settings.url_prefix().await {
            Ok(Some(prefix)) => prefix,
            Ok(None) => {
                run.log(
                    now,
                    LogLevel::Warn,
                    "DingTalk groups get no picture: url_prefix is not configured (a robot shows pictures by their address)",
                );
                return None;
            }
            Err(err) => {
                run.log(
                    now,
                    LogLevel::Warn,
                    format!("DingTalk groups get no picture: {err}"),
                );
                return None;
            }
        };
        match self
            .snapshot_links
            .mint(&run.project, &image.id, run.expires_at)
            .await
        {
            Ok((path, _)) => Some(format!("{}{path}", prefix.as_str().trim_end_matches('/'))),
            Err(err) => {
                run.log(
                    now,
                    LogLevel::Warn,
                    format!("DingTalk groups get no picture: {err}"),
                );
                None
            }
        }
    }

    /// The group deliveries of a push: each WeCom group's picture and figures, each DingTalk
    /// group's figures with the picture's link, rendered to the robots' own limits.
    async fn group_deliveries(
        &self,
        (spec, read, stamp): (&crate::domain::task::TaskSpec, &PageRead, RunStamp<'_>),
        run: &mut PushRun,
        (audience, snapshot, cause): (&Audience, Option<&ImageRef>, &DeliveryCause),
    ) -> Vec<Delivery> {
        if audience.wecom_groups.is_empty() && audience.dingtalk_groups.is_empty() {
            return Vec::new();
        }
        let now = self.now();
        match Reporter::group_message(spec, read, stamp) {
            Ok(Some(GroupBody::Wecom(figures))) => compose::wecom_group_deliveries(
                &audience.wecom_groups,
                &figures,
                snapshot,
                cause,
                now,
            ),
            Ok(Some(GroupBody::Dingtalk(figures))) => {
                let link = match snapshot {
                    Some(image) => self.picture_link(run, image).await,
                    None => None,
                };
                compose::dingtalk_group_deliveries(
                    &audience.dingtalk_groups,
                    &figures,
                    link.as_deref(),
                    cause,
                    now,
                )
            }
            Ok(None) => Vec::new(),
            Err(err) => {
                run.log(
                    now,
                    LogLevel::Error,
                    format!("the group message did not render: {err}"),
                );
                Vec::new()
            }
        }
    }

    pub(super) fn finish(&self, run: &mut PushRun, outcome: RunOutcome, why: &str) {
        let now = self.now();
        run.log(
            now,
            LogLevel::Info,
            format!("run finished: {} ({why})", outcome.name()),
        );
        run.outcome = outcome;
        run.finished_at = Some(now);
    }

    /// Checks the charts, applies exception control (scheduled runs only), renders and queues the
    /// push to `audience`, and queues alarms. Returns the run, its pushes and its alarms.
    pub(super) async fn prepare(
        &self,
        task: &PushTask,
        mut run: PushRun,
        (audience, unreachable): &(Audience, Vec<String>),
        charts_within: Option<Duration>,
    ) -> Prepared {
        let spec = &task.spec;
        for contact in unreachable {
            run.log(
                self.now(),
                LogLevel::Warn,
                format!("contact not reached: {contact}"),
            );
        }
        let mut read = self
            .reporter
            .read(
                &task.project,
                spec,
                run.scheduled_for.unwrap_or(run.started_at),
                charts_within,
            )
            .await;
        run.charts = read.checks.clone();
        let now = self.now();
        for ((check, figure), chart) in read.checks.iter().zip(&read.figures).zip(&spec.page.charts)
        {
            let (level, what) = match &check.state {
                ChartState::Ok { rows } => (
                    LogLevel::Info,
                    match figure {
                        Some(f) => format!("{rows} rows, shown as {}", f.kind()),
                        None => format!("{rows} rows"),
                    },
                ),
                ChartState::Empty => (LogLevel::Warn, "empty".to_owned()),
                ChartState::AccessError { reason } => {
                    (LogLevel::Error, format!("could not be read: {reason}"))
                }
                ChartState::ShapeError { field, reason } => (
                    LogLevel::Error,
                    format!("could not be shown: {field}: {reason}"),
                ),
            };
            run.log(
                now,
                level,
                format!(
                    "chart '{}' from {}: {what} ({} ms)",
                    check.name,
                    chart.origin_description(),
                    check.elapsed_ms
                ),
            );
        }
        let decision = if run.kind == RunKind::Scheduled {
            decide(&spec.exception_control, &run.charts)
        } else {
            Default::default()
        };
        // A paused push is not judged (it reads no earlier runs).
        let verdict = match decision.pause {
            Some(_) => None,
            None => {
                self.judge_conditions((&task.project, Some(&task.id), spec), &read, Some(&run.id))
                    .await
            }
        };
        if let Some(verdict) = &verdict {
            // Only a scheduled run waits for its conditions; a test or manual push shows them.
            let shown = if run.kind == RunKind::Scheduled || verdict.holds {
                verdict.reason()
            } else {
                format!(
                    "{} — sent anyway: a {} push",
                    verdict.reason(),
                    run.kind.as_str()
                )
            };
            run.log(now, LogLevel::Info, shown);
        }
        let unmet = verdict
            .as_ref()
            .filter(|v| run.kind == RunKind::Scheduled && !v.holds);
        let cause = DeliveryCause::Run {
            project: run.project.clone(),
            run: run.id,
            push: true,
        };
        let at = run.scheduled_for.unwrap_or(now);
        let mut pushes = Vec::new();
        if let Some(reason) = decision.pause {
            run.log(
                now,
                LogLevel::Warn,
                format!("exception control paused this push ({reason:?} charts)"),
            );
            self.finish(
                &mut run,
                RunOutcome::Paused { reason },
                "paused by exception control",
            );
        } else if let Some(verdict) = unmet {
            self.finish(
                &mut run,
                RunOutcome::Skipped {
                    reason: verdict.reason(),
                },
                "its conditions are not met",
            );
        } else if audience.is_empty() {
            run.log(
                now,
                LogLevel::Error,
                format!("nobody to send to on {}", spec.channel.as_str()),
            );
            self.finish(&mut run, RunOutcome::Failed, "no reachable recipient");
        } else {
            let reference = run.id.short();
            let stamp = RunStamp {
                kind: run.kind,
                at,
                reference: Some(&reference),
            };
            let rendered = self
                .reporter
                .render(
                    &run.project,
                    spec,
                    (spec.channel, spec.template),
                    &read,
                    stamp,
                    run.expires_at,
                )
                .await;
            if let Some(problem) = &rendered.snapshot_problem {
                run.log(
                    now,
                    LogLevel::Warn,
                    format!("sent without the page snapshot: {problem}"),
                );
            }
            if let Some(image) = &rendered.snapshot {
                run.log(
                    now,
                    LogLevel::Info,
                    format!(
                        "page snapshot drawn: {}×{} px, {} bytes",
                        image.width, image.height, image.size
                    ),
                );
                run.images.push(image.clone());
            }
            // Files only for a message that goes out; a mail's picture counts against its size.
            let inline = rendered.snapshot.as_ref().map_or(0, |image| image.size);
            let attached = match &rendered.message {
                Ok(_) => {
                    self.reporter
                        .attach(
                            &run.project,
                            spec,
                            (spec.channel, inline),
                            &mut read,
                            stamp,
                            run.expires_at,
                        )
                        .await
                }
                Err(_) => Attached::default(),
            };
            for note in &attached.notes {
                run.log(now, LogLevel::Info, note.clone());
            }
            if let Some(problem) = &attached.problem {
                run.log(
                    now,
                    LogLevel::Warn,
                    format!("sent without attachments: {problem}"),
                );
            }
            run.attachments.clone_from(&attached.files);
            match rendered.message {
                Ok(message) => {
                    // WeCom apps and DingTalk work notices send the picture as a message of its own.
                    let snapshot = rendered
                        .snapshot
                        .as_ref()
                        .filter(|_| matches!(spec.channel, Channel::Wecom | Channel::Dingtalk));
                    pushes = compose::deliveries_with(
                        &message,
                        (snapshot, &attached.files),
                        audience,
                        &cause,
                        now,
                    );
                    let groups = self
                        .group_deliveries(
                            (spec, &read, stamp),
                            &mut run,
                            (audience, snapshot, &cause),
                        )
                        .await;
                    pushes.extend(groups);
                    run.page_digest = Some(page_digest(&read.figures));
                    run.message = pushes.first().map(|d| MessageRecord {
                        channel: spec.channel,
                        template: spec.template,
                        body: serde_json::to_value(&d.message).unwrap_or_default(),
                    });
                    run.log(
                        now,
                        LogLevel::Info,
                        format!(
                            "queued {} deliveries to {}",
                            pushes.len(),
                            audience.describe()
                        ),
                    );
                }
                Err(err) => {
                    run.log(
                        now,
                        LogLevel::Error,
                        format!("the message did not render: {err}"),
                    );
                    self.finish(&mut run, RunOutcome::Failed, "render error");
                }
            }
        }
        let alarm_snapshot = self
            .alarm_snapshot(task, &mut run, &read, &decision, at)
            .await;
        let mut alarms = Vec::new();
        for reason in &decision.alarms {
            let concerned = charts_for(*reason, &run.charts);
            alarms.extend(
                self.ledger
                    .notices
                    .alarm(
                        task,
                        &run,
                        (*reason, decision.pause.is_some()),
                        &concerned,
                        alarm_snapshot.as_ref(),
                    )
                    .await,
            );
        }
        if !alarms.is_empty() {
            run.log(
                now,
                LogLevel::Info,
                format!("queued {} alarm messages", alarms.len()),
            );
        }
        Prepared {
            run,
            pushes,
            alarms,
        }
    }

    /// The snapshot an empty-data alarm to the robot shows: the push's own, or drawn for the alarm
    /// (a paused push draws none).
    pub(super) async fn alarm_snapshot(
        &self,
        task: &PushTask,
        run: &mut PushRun,
        read: &PageRead,
        decision: &crate::report::exception::Decision,
        at: DateTime<Utc>,
    ) -> Option<ImageRef> {
        if task.spec.alarm_robot.is_none() || !decision.alarms.contains(&PauseReason::Empty) {
            return None;
        }
        if let Some(image) = run.images.first() {
            return Some(image.clone());
        }
        let reference = run.id.short();
        let stamp = RunStamp {
            kind: run.kind,
            at,
            reference: Some(&reference),
        };
        match self
            .reporter
            .snapshot(&run.project, &task.spec, read, stamp, run.expires_at)
            .await
        {
            Ok(image) => {
                run.images.push(image.clone());
                Some(image)
            }
            Err(problem) => {
                let now = self.now();
                run.log(
                    now,
                    LogLevel::Warn,
                    format!("alarm sent without the snapshot: {problem}"),
                );
                None
            }
        }
    }
}
