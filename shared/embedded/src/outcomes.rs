//! Delivery outcomes written in groups (group commit): outcomes that arrive while the database
//! thread is busy wait in one queue and go into the next transaction together, so a push's
//! thousands of finishes cost a few hundred commits rather than one each. Each outcome keeps its
//! own check (still claimed, same attempt) and its own answer.
use crate::codec::sql;
use herald_core::domain::delivery::{Delivery, DeliveryStatus};
use herald_core::domain::run::RunProgress;
use herald_core::ports::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

type Answer = Result<Option<RunProgress>, StoreError>;

/// An outcome to write, and where its answer goes.
type Waiting = (Delivery, oneshot::Sender<Answer>);

/// Outcomes not yet taken by the database thread.
#[derive(Clone, Default)]
pub(crate) struct OutcomeQueue(Arc<Mutex<Vec<Waiting>>>);

impl OutcomeQueue {
    /// Queues `delivery`'s outcome. True if the queue was empty: the caller then asks the
    /// database thread to write the queue (whatever is in it by the time that job runs).
    pub(crate) fn push(&self, delivery: Delivery) -> (bool, oneshot::Receiver<Answer>) {
        let (reply, answer) = oneshot::channel();
        let mut queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        queue.push((delivery, reply));
        (queue.len() == 1, answer)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn take(&self) -> Vec<Waiting> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Drops what is queued: each waiting caller sees the database thread gone. Only for when
    /// the thread is gone (nobody else will write the queue).
    pub(crate) fn abandon(&self) {
        drop(self.take());
    }

    /// On the database thread: writes every queued outcome in one transaction and answers each.
    /// An outcome whose own check or write fails gets its error alone (a savepoint undoes only
    /// its writes); a failed commit answers every one as unavailable, so each caller retries.
    pub(crate) fn write_all(&self, conn: &mut Connection) {
        let batch = self.take();
        if batch.is_empty() {
            return;
        }
        let mut tx = match crate::db::write_transaction(conn) {
            Ok(tx) => tx,
            Err(err) => {
                return answer_all_unavailable(batch.into_iter().map(|(_, reply)| reply), &err);
            }
        };
        let mut answers = Vec::with_capacity(batch.len());
        let mut waiting = batch.into_iter();
        while let Some((delivery, reply)) = waiting.next() {
            let answer = tx.savepoint().map_err(sql).and_then(|point| {
                let progress = finish_one(&point, &delivery)?;
                point.commit().map_err(sql)?;
                Ok(progress)
            });
            // Some errors (a full disk, an I/O error) make SQLite roll the whole transaction back
            // by itself: nothing of the group is written, so nobody may be told otherwise.
            if answer.is_err() && tx.is_autocommit() {
                let err = rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                    Some("the group's transaction was rolled back".into()),
                );
                let everyone = answers.into_iter().map(|(r, _)| r);
                let rest = std::iter::once(reply).chain(waiting.map(|(_, r)| r));
                return answer_all_unavailable(everyone.chain(rest), &err);
            }
            answers.push((reply, answer));
        }
        match tx.commit() {
            Ok(()) => {
                for (reply, answer) in answers {
                    // A caller that went away (cancelled) needs no answer.
                    let _ = reply.send(answer);
                }
            }
            Err(err) => answer_all_unavailable(answers.into_iter().map(|(reply, _)| reply), &err),
        }
    }
}

fn answer_all_unavailable(
    waiting: impl IntoIterator<Item = oneshot::Sender<Answer>>,
    err: &rusqlite::Error,
) {
    tracing::warn!(error = %err, "a group of delivery outcomes could not be committed");
    for reply in waiting {
        let _ = reply.send(Err(StoreError::Unavailable(err.to_string().into())));
    }
}

/// Writes one outcome if the delivery is still claimed for the same attempt, and counts a final
/// one in its run's progress.
fn finish_one(tx: &Connection, d: &Delivery) -> Answer {
    let claimed: Option<(String, u32)> = tx
        .prepare_cached("SELECT status, attempts FROM deliveries WHERE id = ?1")
        .map_err(sql)?
        .query_row(params![d.id.to_string()], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()
        .map_err(sql)?;
    let (status, attempts) = claimed.ok_or(StoreError::NotFound)?;
    if status != DeliveryStatus::Sending.as_str() || attempts != d.attempts {
        return Err(StoreError::Conflict);
    }
    crate::deliveries::write(tx, d)?;
    crate::runs::count_final(tx, d)
}
