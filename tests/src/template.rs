//! template.yaml as CloudFormation reads it, for tests that run the functions as deployed: the
//! environment each function gets (Globals merged with its own), its timeout and memory, its event
//! sources, with `!Ref`, `!Sub` and `!GetAtt` resolved against a [`Stack`]. An intrinsic the tests
//! do not know fails loudly, so a template change cannot slip past them.
use serde_json::Value as Json;
use serde_yaml_ng::Value;
use std::collections::HashMap;

pub struct Template(pub Value);

/// What a deployed stack would resolve references to.
#[derive(Debug, Clone, Default)]
pub struct Stack {
    pub name: String,
    pub region: String,
    pub account: String,
    /// Parameter values (the template's defaults fill the rest).
    pub parameters: HashMap<String, String>,
    /// `!Ref` of a resource: its physical id (a table's name, a group's name).
    pub resources: HashMap<String, String>,
    /// `!GetAtt Resource.Attribute`.
    pub attributes: HashMap<String, String>,
}

impl Template {
    pub fn load() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
        let text = std::fs::read_to_string(path).expect("read template.yaml");
        Self(serde_yaml_ng::from_str(&text).expect("template.yaml parses"))
    }

    /// A rule CloudFormation checks the parameters with before it makes anything.
    pub fn rule(&self, name: &str) -> &Value {
        let found = &self.0["Rules"][name];
        assert!(!found.is_null(), "template.yaml has no rule {name}");
        found
    }

    /// Every resource of `kind` (e.g. `AWS::CloudWatch::Alarm`), by name.
    pub fn resources_of(&self, kind: &str) -> Vec<(String, &Value)> {
        self.0["Resources"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
            .map(|(name, resource)| (name.as_str().unwrap_or_default().to_owned(), resource))
            .collect()
    }

    pub fn resource(&self, name: &str) -> &Value {
        let found = &self.0["Resources"][name];
        assert!(!found.is_null(), "template.yaml has no resource {name}");
        found
    }

    /// A function's property, or the Globals' when it sets none.
    pub fn function_property(&self, function: &str, property: &str) -> Value {
        let own = &self.resource(function)["Properties"][property];
        if own.is_null() {
            self.0["Globals"]["Function"][property].clone()
        } else {
            own.clone()
        }
    }

    pub fn timeout(&self, function: &str) -> std::time::Duration {
        let seconds = self.function_property(function, "Timeout").as_u64();
        std::time::Duration::from_secs(seconds.expect("Timeout in seconds"))
    }

    pub fn memory_mb(&self, function: &str) -> u32 {
        let mb = self.function_property(function, "MemorySize").as_u64();
        u32::try_from(mb.expect("MemorySize")).expect("MemorySize fits")
    }

    /// The environment the function gets: Globals' variables, then its own, then what the Lambda
    /// service adds for its LoggingConfig (`AWS_LAMBDA_LOG_FORMAT`).
    pub fn environment(&self, function: &str, stack: &Stack) -> Vec<(String, String)> {
        let mut env = self.variables(function, stack);
        let format = &self.function_property(function, "LoggingConfig")["LogFormat"];
        if let Some(format) = format.as_str() {
            env.push(("AWS_LAMBDA_LOG_FORMAT".into(), format.to_owned()));
        }
        env
    }

    /// The function's `Environment.Variables`: Globals' variables, then its own.
    fn variables(&self, function: &str, stack: &Stack) -> Vec<(String, String)> {
        let globals = &self.0["Globals"]["Function"]["Environment"]["Variables"];
        let own = &self.resource(function)["Properties"]["Environment"]["Variables"];
        let mut env: Vec<(String, String)> = Vec::new();
        for variables in [globals, own] {
            let Some(map) = variables.as_mapping() else {
                continue;
            };
            for (name, value) in map {
                let name = name.as_str().expect("variable name").to_owned();
                let value = self.resolve(value, stack);
                env.retain(|(n, _)| *n != name);
                env.push((name, value));
            }
        }
        env
    }

    /// The event source of `function` named `event` (its `Properties`).
    pub fn event(&self, function: &str, event: &str) -> &Value {
        let found = &self.resource(function)["Properties"]["Events"][event]["Properties"];
        assert!(!found.is_null(), "{function} has no event {event}");
        found
    }

    /// The filter patterns of a stream event source, as JSON.
    pub fn filter_patterns(&self, function: &str, event: &str) -> Vec<Json> {
        let filters = self.event(function, event)["FilterCriteria"]["Filters"]
            .as_sequence()
            .expect("FilterCriteria.Filters");
        filters
            .iter()
            .map(|f| {
                let text = f["Pattern"].as_str().expect("Pattern is a JSON string");
                serde_json::from_str(text).expect("Pattern is JSON")
            })
            .collect()
    }

    fn parameter(&self, name: &str, stack: &Stack) -> Option<String> {
        if let Some(value) = stack.parameters.get(name) {
            return Some(value.clone());
        }
        let default = &self.0["Parameters"][name]["Default"];
        match default {
            Value::Null if self.0["Parameters"][name].is_null() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            other => panic!("parameter {name} has no value for the test stack ({other:?})"),
        }
    }

    /// What `!Ref name` (or `${name}` in a `!Sub`) resolves to.
    fn reference(&self, name: &str, stack: &Stack) -> String {
        match name {
            "AWS::Partition" => "aws".into(),
            "AWS::Region" => stack.region.clone(),
            "AWS::AccountId" => stack.account.clone(),
            "AWS::StackName" => stack.name.clone(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            _ if name.contains('.') => stack
                .attributes
                .get(name)
                .cloned()
                .unwrap_or_else(|| panic!("the test stack has no attribute {name}")),
            _ => self
                .parameter(name, stack)
                .or_else(|| stack.resources.get(name).cloned())
                .unwrap_or_else(|| panic!("the test stack cannot resolve !Ref {name}")),
        }
    }

    /// A property value with its intrinsics resolved, as a string.
    pub fn resolve(&self, value: &Value, stack: &Stack) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                let argument = tagged.value.as_str();
                match (tag.trim_start_matches('!'), argument) {
                    ("Ref", Some(name)) => self.reference(name, stack),
                    ("GetAtt", Some(path)) => self.reference(path, stack),
                    ("Sub", Some(text)) => self.substitute(text, stack),
                    _ => panic!("the tests do not resolve {tag} {:?}", tagged.value),
                }
            }
            other => panic!("the tests do not resolve {other:?}"),
        }
    }

    fn substitute(&self, text: &str, stack: &Stack) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("closing brace in !Sub") + start;
            out.push_str(&self.reference(&rest[start + 2..end], stack));
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// Whether a JSON log line matches a CloudWatch Logs metric filter of the form
/// `{ $.field.path = "value" }` (the form template.yaml uses; another fails the test).
pub fn log_line_matches(filter: &str, line: &str) -> bool {
    let inner = filter
        .trim()
        .strip_prefix('{')
        .and_then(|f| f.strip_suffix('}'));
    let (path, value) = inner
        .and_then(|f| f.split_once('='))
        .unwrap_or_else(|| panic!("the tests do not know the filter {filter}"));
    let path = path.trim().strip_prefix("$.").expect("a $. selector");
    let value = value.trim().trim_matches('"');
    let Ok(mut at) = serde_json::from_str::<Json>(line) else {
        return false;
    };
    for field in path.split('.') {
        at = at[field].take();
    }
    at.as_str() == Some(value)
}

/// Whether `event` matches an event filter `pattern` (the subset of EventBridge's pattern syntax
/// Lambda's event filtering takes that template.yaml uses: nested fields, lists of values, `prefix`,
/// `exists`). An operator it does not know fails the test.
pub fn matches(pattern: &Json, event: &Json) -> bool {
    let Some(fields) = pattern.as_object() else {
        panic!("a pattern is an object: {pattern}");
    };
    fields.iter().all(|(field, wanted)| {
        let value = event.get(field);
        match wanted {
            Json::Object(_) => value.is_some_and(|v| matches(wanted, v)),
            Json::Array(options) => options.iter().any(|option| match option {
                Json::Object(op) => match op.iter().next() {
                    Some((name, Json::String(prefix))) if name == "prefix" => value
                        .and_then(Json::as_str)
                        .is_some_and(|v| v.starts_with(prefix)),
                    Some((name, Json::Bool(exists))) if name == "exists" => {
                        value.is_some() == *exists
                    }
                    _ => panic!("the tests do not know the filter operator {option}"),
                },
                literal => value == Some(literal),
            }),
            other => panic!("a pattern field is an object or a list: {other}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_match_nested_fields_prefixes_and_literals() {
        let pattern = json!({"dynamodb": {"Keys": {"PK": {"S": [{"prefix": "DELIVERY#"}]}}, "NewImage": {"status": {"S": ["queued"]}}}});
        let record = |pk: &str, status: &str| json!({"dynamodb": {"Keys": {"PK": {"S": pk}}, "NewImage": {"status": {"S": status}}}});
        assert!(matches(&pattern, &record("DELIVERY#1", "queued")));
        assert!(!matches(&pattern, &record("DELIVERY#1", "sending")));
        assert!(!matches(&pattern, &record("RUN#1", "queued")));
        assert!(!matches(&pattern, &json!({"dynamodb": {"Keys": {}}})));
    }
}
