//! herald-mail: Herald's SMTP sender (lettre, tokio, rustls).
//!
//! [`SmtpSender`] sends one [`EmailMessage`](herald_core::domain::message::EmailMessage) per call
//! over a pooled connection kept per distinct credentials, and classifies failures into
//! [`SendFailure`](herald_core::ports::SendFailure) classes (provider-apis.md §6).
mod classify;
mod compose;
mod sender;
mod transport;

pub use sender::{CertificateError, SmtpSender};
