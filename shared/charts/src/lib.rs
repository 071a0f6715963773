//! herald-charts
