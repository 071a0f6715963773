//! Domain types. Each is parsed once at the edge and valid by construction afterwards.
pub mod attachment;
pub mod auth;
pub mod calendar;
pub mod channels;
pub mod comparison;
pub mod conditions;
pub mod contact;
pub mod delivery;
pub mod dingtalk;
pub mod ids;
pub mod image;
pub mod limits;
pub mod message;
pub mod number_format;
pub mod parameters;
pub mod recipients;
pub mod redaction;
pub mod report;
pub mod robot;
pub mod run;
pub mod schedule;
pub mod send;
pub mod session;
pub mod settings;
pub mod signature;
pub mod snapshot_link;
pub mod source;
pub mod sqle;
pub mod stored_message;
pub mod task;
pub mod text;
pub mod ticket;

/// Why a value did not parse; the caller adds the field path.
pub type ParseError = String;
