//! herald-fakes
