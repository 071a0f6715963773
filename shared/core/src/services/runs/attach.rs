//! The files a push attaches (`content.attachments`): written from the attached charts' rows,
//! cut to what the channel takes, and stored beside the run's pictures for as long as the record.
use super::report::{PageRead, Reporter, RunStamp};
use crate::domain::attachment::{AttachmentFile, AttachmentFormat, Sheet, file_stem};
use crate::domain::ids::ProjectId;
use crate::domain::image::ImageRef;
use crate::domain::limits::files;
use crate::domain::run::RunKind;
use crate::domain::task::{Channel, TaskSpec};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// What a run attaches, and what its record says about it.
#[derive(Debug, Clone, Default)]
pub struct Attached {
    pub files: Vec<ImageRef>,
    /// For the run's log: what was attached, and what was cut to fit.
    pub notes: Vec<String>,
    /// Why nothing is attached although the task asks for files.
    pub problem: Option<String>,
}

/// How much a channel's files may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Each file on its own (an upload each).
    Each(usize),
    /// All files together (one message).
    Total(usize),
}

/// What `channel` takes in one push's files, with `inline` bytes of pictures already in the
/// message; `None` when it sends no files.
pub fn channel_limit(channel: Channel, inline: usize) -> Option<Limit> {
    match channel {
        Channel::Wecom => Some(Limit::Each(files::WECOM_MAX_BYTES)),
        Channel::Feishu => Some(Limit::Each(files::FEISHU_MAX_BYTES)),
        Channel::Email => Some(Limit::Total(files::EMAIL_MAX_BYTES.saturating_sub(inline))),
        Channel::Dingtalk => None,
    }
}

/// How many times the rows are cut before a push goes without its files.
const FITTING_TRIES: usize = 4;

impl Reporter {
    /// The files `spec` attaches to `stamp`'s run on `channel` (whose message carries `inline`
    /// bytes of pictures), from the sheets `read` found — taken out of it, not copied — stored for
    /// `project` until `expires_at`. A run whose files cannot be made goes out without them.
    pub async fn attach(
        &self,
        project: &ProjectId,
        spec: &TaskSpec,
        (channel, inline): (Channel, usize),
        read: &mut PageRead,
        stamp: RunStamp<'_>,
        expires_at: DateTime<Utc>,
    ) -> Attached {
        let Some(attachments) = &spec.content.attachments else {
            return Attached::default();
        };
        let Some(limit) = channel_limit(channel, inline) else {
            return Attached::refused(format!(
                "{} pushes carry no files: the attachments are left out",
                channel.as_str()
            ));
        };
        let sheets = std::mem::take(&mut read.sheets);
        let mut notes: Vec<String> = spec
            .page
            .charts
            .iter()
            .filter(|c| attachments.attaches(&c.name))
            .filter(|c| !sheets.iter().any(|s| s.name == c.name.as_str()))
            .map(|c| format!("{} is not attached: its rows were not read", c.name))
            .collect();
        if sheets.is_empty() {
            return Attached::refused("no attached chart was read: nothing to attach".into());
        }
        // A test or manual run's files carry its reference: WeCom drops a file message identical
        // to one sent in the last 30 minutes, so two test pushes of unchanged rows must differ.
        let day = match (stamp.kind, stamp.reference) {
            (RunKind::Test | RunKind::Manual, Some(reference)) => format!(
                "{} {reference}",
                stamp
                    .at
                    .with_timezone(&spec.schedule.timezone())
                    .format("%Y-%m-%d")
            ),
            _ => stamp
                .at
                .with_timezone(&spec.schedule.timezone())
                .format("%Y-%m-%d")
                .to_string(),
        };
        let language = spec.content.language_for(spec.page.title.as_str());
        let format = attachments.format;
        let stem = file_stem(&read.texts.title);
        let writer = Arc::clone(&self.sheets);
        let written = tokio::task::spawn_blocking(move || {
            let write = |sheets: &[Sheet]| match format {
                AttachmentFormat::Xlsx => Ok(vec![AttachmentFile::new(
                    format!("{stem} {day}.xlsx"),
                    format,
                    writer.workbook(sheets, language)?,
                )]),
                AttachmentFormat::Csv => sheets
                    .iter()
                    .map(|sheet| {
                        let name = format!("{} {day}.csv", file_stem(&sheet.name));
                        Ok(AttachmentFile::new(name, format, writer.csv(sheet)?))
                    })
                    .collect(),
            };
            match (format, limit) {
                // Each CSV file is an upload of its own: only a file over the limit is cut.
                (AttachmentFormat::Csv, Limit::Each(each)) => {
                    let mut all = (Vec::new(), Vec::new());
                    for sheet in sheets {
                        let (files, notes) = fit(vec![sheet], each, write)?;
                        all.0.extend(files);
                        all.1.extend(notes);
                    }
                    Ok(all)
                }
                (_, Limit::Each(most) | Limit::Total(most)) => fit(sheets, most, write),
            }
        })
        .await;
        let (mut made, cut) = match written {
            Ok(Ok(fitted)) => fitted,
            Ok(Err(problem)) => return Attached::refused(problem),
            Err(stopped) => {
                return Attached::refused(format!("the attachment writer stopped: {stopped}"));
            }
        };
        notes.extend(cut);
        unique_names(&mut made);
        let mut attached = Attached {
            notes,
            ..Attached::default()
        };
        for file in &made {
            let reference = file.reference(project);
            if let Err(err) = self
                .images
                .put_file(project, &reference.id, &file.bytes, expires_at)
                .await
            {
                return Attached::refused(format!("the attachments could not be stored: {err}"));
            }
            attached.notes.push(format!(
                "attached {}: {} bytes",
                file.name,
                file.bytes.len()
            ));
            attached.files.push(reference);
        }
        attached
    }
}

impl Attached {
    fn refused(problem: String) -> Self {
        Self {
            problem: Some(problem),
            ..Self::default()
        }
    }
}

/// Two charts whose names read alike as files ("GMV/日", "GMV:日") get "(2)" after the second.
fn unique_names(files: &mut [AttachmentFile]) {
    let mut taken: Vec<String> = Vec::with_capacity(files.len());
    for file in files.iter_mut() {
        if taken.contains(&file.name) {
            let (stem, extension) = file.name.rsplit_once('.').unwrap_or((&file.name, ""));
            let free = (2..)
                .map(|n| format!("{stem} ({n}).{extension}"))
                .find(|name| !taken.contains(name))
                .unwrap_or_default();
            file.name = free;
        }
        taken.push(file.name.clone());
    }
}

/// Writes `sheets` with `write`, cutting their rows until the files fit in `limit` bytes; says
/// what was cut.
fn fit(
    mut sheets: Vec<Sheet>,
    limit: usize,
    write: impl Fn(&[Sheet]) -> Result<Vec<AttachmentFile>, crate::ports::SheetError>,
) -> Result<(Vec<AttachmentFile>, Vec<String>), String> {
    let mut notes = Vec::new();
    for _ in 0..FITTING_TRIES {
        let made = write(&sheets).map_err(|e| e.to_string())?;
        let size: usize = made.iter().map(|f| f.bytes.len()).sum();
        if size <= limit {
            return Ok((made, notes));
        }
        // Rows take about the same room each: keep the share that fits, with a margin.
        let share = limit as f64 / size as f64 * 0.9;
        for sheet in &mut sheets {
            let keep = (sheet.rows.len() as f64 * share) as usize;
            sheet.rows.truncate(keep);
        }
        notes.push(format!(
            "the attachments took {size} bytes, over the {limit} the channel takes: cut to {:.0}% of their rows",
            share * 100.0
        ));
    }
    Err(format!(
        "the attachments do not fit in the {limit} bytes the channel takes, even cut"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::Cell;

    fn sheet(rows: usize) -> Sheet {
        Sheet {
            name: "GMV".into(),
            keys: vec!["n".into()],
            formats: vec![None],
            rows: (0..rows)
                .map(|i| vec![Some(Cell::Number(i as f64))])
                .collect(),
            total: rows,
        }
    }

    /// One byte per row.
    fn bytes_per_row(sheets: &[Sheet]) -> Result<Vec<AttachmentFile>, crate::ports::SheetError> {
        Ok(sheets
            .iter()
            .map(|s| AttachmentFile::new("f".into(), AttachmentFormat::Csv, vec![0; s.rows.len()]))
            .collect())
    }

    #[test]
    fn files_over_the_limit_are_cut_with_a_note() {
        let (files, notes) = fit(vec![sheet(1000), sheet(500)], 100, bytes_per_row).unwrap();
        let size: usize = files.iter().map(|f| f.bytes.len()).sum();
        assert!((80..=100).contains(&size), "{size}");
        assert_eq!(notes.len(), 1, "{notes:?}");
        let (_, notes) = fit(vec![sheet(10)], 100, bytes_per_row).unwrap();
        assert!(notes.is_empty());
    }

    #[test]
    fn files_named_alike_are_told_apart() {
        let file = |name: &str| AttachmentFile::new(name.into(), AttachmentFormat::Csv, vec![1]);
        let mut files = vec![file("GMV_日 2026-12-03.csv"), file("GMV_日 2026-12-03.csv")];
        unique_names(&mut files);
        assert_eq!(files[1].name, "GMV_日 2026-12-03 (2).csv");
    }

    #[test]
    fn files_that_never_fit_are_refused() {
        let fixed = |_: &[Sheet]| {
            Ok(vec![AttachmentFile::new(
                "f".into(),
                AttachmentFormat::Xlsx,
                vec![0; 1000],
            )])
        };
        let err = fit(vec![sheet(10)], 100, fixed).unwrap_err();
        assert!(err.contains("do not fit"), "{err}");
    }
}
