//! What IAM would decide about a function's DynamoDB calls: the calls a test proxy recorded, read as
//! IAM reads them (the action per operation, per contained item for transactions; the table or index
//! resource; `dynamodb:LeadingKeys`, the partition key values), checked against the Allow statements
//! template.yaml gives the function. moto authorises nothing, so without this a policy narrower than
//! the code would pass every test and fail on AWS.
//!
//! IAM's rules used here (docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html,
//! .../api-permissions-reference.html): TransactWriteItems is authorised per contained Put, Update,
//! Delete and ConditionCheck as PutItem, UpdateItem, DeleteItem and ConditionCheckItem; a Query on
//! an index is the index's resource and its partition key; `ForAllValues:StringLike` holds when
//! every leading key matches one of the patterns (`*` any run of characters).
use crate::template::{Stack, Template};
use serde_json::Value as Json;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;

/// One thing a call asks IAM for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// e.g. `dynamodb:PutItem`.
    pub action: String,
    /// The table's ARN, or `{table ARN}/index/{name}`.
    pub resource: String,
    /// The partition key values the call touches.
    pub leading_keys: Vec<String>,
}

/// One Allow statement on DynamoDB, resolved.
#[derive(Debug, Clone)]
pub struct Grant {
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// `ForAllValues:StringLike` `dynamodb:LeadingKeys` patterns; None when unrestricted.
    pub leading_keys: Option<Vec<String>>,
}

impl Grant {
    pub fn allows(&self, access: &Access) -> bool {
        let action = self.actions.iter().any(|a| a == &access.action);
        let resource = self.resources.iter().any(|r| r == &access.resource);
        let keys = self.leading_keys.as_ref().is_none_or(|patterns| {
            access
                .leading_keys
                .iter()
                .all(|key| patterns.iter().any(|p| string_like(p, key)))
        });
        action && resource && keys
    }
}

/// The table's key design as template.yaml declares it: the partition key attribute of the table
/// (`None`) and of each index.
pub struct KeySchema {
    table_arn: String,
    partition_keys: BTreeMap<Option<String>, String>,
}

impl KeySchema {
    pub fn of(template: &Template, table_arn: &str) -> Self {
        let properties = &template.resource("HeraldTable")["Properties"];
        let hash = |schema: &Value| {
            schema
                .as_sequence()
                .into_iter()
                .flatten()
                .find(|k| k["KeyType"].as_str() == Some("HASH"))
                .and_then(|k| k["AttributeName"].as_str())
                .expect("a HASH key")
                .to_owned()
        };
        let mut partition_keys = BTreeMap::new();
        partition_keys.insert(None, hash(&properties["KeySchema"]));
        for index in properties["GlobalSecondaryIndexes"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            let name = index["IndexName"].as_str().expect("IndexName").to_owned();
            partition_keys.insert(Some(name), hash(&index["KeySchema"]));
        }
        Self {
            table_arn: table_arn.to_owned(),
            partition_keys,
        }
    }

    fn partition_key(&self, index: Option<&str>) -> &str {
        self.partition_keys
            .get(&index.map(str::to_owned))
            .unwrap_or_else(|| panic!("template.yaml declares no index {index:?}"))
    }

    fn leading_key(&self, item: &Json) -> String {
        let name = self.partition_key(None);
        item[name]["S"]
            .as_str()
            .unwrap_or_else(|| panic!("no string {name} in {item}"))
            .to_owned()
    }

    fn access(&self, action: &str, index: Option<&str>, leading_keys: Vec<String>) -> Access {
        Access {
            action: format!("dynamodb:{action}"),
            resource: match index {
                Some(index) => format!("{}/index/{index}", self.table_arn),
                None => self.table_arn.clone(),
            },
            leading_keys,
        }
    }

    /// What one DynamoDB request (its `x-amz-target` and JSON body) asks IAM for.
    pub fn accesses(&self, target: &str, body: &Json) -> Vec<Access> {
        let operation = target.rsplit('.').next().unwrap_or(target);
        let one = |action: &str, keys: Vec<String>| vec![self.access(action, None, keys)];
        match operation {
            "GetItem" | "UpdateItem" | "DeleteItem" => {
                one(operation, vec![self.leading_key(&body["Key"])])
            }
            "PutItem" => one(operation, vec![self.leading_key(&body["Item"])]),
            "Query" => {
                let index = body["IndexName"].as_str();
                let key = self.queried_partition(index, body);
                vec![self.access(operation, index, vec![key])]
            }
            "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|item| item.as_object().into_iter().flatten())
                .map(|(kind, op)| {
                    let (action, key) = match kind.as_str() {
                        "Put" => ("PutItem", &op["Item"]),
                        "Update" => ("UpdateItem", &op["Key"]),
                        "Delete" => ("DeleteItem", &op["Key"]),
                        "ConditionCheck" => ("ConditionCheckItem", &op["Key"]),
                        "Get" => ("GetItem", &op["Key"]),
                        other => panic!("a transaction holds no {other}"),
                    };
                    self.access(action, None, vec![self.leading_key(key)])
                })
                .collect(),
            "BatchGetItem" | "BatchWriteItem" => {
                let keys = body["RequestItems"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .flat_map(|(_, requests)| match requests {
                        Json::Object(get) => get["Keys"].as_array().cloned().unwrap_or_default(),
                        Json::Array(writes) => writes
                            .iter()
                            .map(|w| {
                                let put = &w["PutRequest"]["Item"];
                                if put.is_null() {
                                    w["DeleteRequest"]["Key"].clone()
                                } else {
                                    put.clone()
                                }
                            })
                            .collect(),
                        _ => Vec::new(),
                    })
                    .map(|key| self.leading_key(&key))
                    .collect();
                one(operation, keys)
            }
            _ => one(operation, Vec::new()),
        }
    }

    /// The partition key value a Query names: the `name = :value` part of its key condition whose
    /// name is the table's or index's partition key.
    fn queried_partition(&self, index: Option<&str>, body: &Json) -> String {
        let wanted = self.partition_key(index);
        let condition = body["KeyConditionExpression"]
            .as_str()
            .expect("a key condition");
        let name_of = |raw: &str| {
            let raw = raw.trim();
            body["ExpressionAttributeNames"][raw]
                .as_str()
                .unwrap_or(raw)
                .to_owned()
        };
        condition
            .split(" AND ")
            .filter_map(|part| part.split_once('='))
            .find(|(name, _)| name_of(name) == wanted)
            .and_then(|(_, value)| body["ExpressionAttributeValues"][value.trim()]["S"].as_str())
            .unwrap_or_else(|| panic!("no {wanted} = :value in {condition}"))
            .to_owned()
    }
}

/// IAM's StringLike: `*` matches any run of characters, `?` one character.
pub fn string_like(pattern: &str, value: &str) -> bool {
    fn from(p: &[char], v: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('*', rest)) => (0..=v.len()).any(|skip| from(rest, &v[skip..])),
            Some(('?', rest)) => !v.is_empty() && from(rest, &v[1..]),
            Some((c, rest)) => v.first() == Some(c) && from(rest, &v[1..]),
        }
    }
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    from(&p, &v)
}

/// The Allow statements on DynamoDB that template.yaml gives `function`, from its own policies and
/// the managed policies it references. A condition other than LeadingKeys fails the test: the
/// checker would not know what IAM decides.
pub fn grants(template: &Template, function: &str, stack: &Stack) -> Vec<Grant> {
    let policies = template.resource(function)["Properties"]["Policies"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    let mut statements = Vec::new();
    for policy in &policies {
        let document = match policy {
            Value::Tagged(tagged) if tagged.tag.to_string().trim_start_matches('!') == "Ref" => {
                let name = tagged.value.as_str().expect("!Ref a policy name");
                template.resource(name)["Properties"]["PolicyDocument"].clone()
            }
            Value::Mapping(_) if !policy["Statement"].is_null() => policy.clone(),
            other => panic!("{function}: the checker does not read the policy {other:?}"),
        };
        statements.extend(
            document["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default(),
        );
    }
    let list = |value: &Value| -> Vec<Value> {
        match value {
            Value::Sequence(items) => items.clone(),
            Value::Null => Vec::new(),
            one => vec![one.clone()],
        }
    };
    statements
        .iter()
        .filter(|s| s["Effect"].as_str() == Some("Allow"))
        .filter_map(|statement| {
            let actions: Vec<String> = list(&statement["Action"])
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .filter(|a| a.starts_with("dynamodb:"))
                .collect();
            if actions.is_empty() {
                return None;
            }
            let resources = list(&statement["Resource"])
                .iter()
                .map(|r| template.resolve(r, stack))
                .collect();
            let leading_keys = match &statement["Condition"] {
                Value::Null => None,
                condition => {
                    let keys = &condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
                    assert!(
                        condition.as_mapping().map(|m| m.len()) == Some(1) && !keys.is_null(),
                        "{function}: the checker reads only ForAllValues:StringLike dynamodb:LeadingKeys, not {condition:?}"
                    );
                    Some(
                        list(keys)
                            .iter()
                            .map(|k| k.as_str().expect("a key pattern").to_owned())
                            .collect(),
                    )
                }
            };
            Some(Grant {
                actions,
                resources,
                leading_keys,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_like_matches_as_iam_does() {
        assert!(string_like("TICKET#*", "TICKET#sqle#1"));
        assert!(string_like("*", ""));
        assert!(string_like("RUN#t?", "RUN#t1"));
        assert!(!string_like("TICKET#*", "TASK#1"));
        assert!(!string_like("RUN#t?", "RUN#t12"));
    }

    #[test]
    fn a_transaction_asks_per_item_and_a_query_for_its_index_partition() {
        let schema = KeySchema {
            table_arn: "arn:t".into(),
            partition_keys: [
                (None, "PK".to_owned()),
                (Some("Due".to_owned()), "DuePK".to_owned()),
            ]
            .into(),
        };
        let transaction = json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "RUN#1"}, "SK": {"S": "RUN"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"PK": {"S": "TASK#1"}, "SK": {"S": "TASK"}}}},
        ]});
        let asked = schema.accesses("DynamoDB_20120810.TransactWriteItems", &transaction);
        assert_eq!(
            asked,
            vec![
                schema.access("PutItem", None, vec!["RUN#1".into()]),
                schema.access("ConditionCheckItem", None, vec!["TASK#1".into()]),
            ]
        );
        let query = json!({"IndexName": "Due", "KeyConditionExpression": "#p = :p AND DueSK <= :now",
            "ExpressionAttributeNames": {"#p": "DuePK"},
            "ExpressionAttributeValues": {":p": {"S": "DUE#wecom#3"}, ":now": {"S": "2026"}}});
        let asked = schema.accesses("DynamoDB_20120810.Query", &query);
        assert_eq!(asked[0].resource, "arn:t/index/Due");
        assert_eq!(asked[0].leading_keys, vec!["DUE#wecom#3".to_owned()]);
        let grant = Grant {
            actions: vec!["dynamodb:Query".into()],
            resources: vec!["arn:t/index/Due".into()],
            leading_keys: Some(vec!["DUE#*".into()]),
        };
        assert!(grant.allows(&asked[0]));
        let mut elsewhere = asked[0].clone();
        elsewhere.leading_keys = vec!["KEY#1".into()];
        assert!(!grant.allows(&elsewhere));
    }
}
