//! How items are encoded (attribute values, the JSON document in `doc`), sized and paged, and
//! how the SDK's errors read as the store's.
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use herald_core::ports::StoreError;
use std::collections::HashMap;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Up to `wanted` items of `query` from `start` on, page after page: DynamoDB ends a page at
/// 1 MB read (before any projection), so one page may hold far fewer than asked for while more
/// follow.
pub(crate) async fn query_up_to(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    mut start: Option<Item>,
    wanted: usize,
) -> Result<Vec<Item>, StoreError> {
    let mut items: Vec<Item> = Vec::with_capacity(wanted.min(1000));
    if wanted == 0 {
        return Ok(items);
    }
    loop {
        let out = query
            .clone()
            .limit(i32::try_from(wanted - items.len()).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(unavailable)?;
        items.extend(out.items().iter().cloned());
        match out.last_evaluated_key {
            Some(key) if items.len() < wanted => start = Some(key),
            _ => return Ok(items),
        }
    }
}

/// DynamoDB's limits on one transaction: 100 actions and 4 MB of items (kept under, with room for
/// the conditions and keys the items do not count).
pub(crate) const TRANSACTION_ACTIONS: usize = 100;

pub(crate) const TRANSACTION_BYTES: usize = 3_500_000;

/// An item's size as DynamoDB counts it (attribute names and values in UTF-8 bytes; a number
/// about one byte per two digits; maps and lists 3 bytes and one per element), for cutting
/// transactions to its limits.
pub(crate) fn item_bytes(item: &Item) -> usize {
    fn value(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::S(text) => text.len(),
            AttributeValue::N(number) => number.len() / 2 + 2,
            AttributeValue::B(bytes) => bytes.as_ref().len(),
            AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
            AttributeValue::Ns(numbers) => numbers.iter().map(|n| n.len() / 2 + 2).sum(),
            AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + value(v)).sum::<usize>(),
            AttributeValue::M(map) => {
                3 + map
                    .iter()
                    .map(|(k, v)| 1 + k.len() + value(v))
                    .sum::<usize>()
            }
            _ => 1,
        }
    }
    item.iter().map(|(name, v)| name.len() + value(v)).sum()
}

/// `items` cut into runs that each fit one transaction, in order.
pub(crate) fn transaction_chunks<T>(items: &[T], bytes: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        let next = bytes(item);
        if i > start && (i - start == TRANSACTION_ACTIONS || size + next > TRANSACTION_BYTES) {
            chunks.push(&items[start..i]);
            (start, size) = (i, 0);
        }
        size += next;
    }
    if start < items.len() {
        chunks.push(&items[start..]);
    }
    chunks
}

pub(crate) fn unavailable<E: std::error::Error + Send + Sync + 'static>(err: E) -> StoreError {
    StoreError::Unavailable(Box::new(err))
}

/// A failed write: refused for good when DynamoDB found it invalid (an item over 400 KB: retrying
/// cannot help), the store unavailable otherwise (throttling, a network fault: retried).
pub(crate) fn write_failure<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err.as_service_error() {
        Some(service) if service.code() == Some("ValidationException") => {
            StoreError::Refused(service.message().unwrap_or("invalid").to_owned())
        }
        _ => unavailable(err),
    }
}

pub(crate) fn doc_of(item: &Item) -> Result<&str, StoreError> {
    item.get("doc")
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::Corrupt("item without a doc attribute".into()))
}

pub(crate) fn parse_doc<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    serde_json::from_str(doc_of(item)?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn to_doc<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Whether an SDK error is a lost conditional write.
pub(crate) fn is_condition_failed<E, R>(err: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

#[cfg(test)]
mod transaction_tests {
    use super::*;

    #[test]
    fn transactions_are_cut_by_count_and_by_size() {
        let small: Vec<usize> = vec![10; 250];
        let cut: Vec<usize> = transaction_chunks(&small, |b| *b)
            .iter()
            .map(|c| c.len())
            .collect();
        assert_eq!(cut, [100, 100, 50]);
        let large: Vec<usize> = vec![300_000; 30];
        let cut: Vec<usize> = transaction_chunks(&large, |b| *b)
            .iter()
            .map(|c| c.len())
            .collect();
        assert_eq!(cut, [11, 11, 8]);
        assert!(transaction_chunks(&Vec::<usize>::new(), |b| *b).is_empty());
        let item = HashMap::from([("PK".to_owned(), s("DELIVERY#1"))]);
        assert_eq!(item_bytes(&item), 2 + 10);
    }
}
