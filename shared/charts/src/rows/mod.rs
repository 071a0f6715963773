//! Reads the rows a JSON Pointer (RFC 6901) points at without building the document: one pass over
//! the bytes that skips everything off the pointer's path, counts the array's elements and keeps
//! only what the chart shows ([`RowSelection`]): the first rows, the keys named, and for lines an
//! evenly thinned sample. Memory beyond the body is bounded by the selection, whatever the data.
//! Same answers as `serde_json::Value::pointer`.
use herald_core::domain::report::{
    Cell, ChartRows, MAX_CELL_BYTES, MAX_COLUMNS, MAX_LINE_POINTS, Row, RowSelection,
};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// What the pointer found in a valid JSON document.
#[derive(Debug, Clone, PartialEq)]
pub enum Found<T> {
    /// An array: its count, or the rows kept of it.
    Array(T),
    /// A value that is not an array.
    NotArray,
    /// No value at the pointer.
    Missing,
}

/// Finds the value at `pointer` in `json` and counts its elements if it is an array.
/// Errors only if `json` is not one valid JSON document.
pub fn count_rows(json: &[u8], pointer: &str) -> Result<Found<usize>, serde_json::Error> {
    let selection = RowSelection {
        head: 0,
        keys: Some(Vec::new()),
        series: false,
        whole: 0,
    };
    Ok(match read_rows(json, pointer, &selection)? {
        Found::Array(rows) => Found::Array(rows.total),
        Found::NotArray => Found::NotArray,
        Found::Missing => Found::Missing,
    })
}

/// Finds the array at `pointer` in `json` and keeps what `selection` asks of its rows.
pub fn read_rows(
    json: &[u8],
    pointer: &str,
    selection: &RowSelection,
) -> Result<Found<ChartRows>, serde_json::Error> {
    let tokens = parse_pointer(pointer);
    let mut keeper = Keeper::new(selection);
    let mut de = serde_json::Deserializer::from_slice(json);
    let found = PointerSeed {
        tokens: &tokens,
        keeper: &mut keeper,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(match found {
        Found::Array(()) => Found::Array(keeper.finish()),
        Found::NotArray => Found::NotArray,
        Found::Missing => Found::Missing,
    })
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

/// Collects the rows of the array at the pointer. The last array reached wins (a repeated key).
struct Keeper<'s> {
    selection: &'s RowSelection,
    rows: ChartRows,
    /// Keys are taken from the first row when the selection names none.
    keys_fixed: bool,
    stride: usize,
    last: Option<(usize, Row)>,
}

impl<'s> Keeper<'s> {
    fn new(selection: &'s RowSelection) -> Self {
        Self {
            selection,
            rows: ChartRows {
                keys: selection.keys.clone().unwrap_or_default(),
                ..ChartRows::default()
            },
            keys_fixed: selection.keys.is_some(),
            stride: 1,
            last: None,
        }
    }

    /// Starts a new array (a repeated key replaces what an earlier one kept).
    fn reset(&mut self) {
        *self = Self::new(self.selection);
    }

    fn wants(&self, index: usize) -> bool {
        let wants_keys = !(self.keys_fixed && self.rows.keys.is_empty());
        wants_keys
            && (index < self.selection.head
                || index < self.selection.whole
                || self.selection.series)
    }

    fn keep(&mut self, index: usize, row: Row) {
        if index < self.selection.whole {
            self.rows.whole.push(row.clone());
        }
        if index < self.selection.head {
            self.rows.head.push(row.clone());
        }
        if self.selection.series {
            if index.is_multiple_of(self.stride) {
                self.rows.sample.push(row);
                if self.rows.sample.len() >= 2 * MAX_LINE_POINTS {
                    // Keep every other point and sample half as often from now on.
                    let mut i = 0;
                    self.rows.sample.retain(|_| {
                        i += 1;
                        i % 2 == 1
                    });
                    self.stride *= 2;
                }
            } else {
                self.last = Some((index, row));
            }
        }
    }

    fn finish(mut self) -> ChartRows {
        // The latest point matters most on a line: keep the last row even off the stride.
        if let Some((index, row)) = self.last.take()
            && index + 1 == self.rows.total
        {
            self.rows.sample.push(row);
        }
        self.rows
    }

    /// Whether a value at `key` would be kept (without adding the key yet).
    fn would_keep(&self, key: &str, first_row: bool) -> bool {
        self.rows.keys.iter().any(|k| k == key)
            || (!self.keys_fixed && first_row && self.rows.keys.len() < MAX_COLUMNS)
    }

    /// The index of `key` among the kept keys, adding it from the first row when keys are free.
    fn column(&mut self, key: &str, first_row: bool) -> Option<usize> {
        if let Some(i) = self.rows.keys.iter().position(|k| k == key) {
            return Some(i);
        }
        if !self.keys_fixed && first_row && self.rows.keys.len() < MAX_COLUMNS {
            self.rows.keys.push(key.to_owned());
            return Some(self.rows.keys.len() - 1);
        }
        None
    }
}

struct PointerSeed<'t, 'k, 's> {
    tokens: &'t [String],
    keeper: &'k mut Keeper<'s>,
}

impl<'de> DeserializeSeed<'de> for PointerSeed<'_, '_, '_> {
    type Value = Found<()>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Found<()>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PointerSeed<'_, '_, '_> {
    type Value = Found<()>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Found<()>, A::Error> {
        let Some((token, rest)) = self.tokens.split_first() else {
            self.keeper.reset();
            let mut index = 0;
            loop {
                let more = if self.keeper.wants(index) {
                    let first_row = index == 0;
                    match seq.next_element_seed(RowSeed {
                        keeper: self.keeper,
                        first_row,
                    })? {
                        Some(row) => {
                            self.keeper.keep(index, row);
                            true
                        }
                        None => false,
                    }
                } else {
                    seq.next_element::<IgnoredAny>()?.is_some()
                };
                if !more {
                    break;
                }
                index += 1;
            }
            self.keeper.rows.total = index;
            return Ok(Found::Array(()));
        };
        let wanted = parse_index(token);
        let mut found = Found::Missing;
        let mut index = 0;
        loop {
            if Some(index) == wanted {
                match seq.next_element_seed(PointerSeed {
                    tokens: rest,
                    keeper: self.keeper,
                })? {
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

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found<()>, A::Error> {
        let Some((token, rest)) = self.tokens.split_first() else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Found::NotArray);
        };
        let mut found = Found::Missing;
        while let Some(key) = map.next_key::<String>()? {
            if key == *token {
                // A repeated key: the last one wins, as in `serde_json::Value`.
                found = map.next_value_seed(PointerSeed {
                    tokens: rest,
                    keeper: self.keeper,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Found<()>, E> {
        Ok(self.scalar())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Found<()>, E> {
        Ok(self.scalar())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Found<()>, E> {
        Ok(self.scalar())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Found<()>, E> {
        Ok(self.scalar())
    }
    fn visit_str<E>(self, _: &str) -> Result<Found<()>, E> {
        Ok(self.scalar())
    }
    fn visit_unit<E>(self) -> Result<Found<()>, E> {
        Ok(self.scalar())
    }
}

impl PointerSeed<'_, '_, '_> {
    /// A scalar is the value itself at the end of the pointer, and has no children before it.
    fn scalar(&self) -> Found<()> {
        if self.tokens.is_empty() {
            Found::NotArray
        } else {
            Found::Missing
        }
    }
}

/// One row: an object's kept keys, an array's elements by index ("0", "1", …), or a scalar as
/// the key "value".
struct RowSeed<'k, 's> {
    keeper: &'k mut Keeper<'s>,
    first_row: bool,
}

impl RowSeed<'_, '_> {
    fn put(&mut self, row: &mut Row, key: &str, cell: Cell) {
        if let Some(i) = self.keeper.column(key, self.first_row) {
            if row.len() <= i {
                row.resize(i + 1, None);
            }
            row[i] = Some(cell);
        }
    }

    fn scalar(mut self, cell: Cell) -> Row {
        let mut row = Vec::new();
        self.put(&mut row, "value", cell);
        self.pad(row)
    }

    fn pad(&self, mut row: Row) -> Row {
        row.resize(self.keeper.rows.keys.len(), None);
        row
    }
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_> {
    type Value = Row;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Row, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_> {
    type Value = Row;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Row, A::Error> {
        let mut row = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.keeper.would_keep(&key, self.first_row) {
                let cell = map.next_value::<CellValue>()?.0;
                self.put(&mut row, &key, cell);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(self.pad(row))
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Row, A::Error> {
        let mut row = Vec::new();
        let mut index = 0usize;
        loop {
            let key = index.to_string();
            if self.keeper.would_keep(&key, self.first_row) {
                match seq.next_element::<CellValue>()? {
                    Some(cell) => self.put(&mut row, &key, cell.0),
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            index += 1;
        }
        Ok(self.pad(row))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Row, E> {
        Ok(self.scalar(Cell::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Row, E> {
        Ok(self.scalar(Cell::Number(v as f64)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Row, E> {
        Ok(self.scalar(Cell::Number(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Row, E> {
        Ok(self.scalar(Cell::Number(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Row, E> {
        Ok(self.scalar(text_cell(v)))
    }
    fn visit_unit<E>(self) -> Result<Row, E> {
        Ok(self.scalar(Cell::Empty))
    }
}

fn text_cell(v: &str) -> Cell {
    let mut end = v.len().min(MAX_CELL_BYTES);
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    Cell::Text(v[..end].to_owned())
}

/// A cell: numbers, text (capped), booleans; null, objects and arrays are `Empty`.
struct CellValue(Cell);

impl<'de> serde::Deserialize<'de> for CellValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CellVisitor)
    }
}

struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = CellValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<CellValue, E> {
        Ok(CellValue(Cell::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<CellValue, E> {
        Ok(CellValue(Cell::Number(v as f64)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<CellValue, E> {
        Ok(CellValue(Cell::Number(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<CellValue, E> {
        Ok(CellValue(Cell::Number(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<CellValue, E> {
        Ok(CellValue(text_cell(v)))
    }
    fn visit_unit<E>(self) -> Result<CellValue, E> {
        Ok(CellValue(Cell::Empty))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CellValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(CellValue(Cell::Empty))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CellValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(CellValue(Cell::Empty))
    }
}

#[cfg(test)]
mod tests;
