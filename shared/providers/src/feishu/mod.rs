//! Feishu / Lark: tenant tokens, user look-ups and `im/v1/messages`.
mod body;
pub mod client;
pub mod content;
pub mod directory;
pub mod errors;
pub mod limits;
