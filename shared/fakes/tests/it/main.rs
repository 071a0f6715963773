//! End-to-end tests of the fakes over real HTTP on loopback.
mod common;
mod faults;
mod feishu;
mod feishu_send;
mod robot;
mod smtp;
mod wecom;
