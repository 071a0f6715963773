//! A CSV answer as the JSON rows the row reader takes: one object per record, keyed by the header.
//! Numbers stay text; the figures read "1,234.5" and "12%" as numbers already.
use crate::access::AccessError;

/// `body` (CSV with a header line) as a JSON array of objects.
pub(crate) fn to_json_rows(body: &[u8]) -> Result<Vec<u8>, AccessError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| AccessError::Source(format!("invalid CSV: {e}")))?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| AccessError::Source(format!("invalid CSV: {e}")))?;
        let row: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .zip(record.iter())
            .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
            .collect();
        rows.push(serde_json::Value::Object(row));
    }
    serde_json::to_vec(&rows).map_err(|e| AccessError::Source(format!("CSV rows: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_csv_becomes_rows_keyed_by_its_header() {
        let json =
            super::to_json_rows("region,gmv\n华东,\"1,234.5\"\n华北,99\n".as_bytes()).unwrap();
        let rows: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            rows,
            serde_json::json!([{"region": "华东", "gmv": "1,234.5"}, {"region": "华北", "gmv": "99"}])
        );
        assert!(super::to_json_rows(b"a,b\n1,2,3\n").is_err());
    }
}
