//! The figures built on a label and values: shares of a whole (pie, donut), conversion steps
//! (funnel) and bars with a line (combo), from the series the rows make.
use crate::domain::report::{Series, ShapeError, Shares, Slice};

/// The most slices drawn apart; the rest are "other".
pub const MAX_SLICES: usize = 7;
/// A slice under this share of the total (in percent) is "other".
pub const MIN_SLICE_PERCENT: f64 = 2.0;

fn shape(field: &str, reason: impl Into<String>) -> ShapeError {
    ShapeError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// The first value of `series` as shares of their sum: largest first, at most [`MAX_SLICES`],
/// the small and the many summed as other.
pub fn shares_of(series: Series) -> Result<Shares, ShapeError> {
    let Some(values) = series.series.into_iter().next() else {
        return Err(shape("fields.values", "names no value"));
    };
    if let Some((i, v)) = values.values.iter().enumerate().find(|(_, v)| **v < 0.0) {
        return Err(shape(
            "fields.values",
            format!(
                "row {}: a share cannot be negative ({v} in '{}')",
                i + 1,
                values.name
            ),
        ));
    }
    let total: f64 = values.values.iter().sum();
    if total <= 0.0 {
        return Err(shape(
            "fields.values",
            format!("'{}' sums to 0: there is no whole to share", values.name),
        ));
    }
    let mut slices: Vec<Slice> = series
        .labels
        .into_iter()
        .zip(values.values)
        .map(|(label, value)| Slice { label, value })
        .collect();
    slices.sort_by(|a, b| b.value.total_cmp(&a.value));
    let small = |s: &Slice| s.value / total * 100.0 < MIN_SLICE_PERCENT;
    let kept = slices
        .iter()
        .take(MAX_SLICES)
        .take_while(|s| !small(s))
        .count()
        .max(1);
    let rest = slices.split_off(kept);
    let other = (!rest.is_empty()).then(|| rest.iter().map(|s| s.value).sum());
    Ok(Shares {
        label_field: series.label_field,
        value_field: values.name,
        slices,
        other,
        total,
        total_rows: series.total_rows,
        format: values.format,
    })
}

/// A funnel's steps: one value, none negative.
pub fn funnel_of(series: Series) -> Result<Series, ShapeError> {
    if series.series.len() != 1 {
        return Err(shape(
            "fields.values",
            format!(
                "a funnel shows one value per step (got {})",
                series.series.len()
            ),
        ));
    }
    if series.series[0].values.iter().any(|v| *v < 0.0) {
        return Err(shape(
            "fields.values",
            "a funnel's steps cannot be negative",
        ));
    }
    Ok(series)
}

/// A combo's series: bars, then the line (at least two).
pub fn combo_of(series: Series) -> Result<Series, ShapeError> {
    if series.series.len() < 2 {
        return Err(shape(
            "fields.values",
            "a combo needs two values or more: the bars, then the line (the last)",
        ));
    }
    Ok(series)
}

/// A step's rate of the step before and of the first, in percent (`None` against 0).
pub fn step_rates(values: &[f64], i: usize) -> (Option<f64>, Option<f64>) {
    let rate = |of: f64| (of > 0.0).then(|| values[i] / of * 100.0);
    let before = i.checked_sub(1).and_then(|b| rate(values[b]));
    let first = (i > 0).then(|| rate(values[0])).flatten();
    (before, first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::NamedValues;

    fn series(labels: &[&str], values: &[f64]) -> Series {
        Series {
            label_field: "channel".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            series: vec![NamedValues {
                name: "orders".into(),
                values: values.to_vec(),
                format: None,
            }],
            total_rows: labels.len(),
        }
    }

    #[test]
    fn shares_are_largest_first_and_the_small_are_other() {
        let shares = shares_of(series(
            &["小程序", "App", "H5", "线下", "电话"],
            &[30.0, 50.0, 15.0, 4.0, 1.0],
        ))
        .unwrap();
        let labels: Vec<&str> = shares.slices.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["App", "小程序", "H5", "线下"]);
        assert_eq!(shares.other, Some(1.0), "电话 is 1%");
        assert_eq!(shares.total, 100.0);
        assert_eq!(shares.percent(50.0), 50.0);
        let many: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
        let labels: Vec<&str> = many.iter().map(String::as_str).collect();
        let shares = shares_of(series(&labels, &[10.0; 12])).unwrap();
        assert_eq!(shares.slices.len(), MAX_SLICES);
        assert_eq!(shares.other, Some(50.0));
    }

    #[test]
    fn negative_or_empty_wholes_and_odd_funnels_are_shape_errors() {
        assert!(
            shares_of(series(&["a", "b"], &[3.0, -1.0]))
                .unwrap_err()
                .reason
                .contains("negative")
        );
        assert!(
            shares_of(series(&["a"], &[0.0]))
                .unwrap_err()
                .reason
                .contains("sums to 0")
        );
        assert!(funnel_of(series(&["a"], &[-1.0])).is_err());
        assert!(
            combo_of(series(&["a"], &[1.0]))
                .unwrap_err()
                .reason
                .contains("two values")
        );
        assert_eq!(
            step_rates(&[1000.0, 300.0, 60.0], 2),
            (Some(20.0), Some(6.0))
        );
        assert_eq!(step_rates(&[1000.0, 0.0, 60.0], 2), (None, Some(6.0)));
        assert_eq!(step_rates(&[1000.0], 0), (None, None));
    }
}
