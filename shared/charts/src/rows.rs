//! Counts the rows a JSON Pointer (RFC 6901) points at without building the document: one pass over
//! the bytes that skips everything off the pointer's path and counts the array's elements, so the
//! only memory used is the body itself. Same answers as `serde_json::Value::pointer`.
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// What the pointer found in a valid JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// An array with this many elements.
    Array(usize),
    /// A value that is not an array.
    NotArray,
    /// No value at the pointer.
    Missing,
}

/// Finds the value at `pointer` in `json` and counts its elements if it is an array.
/// Errors only if `json` is not one valid JSON document.
pub fn count_rows(json: &[u8], pointer: &str) -> Result<Found, serde_json::Error> {
    let tokens = parse_pointer(pointer);
    let mut de = serde_json::Deserializer::from_slice(json);
    let found = PointerSeed { tokens: &tokens }.deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}

/// RFC 6901 reference tokens: `/a~1b/~0c` → `["a/b", "~c"]`; empty → the whole document.
fn parse_pointer(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// An array index token as `serde_json` reads it: digits, no sign, no leading zero.
fn parse_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

struct PointerSeed<'t> {
    tokens: &'t [String],
}

impl<'de> DeserializeSeed<'de> for PointerSeed<'_> {
    type Value = Found;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Found, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PointerSeed<'_> {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
        let Some((token, rest)) = self.tokens.split_first() else {
            let mut rows = 0;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                rows += 1;
            }
            return Ok(Found::Array(rows));
        };
        let wanted = parse_index(token);
        let mut found = Found::Missing;
        let mut index = 0;
        loop {
            if Some(index) == wanted {
                match seq.next_element_seed(PointerSeed { tokens: rest })? {
                    Some(value) => found = value,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            index += 1;
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let Some((token, rest)) = self.tokens.split_first() else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Found::NotArray);
        };
        let mut found = Found::Missing;
        while let Some(key) = map.next_key::<String>()? {
            if key == *token {
                // A repeated key: the last one wins, as in `serde_json::Value`.
                found = map.next_value_seed(PointerSeed { tokens: rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Found, E> {
        Ok(self.scalar())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Found, E> {
        Ok(self.scalar())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Found, E> {
        Ok(self.scalar())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Found, E> {
        Ok(self.scalar())
    }
    fn visit_str<E>(self, _: &str) -> Result<Found, E> {
        Ok(self.scalar())
    }
    fn visit_unit<E>(self) -> Result<Found, E> {
        Ok(self.scalar())
    }
}

impl PointerSeed<'_> {
    /// A scalar is the value itself at the end of the pointer, and has no children before it.
    fn scalar(&self) -> Found {
        if self.tokens.is_empty() {
            Found::NotArray
        } else {
            Found::Missing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn count(doc: &Value, pointer: &str) -> Found {
        count_rows(doc.to_string().as_bytes(), pointer).unwrap()
    }

    /// What `serde_json::Value::pointer` says, for comparison.
    fn expected(doc: &Value, pointer: &str) -> Found {
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
}
