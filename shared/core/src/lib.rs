//! Herald's core: domain types, ports, the report's pure logic and services. No AWS SDK, SQLite or HTTP client lives here.
pub mod clock;
pub mod domain;
pub mod error;
pub mod ports;
pub mod report;
pub mod services;

pub use error::{FieldError, ServiceError};
