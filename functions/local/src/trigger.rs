//! `herald-local trigger --project P --task T [--at TIME]`: fires one scheduled run exactly as
//! EventBridge Scheduler would (for operators replaying a missed run, and for tests). The run and
//! its deliveries are recorded; the running server's delivery loop sends them.
use chrono::{DateTime, Utc};
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::services::runs::{PushService, Trigger};

#[derive(Debug, thiserror::Error)]
pub enum TriggerArgsError {
    #[error("usage: herald-local trigger --project P --task T [--at 2026-12-03T10:00:00+08:00]")]
    Usage,
    #[error("--{0}: {1}")]
    Invalid(&'static str, String),
}

pub struct TriggerArgs {
    pub project: ProjectId,
    pub task: TaskId,
    pub at: Option<DateTime<Utc>>,
}

impl TriggerArgs {
    pub fn parse(args: &[String]) -> Result<Self, TriggerArgsError> {
        let (mut project, mut task, mut at) = (None, None, None);
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or(TriggerArgsError::Usage)?;
            match flag.as_str() {
                "--project" => {
                    project = Some(
                        ProjectId::parse(value.clone())
                            .map_err(|m| TriggerArgsError::Invalid("project", m))?,
                    )
                }
                "--task" => {
                    task = Some(
                        TaskId::parse(value).map_err(|m| TriggerArgsError::Invalid("task", m))?,
                    )
                }
                "--at" => {
                    let time = DateTime::parse_from_rfc3339(value).map_err(|e| {
                        TriggerArgsError::Invalid("at", format!("{e}: use RFC 3339"))
                    })?;
                    at = Some(time.to_utc());
                }
                _ => return Err(TriggerArgsError::Usage),
            }
        }
        Ok(Self {
            project: project.ok_or(TriggerArgsError::Usage)?,
            task: task.ok_or(TriggerArgsError::Usage)?,
            at,
        })
    }
}

/// Runs it and prints the record as JSON.
pub async fn run(
    pushes: &PushService,
    args: TriggerArgs,
    now: DateTime<Utc>,
) -> Result<(), Box<dyn std::error::Error>> {
    let at = args.at.unwrap_or(now);
    match pushes.run_scheduled(&args.project, &args.task, at).await? {
        Trigger::Started(run) => {
            println!("{}", serde_json::to_string_pretty(&*run)?);
            if run.progress.pushes > 0 {
                eprintln!(
                    "{} deliveries queued; the running herald-local sends them",
                    run.progress.pushes
                );
            }
        }
        Trigger::Duplicate => println!("{{\"duplicate\": true, \"scheduled_time\": \"{at}\"}}"),
        Trigger::TaskGone => {
            return Err(format!("task {} not found in project {}", args.task, args.project).into());
        }
    }
    Ok(())
}
