//! Writing the files a push attaches.
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SheetError {
    #[error("the attachment could not be written: {0}")]
    Write(String),
}

/// Writes charts' rows as files (CPU work: call it off the async workers).
pub trait SheetWriter: Send + Sync {
    /// One workbook with a sheet per chart: a header row, the rows with each column's number
    /// format, and a note under the rows of a sheet that was cut.
    fn workbook(
        &self,
        sheets: &[crate::domain::attachment::Sheet],
        language: crate::domain::contact::Language,
    ) -> Result<Vec<u8>, SheetError>;
    /// One chart's rows as CSV (UTF-8 with a byte-order mark), numbers as read.
    fn csv(&self, sheet: &crate::domain::attachment::Sheet) -> Result<Vec<u8>, SheetError>;
}
