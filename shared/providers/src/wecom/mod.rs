//! WeCom: self-built app messages and group robots.
pub mod app;
pub mod body;
pub mod errors;
pub mod robot;
