use super::*;
use serde_json::{Value, json};

fn count(doc: &Value, pointer: &str) -> Found<usize> {
    count_rows(doc.to_string().as_bytes(), pointer).unwrap()
}

/// What `serde_json::Value::pointer` says, for comparison.
fn expected(doc: &Value, pointer: &str) -> Found<usize> {
    match doc.pointer(pointer) {
        None => Found::Missing,
        Some(Value::Array(a)) => Found::Array(a.len()),
        Some(_) => Found::NotArray,
    }
}

#[test]
fn agrees_with_value_pointer() {
    let doc = json!({
        "data": {"rows": [1, {"x": [1, 2]}, [3]], "n": 3, "s": "str", "nul": null},
        "a/b": {"~c": [[], [1, 2, 3, 4]]},
        "": [1],
        "list": [[1, 2], {"rows": []}],
        "empty": []
    });
    for pointer in [
        "",
        "/data",
        "/data/rows",
        "/data/rows/1/x",
        "/data/rows/2",
        "/data/rows/3",
        "/data/n",
        "/data/n/x",
        "/data/s",
        "/data/nul",
        "/data/missing",
        "/a~1b/~0c",
        "/a~1b/~0c/1",
        "/a~1b/~0c/01",
        "/a~1b/~0c/+1",
        "/",
        "/list/0",
        "/list/1/rows",
        "/list/x",
        "/empty",
        "/empty/0",
    ] {
        assert_eq!(count(&doc, pointer), expected(&doc, pointer), "{pointer}");
    }
}

#[test]
fn whole_document_array_and_scalar() {
    assert_eq!(count_rows(b" [1, 2, 3] ", "").unwrap(), Found::Array(3));
    assert_eq!(count_rows(b"[]", "").unwrap(), Found::Array(0));
    assert_eq!(count_rows(b"42", "").unwrap(), Found::NotArray);
    assert_eq!(count_rows(b"\"s\"", "/x").unwrap(), Found::Missing);
}

#[test]
fn repeated_keys_take_the_last_value() {
    let found = count_rows(br#"{"rows": [1, 2], "rows": [1]}"#, "/rows").unwrap();
    assert_eq!(found, Found::Array(1));
}

#[test]
fn invalid_json_is_an_error() {
    for bad in [&b""[..], b"{", b"[1,]", b"[1] x", b"{\"a\":}", b"<html>"] {
        assert!(count_rows(bad, "").is_err(), "{bad:?}");
    }
    // Invalid JSON off the pointer's path is still invalid.
    assert!(count_rows(br#"{"rows": [1], "other": [nope]}"#, "/rows").is_err());
}

#[test]
fn counts_a_ten_megabyte_array() {
    let mut body = b"{\"data\":{\"rows\":[".to_vec();
    let n = 2_000_000;
    for i in 0..n {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(b"1234");
    }
    body.extend_from_slice(b"]}}");
    assert!(body.len() >= 10_000_000);
    assert_eq!(count_rows(&body, "/data/rows").unwrap(), Found::Array(n));
}

fn select(head: usize, keys: Option<&[&str]>, series: bool) -> RowSelection {
    RowSelection {
        head,
        keys: keys.map(|k| k.iter().map(|s| s.to_string()).collect()),
        series,
        whole: 0,
    }
}

#[test]
fn keeps_the_first_rows_for_an_attachment_apart_from_those_shown() {
    let json =
        r#"{"rows": [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}, {"a": 5}, {"a": 6}, {"a": 7}]}"#;
    let selection = RowSelection {
        whole: 5,
        ..select(2, None, false)
    };
    let kept = rows(json, "/rows", &selection);
    assert_eq!((kept.total, kept.head.len(), kept.whole.len()), (7, 2, 5));
    assert_eq!(kept.whole[4], vec![Some(Cell::Number(5.0))]);
    let shown_only = rows(json, "/rows", &select(2, None, false));
    assert!(shown_only.whole.is_empty());
}

fn rows(json: &str, pointer: &str, selection: &RowSelection) -> ChartRows {
    match read_rows(json.as_bytes(), pointer, selection).unwrap() {
        Found::Array(rows) => rows,
        other => panic!("no array: {other:?}"),
    }
}

#[test]
fn keeps_the_first_rows_and_the_first_rows_keys() {
    let json = r#"{"data": {"rows": [
        {"region": "East", "gmv": 3, "note": {"x": 1}},
        {"gmv": "12.5", "region": "West", "extra": true},
        {"region": "North", "gmv": null}
    ]}}"#;
    let kept = rows(json, "/data/rows", &select(2, None, false));
    assert_eq!(kept.total, 3);
    assert_eq!(kept.keys, ["region", "gmv", "note"]);
    assert_eq!(
        kept.head,
        vec![
            vec![
                Some(Cell::Text("East".into())),
                Some(Cell::Number(3.0)),
                Some(Cell::Empty)
            ],
            vec![
                Some(Cell::Text("West".into())),
                Some(Cell::Text("12.5".into())),
                None
            ],
        ]
    );
}

#[test]
fn keeps_only_the_named_keys() {
    let json = r#"[{"a": 1, "b": 2, "c": 3}, {"c": 4}]"#;
    let kept = rows(json, "", &select(5, Some(&["c", "a"]), false));
    assert_eq!(kept.keys, ["c", "a"]);
    assert_eq!(
        kept.head[0],
        vec![Some(Cell::Number(3.0)), Some(Cell::Number(1.0))]
    );
    assert_eq!(kept.head[1], vec![Some(Cell::Number(4.0)), None]);
}

#[test]
fn arrays_and_scalars_are_rows_too() {
    let kept = rows(r#"[["East", 3], ["West", 4]]"#, "", &select(5, None, false));
    assert_eq!(kept.keys, ["0", "1"]);
    assert_eq!(kept.head[1][1], Some(Cell::Number(4.0)));
    let kept = rows("[7, 8]", "", &select(1, None, false));
    assert_eq!(kept.keys, ["value"]);
    assert_eq!(kept.head, vec![vec![Some(Cell::Number(7.0))]]);
}

#[test]
fn a_long_series_is_thinned_evenly_and_keeps_its_last_point() {
    let n = 100_000;
    let body: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"x": {i}, "y": {i}}}"#))
        .collect();
    let json = format!("[{}]", body.join(","));
    let kept = rows(&json, "", &select(0, None, true));
    assert_eq!(kept.total, n);
    assert!(
        kept.sample.len() <= 2 * MAX_LINE_POINTS + 1,
        "{}",
        kept.sample.len()
    );
    assert!(kept.sample.len() >= MAX_LINE_POINTS / 2);
    let xs: Vec<f64> = kept
        .sample
        .iter()
        .map(|r| match r[0] {
            Some(Cell::Number(x)) => x,
            _ => -1.0,
        })
        .collect();
    assert_eq!(xs[0], 0.0);
    assert_eq!(*xs.last().unwrap(), (n - 1) as f64);
    assert!(xs.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn long_text_cells_are_cut_on_a_character_boundary() {
    let json = format!(r#"[{{"name": "{}"}}]"#, "销".repeat(300));
    let kept = rows(&json, "", &select(1, None, false));
    let Some(Cell::Text(text)) = &kept.head[0][0] else {
        panic!()
    };
    assert!(text.len() <= MAX_CELL_BYTES && text.chars().all(|c| c == '销'));
}
