//! WeCom: self-built app messages and group robots.
pub mod app;
mod block;
pub mod body;
pub mod errors;
pub mod robot;
