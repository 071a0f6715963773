//! Contents read lately by this process, newest last: a worker sends a run's deliveries one after
//! another, each naming the same content. Contents never change, so a kept one is never stale.
use herald_core::domain::stored_message::ContentId;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub(crate) struct RecentContents(Mutex<VecDeque<(ContentId, Arc<str>)>>);

/// How many contents a process keeps (each at most ~130 KB).
const KEPT_CONTENTS: usize = 16;

impl RecentContents {
    pub(crate) fn get(&self, id: &ContentId) -> Option<Arc<str>> {
        let kept = self.0.lock().ok()?;
        kept.iter()
            .find(|(kept, _)| kept == id)
            .map(|(_, json)| json.clone())
    }

    pub(crate) fn keep(&self, id: ContentId, json: Arc<str>) {
        if let Ok(mut kept) = self.0.lock() {
            kept.retain(|(k, _)| *k != id);
            if kept.len() == KEPT_CONTENTS {
                kept.pop_front();
            }
            kept.push_back((id, json));
        }
    }
}
