//! Push tasks on the wire: the request body and how it parses into a task spec (the answer is in
//! `task_view.rs`).
use super::schedule::ScheduleBody;
use super::{at, optional, within};
use chrono::NaiveDate;
use herald_core::FieldError;
use herald_core::domain::contact::Language;
use herald_core::domain::number_format::{Currency, NumberFormat, NumberStyle};
use herald_core::domain::parameters;
use herald_core::domain::report::{
    CellColor, CellRule, ChartFields, Comparison, Display, FieldKey, MAX_CELL_RULES, MAX_FORMATS,
    MAX_VALUE_FIELDS, MaxRows, Threshold,
};
use herald_core::domain::source::{SourceName, SourceQuery};
use herald_core::domain::task::{
    Channel, Chart, ChartOrigin, Content, ExceptionControl, ExceptionRule, FailureLimit,
    MAX_CHARTS, Page, Range, RobotKey, RobotWebhook, TaskSpec, Template,
};
use herald_core::domain::text::{
    ChartName, HttpUrl, MessageText, PageTitle, RowsPointer, TaskName,
};
use herald_core::report::variables;
use herald_core::services::robot_keys::KeptGroups;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use super::recipients::*;

pub use super::SECRET_SET;

/// A push task, as created and replaced (`version` is required on replace).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskBody {
    #[schema(example = "Daily sales")]
    pub name: String,
    pub page: PageBody,
    /// `wecom`, `feishu` or `email`.
    #[schema(example = "wecom")]
    pub channel: String,
    /// `card` (default), `markdown` or `text`.
    #[serde(default = "default_template")]
    pub template: String,
    pub recipients: RecipientsBody,
    pub owner: OwnerBody,
    pub schedule: ScheduleBody,
    #[serde(default)]
    pub content: ContentBody,
    #[serde(default)]
    pub exception_control: ExceptionControlBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_robot: Option<AlarmRobotBody>,
    #[serde(default = "default_failure_limit")]
    pub failure_limit: u32,
    /// Push only when these hold (alerts); absent: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<super::conditions::ConditionsBody>,
    /// The version read before a replace; a stale one gets 409.
    #[serde(default, skip_serializing)]
    pub version: Option<u64>,
}

fn default_template() -> String {
    "card".into()
}

fn default_failure_limit() -> u32 {
    FailureLimit::DEFAULT.get()
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageBody {
    pub title: String,
    pub share_url: String,
    #[serde(default)]
    pub charts: Vec<ChartBody>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartBody {
    pub name: String,
    /// A public JSON address (GET); or name a `source` and a `query` instead. May use date
    /// parameters (`{{ yesterday }}` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_url: Option<String>,
    /// A report source (`GET /v1/sources`) the chart reads from, with `query`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// What to read from the source: `{"chart": 17}` (Superset), `{"card": 42, "parameters": {…}}`
    /// (Metabase), `{"query": 7, "parameters": {…}, "max_age": 0}` (Redash), `{"path": "/…",
    /// "method", "params", "body", "format"}` (http).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub query: Option<serde_json::Value>,
    /// JSON Pointer to the rows array; empty or absent means the whole document.
    #[serde(default)]
    pub rows: String,
    /// How the chart shows: `auto` (default: `kpi` for one row with one number, `bar` for a label
    /// and numbers, `table` otherwise), `kpi`, `table`, `bar`, `line` or `count`.
    #[serde(default = "default_display")]
    #[schema(example = "auto")]
    pub display: String,
    #[serde(default, skip_serializing_if = "FieldsBody::is_empty")]
    pub fields: FieldsBody,
    /// How many rows a table or bar chart shows (1–50, default 10).
    #[serde(default = "default_max_rows")]
    pub max_rows: u32,
}

fn default_display() -> String {
    "auto".into()
}

fn default_max_rows() -> u32 {
    MaxRows::DEFAULT.get() as u32
}

/// Keys of the row objects a chart shows.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldsBody {
    /// The category (bars, table rows) or x (lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "region")]
    pub label: Option<String>,
    /// One or more numeric series (at most 6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// A KPI's previous value, shown as its change (▲/▼ with a percentage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<String>,
    /// How a field's numbers read, by key: `{"gmv": {"style": "currency", "currency": "CNY"},
    /// "rate": {"style": "percent", "decimals": 1}, "cost": {"unit": "ms"}}` (at most 20).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub formats: std::collections::BTreeMap<String, FormatBody>,
    /// A table's cell colours by key: `{"rate": [{"op": "<", "value": 0.05, "color": "red"}]}`,
    /// the first rule met wins (at most 20 keys, 5 rules each).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub thresholds: std::collections::BTreeMap<String, Vec<CellRuleBody>>,
}

/// A cell colour rule: its number compared with `value` (`<`, `<=`, `>`, `>=`, `==`, `!=`), and
/// the colour it takes: `red`, `orange`, `green` or `grey`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CellRuleBody {
    #[schema(example = "<")]
    pub op: String,
    #[schema(example = 0.05)]
    pub value: f64,
    #[schema(example = "red")]
    pub color: String,
}

impl CellRuleBody {
    fn parse(&self) -> Result<CellRule, FieldError> {
        Ok(CellRule {
            op: at("op", Comparison::parse(&self.op))?,
            value: at("value", Threshold::try_from(self.value))?,
            color: at("color", CellColor::parse(&self.color))?,
        })
    }

    fn view(rule: &CellRule) -> Self {
        Self {
            op: rule.op.as_str().to_owned(),
            value: rule.value.get(),
            color: rule.color.as_str().to_owned(),
        }
    }
}

/// How one field's numbers read in figures, tables, axes and tiles.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatBody {
    /// `number` (default), `percent` (0.0734 → 7.3%) or `currency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// Decimals shown (0-6); default: percent 1, currency 2 (JPY 0), numbers as they read best;
    /// 万/亿 (K/M/B) figures keep them too when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u8>,
    /// For `currency`: CNY, USD, EUR, HKD, JPY or GBP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Written after the number ("ms" → "120 ms", "元" → "120元"), at most 16 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl FormatBody {
    fn parse(&self) -> Result<NumberFormat, FieldError> {
        let style = match &self.style {
            Some(style) => at("style", NumberStyle::parse(style))?,
            None => NumberStyle::default(),
        };
        let currency = optional("currency", &self.currency, |c| Currency::parse(&c))?;
        NumberFormat::new(style, self.decimals, currency, self.unit.clone())
            .map_err(|(field, message)| FieldError::new(field, message))
    }

    fn view(format: &NumberFormat) -> Self {
        Self {
            style: Some(
                match format.style {
                    NumberStyle::Number => "number",
                    NumberStyle::Percent => "percent",
                    NumberStyle::Currency => "currency",
                }
                .to_owned(),
            ),
            decimals: format.decimals,
            currency: format.currency.map(|c| c.code().to_owned()),
            unit: format.unit.clone(),
        }
    }
}

impl FieldsBody {
    fn is_empty(&self) -> bool {
        self.label.is_none()
            && self.values.is_empty()
            && self.compare.is_none()
            && self.formats.is_empty()
            && self.thresholds.is_empty()
    }

    fn parse(&self) -> Result<ChartFields, FieldError> {
        if self.formats.len() > MAX_FORMATS {
            return Err(FieldError::new(
                "formats",
                format!(
                    "may give at most {MAX_FORMATS} formats (got {})",
                    self.formats.len()
                ),
            ));
        }
        let mut formats = std::collections::BTreeMap::new();
        for (key, format) in &self.formats {
            let field = format!("formats.{key}");
            let key = at(&field, FieldKey::parse(key.clone()))?;
            formats.insert(key, within(&field, format.parse())?);
        }
        if self.thresholds.len() > MAX_FORMATS {
            return Err(FieldError::new(
                "thresholds",
                format!(
                    "may colour at most {MAX_FORMATS} fields (got {})",
                    self.thresholds.len()
                ),
            ));
        }
        let mut thresholds = std::collections::BTreeMap::new();
        for (key, rules) in &self.thresholds {
            let field = format!("thresholds.{key}");
            let key = at(&field, FieldKey::parse(key.clone()))?;
            if rules.is_empty() || rules.len() > MAX_CELL_RULES {
                return Err(FieldError::new(
                    field,
                    format!(
                        "must hold 1 to {MAX_CELL_RULES} rules (got {})",
                        rules.len()
                    ),
                ));
            }
            let rules = rules
                .iter()
                .enumerate()
                .map(|(i, rule)| within(&format!("{field}[{i}]"), rule.parse()))
                .collect::<Result<Vec<_>, _>>()?;
            thresholds.insert(key, rules);
        }
        if self.values.len() > MAX_VALUE_FIELDS {
            return Err(FieldError::new(
                "values",
                format!(
                    "may name at most {MAX_VALUE_FIELDS} keys (got {})",
                    self.values.len()
                ),
            ));
        }
        let values = self
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| at(&format!("values[{i}]"), FieldKey::parse(v.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ChartFields {
            label: optional("label", &self.label, FieldKey::parse)?,
            values,
            compare: optional("compare", &self.compare, FieldKey::parse)?,
            formats,
            thresholds,
        })
    }

    pub(super) fn view(fields: &ChartFields) -> Self {
        Self {
            label: fields.label.as_ref().map(ToString::to_string),
            values: fields.values.iter().map(ToString::to_string).collect(),
            compare: fields.compare.as_ref().map(ToString::to_string),
            formats: fields
                .formats
                .iter()
                .map(|(key, format)| (key.to_string(), FormatBody::view(format)))
                .collect(),
            thresholds: fields
                .thresholds
                .iter()
                .map(|(key, rules)| {
                    (
                        key.to_string(),
                        rules.iter().map(CellRuleBody::view).collect(),
                    )
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beginning: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending: Option<String>,
    #[serde(default = "default_true")]
    pub share_link: bool,
    /// Whether WeCom, Feishu cards and posts, and HTML mail carry the page snapshot (default true).
    #[serde(default = "default_true")]
    pub snapshot: bool,
    /// `zh` or `en`: the message's own words and number style (万/亿 or K/M/B). Absent: Chinese
    /// when the page title has Chinese characters, else English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<super::attachments::AttachmentsBody>,
}

impl Default for ContentBody {
    fn default() -> Self {
        Self {
            beginning: None,
            ending: None,
            share_link: true,
            snapshot: true,
            language: None,
            attachments: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionControlBody {
    #[serde(default)]
    pub empty: ExceptionRuleBody,
    #[serde(default)]
    pub access_error: ExceptionRuleBody,
}

/// Within `range` (`fully`: every chart; `partially`: some charts), `pause` the push and/or `alarm`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRuleBody {
    #[serde(default)]
    pub range: Vec<String>,
    #[serde(default)]
    pub pause: bool,
    #[serde(default)]
    pub alarm: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmRobotBody {
    /// The robot's key or full webhook URL. Write-only: reads show `"set"`; sending `"set"` keeps it.
    pub webhook_key: String,
}

/// What parsing a task body gives: the spec, and whether the stored robot key is to be kept.
pub struct ParsedTask {
    pub spec: TaskSpec,
    pub keep_alarm_robot: bool,
    /// Groups sent back with `"set"`: (their place in the list, their name).
    pub kept_groups: KeptGroups,
}

impl TaskBody {
    /// Parses the body into a task spec; `today` gives the default start date in a time zone.
    pub fn parse(
        &self,
        today: impl Fn(chrono_tz::Tz) -> NaiveDate,
    ) -> Result<ParsedTask, FieldError> {
        let page = within("page", self.page.parse())?;
        let (recipients, kept_groups) = within("recipients", self.recipients.parse())?;
        let owner = within("owner", self.owner.parse())?;
        let content = within("content", self.content.parse())?;
        let exception_control = within("exception_control", self.exception_control.parse())?;
        check_variables(&page, &content)?;
        if let Some(attachments) = &content.attachments {
            super::attachments::check_charts(&page, attachments)?;
        }
        let (alarm_robot, keep_alarm_robot) = match &self.alarm_robot {
            None => (None, false),
            Some(robot) if robot.webhook_key == SECRET_SET => (None, true),
            Some(robot) => {
                let key = at(
                    "alarm_robot.webhook_key",
                    RobotKey::from_key_or_url(&robot.webhook_key),
                )?;
                (Some(RobotWebhook::Key { webhook_key: key }), false)
            }
        };
        let spec = TaskSpec {
            name: at("name", TaskName::parse(self.name.clone()))?,
            page,
            channel: at("channel", Channel::parse(&self.channel))?,
            template: at("template", Template::parse(&self.template))?,
            recipients,
            owner,
            schedule: within("schedule", self.schedule.parse(today))?,
            content,
            exception_control,
            alarm_robot,
            failure_limit: at("failure_limit", FailureLimit::parse(self.failure_limit))?,
            conditions: self
                .conditions
                .as_ref()
                .map(|c| within("conditions", c.parse()))
                .transpose()?,
        };
        Ok(ParsedTask {
            spec,
            keep_alarm_robot,
            kept_groups,
        })
    }
}

/// The message variables of the title, beginning and ending name only dates and the page's charts.
fn check_variables(page: &Page, content: &Content) -> Result<(), FieldError> {
    let names: Vec<&str> = page.charts.iter().map(|c| c.name.as_str()).collect();
    let texts = [
        ("page.title", Some(page.title.as_str())),
        (
            "content.beginning",
            content.beginning.as_ref().map(|t| t.as_str()),
        ),
        (
            "content.ending",
            content.ending.as_ref().map(|t| t.as_str()),
        ),
    ];
    for (field, text) in texts {
        if let Some(text) = text {
            at(field, variables::check(text, names.iter().copied()))?;
        }
    }
    Ok(())
}

impl ContentBody {
    fn parse(&self) -> Result<Content, FieldError> {
        Ok(Content {
            beginning: optional("beginning", &self.beginning, MessageText::parse)?,
            ending: optional("ending", &self.ending, MessageText::parse)?,
            share_link: self.share_link,
            snapshot: self.snapshot,
            language: optional("language", &self.language, |v: String| Language::parse(&v))?,
            attachments: match &self.attachments {
                Some(body) => Some(within("attachments", body.parse())?),
                None => None,
            },
        })
    }
}

impl ExceptionControlBody {
    fn parse(&self) -> Result<ExceptionControl, FieldError> {
        Ok(ExceptionControl {
            empty: within("empty", self.empty.parse())?,
            access_error: within("access_error", self.access_error.parse())?,
        })
    }
}

impl ChartBody {
    /// Where the chart's data is: `data_url`, or `source` with `query`.
    fn origin(&self) -> Result<ChartOrigin, FieldError> {
        match (&self.data_url, &self.source, &self.query) {
            (Some(url), None, None) => {
                let data_url = at("data_url", HttpUrl::parse(url.clone()))?;
                at("data_url", parameters::check(url))?;
                Ok(ChartOrigin::Url { data_url })
            }
            (None, Some(source), Some(query)) => Ok(ChartOrigin::Source {
                source: at("source", SourceName::parse(source.clone()))?,
                query: at("query", SourceQuery::parse(query))?,
            }),
            (None, Some(_), None) => Err(FieldError::new(
                "query",
                "is required with a source: what to read from it",
            )),
            (None, None, Some(_)) => Err(FieldError::new(
                "source",
                "is required with a query: the source to read it from",
            )),
            (None, None, None) => Err(FieldError::new(
                "data_url",
                "is required, or a source and a query",
            )),
            (Some(_), _, _) => Err(FieldError::new(
                "data_url",
                "give either data_url or a source and a query, not both",
            )),
        }
    }

    fn parse(&self) -> Result<Chart, FieldError> {
        Ok(Chart {
            name: at("name", ChartName::parse(self.name.clone()))?,
            origin: self.origin()?,
            rows: at("rows", RowsPointer::parse(self.rows.clone()))?,
            display: at("display", Display::parse(&self.display))?,
            fields: within("fields", self.fields.parse())?,
            max_rows: at("max_rows", MaxRows::parse(self.max_rows))?,
        })
    }
}

impl PageBody {
    fn parse(&self) -> Result<Page, FieldError> {
        if self.charts.len() > MAX_CHARTS {
            return Err(FieldError::new(
                "charts",
                format!(
                    "a page may hold at most {MAX_CHARTS} charts (got {})",
                    self.charts.len()
                ),
            ));
        }
        let charts = self
            .charts
            .iter()
            .enumerate()
            .map(|(i, chart)| within(&format!("charts[{i}]"), chart.parse()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            title: at("title", PageTitle::parse(self.title.clone()))?,
            share_url: at("share_url", HttpUrl::parse(self.share_url.clone()))?,
            charts,
        })
    }
}

impl ExceptionRuleBody {
    fn parse(&self) -> Result<ExceptionRule, FieldError> {
        let mut range = Vec::new();
        for (i, raw) in self.range.iter().enumerate() {
            let item = at(&format!("range[{i}]"), Range::parse(raw))?;
            if !range.contains(&item) {
                range.push(item);
            }
        }
        range.sort();
        if (self.pause || self.alarm) && range.is_empty() {
            return Err(FieldError::new(
                "range",
                "must name fully and/or partially when pause or alarm is ticked",
            ));
        }
        Ok(ExceptionRule {
            range,
            pause: self.pause,
            alarm: self.alarm,
        })
    }
}

/// `{"confirm": true}` for actions that change what people receive.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    #[serde(default)]
    pub confirm: bool,
}
