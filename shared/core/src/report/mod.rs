//! The report's pure logic: reading figures out of chart rows, number formatting, exception
//! control and rendering messages. No port and no service: adapters (pictures, providers, mail)
//! may use it without reaching into the services.
pub mod conditions;
pub mod exception;
pub mod facts;
pub mod figures;
pub mod numbers;
pub mod render;
pub mod shares;
pub mod variables;
