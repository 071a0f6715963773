//! herald-mail
