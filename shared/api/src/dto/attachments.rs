//! A task's attachments (`content.attachments`) on the wire.
use super::{at, within};
use herald_core::FieldError;
use herald_core::domain::attachment::{
    AllCharts, AttachedCharts, AttachedRows, AttachmentFormat, Attachments,
};
use herald_core::domain::task::Page;
use herald_core::domain::text::ChartName;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The charts' rows as read (not only the rows shown), sent with the push: `xlsx` (one workbook,
/// a sheet per chart, numbers formatted as `fields.formats` say) or `csv` (a file per chart).
/// E-mail attaches them; WeCom and Feishu send each as a file message. Files over the channel's
/// limit (WeCom 20 MB and Feishu 30 MB a file, e-mail 6 MiB with its picture) are cut, with a note
/// in the workbook and the record.
/// DingTalk pushes carry none.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentsBody {
    #[schema(example = "xlsx")]
    pub format: String,
    /// `"all"`, or 1 to 20 chart names of the page.
    #[schema(schema_with = charts_schema, example = "all")]
    pub charts: serde_json::Value,
    /// Rows per chart, 1–20,000 (default 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u32>,
}

/// `"all"`, or a list of 1 to 20 chart names.
fn charts_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{
        ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
    };
    let text = || ObjectBuilder::new().schema_type(SchemaType::Type(Type::String));
    let one_of = OneOfBuilder::new()
        .item(text().enum_values(Some(["all"])))
        .item(
            ArrayBuilder::new()
                .items(
                    text()
                        .pattern(Some(crate::openapi::TEXT_PATTERN))
                        .min_length(Some(1))
                        .max_length(Some(100)),
                )
                .min_items(Some(1))
                .max_items(Some(20)),
        )
        .build();
    Schema::OneOf(one_of)
}

impl AttachmentsBody {
    pub(crate) fn parse(&self) -> Result<Attachments, FieldError> {
        let format = at("format", AttachmentFormat::parse(&self.format))?;
        let charts = match &self.charts {
            serde_json::Value::String(all) if all == "all" => AttachedCharts::All(AllCharts::All),
            serde_json::Value::Array(names) if !names.is_empty() && names.len() <= 20 => {
                let mut parsed = Vec::with_capacity(names.len());
                for (i, name) in names.iter().enumerate() {
                    let field = format!("charts[{i}]");
                    let name = name
                        .as_str()
                        .ok_or_else(|| FieldError::new(field.clone(), "must be a chart's name"))?;
                    parsed.push(at(&field, ChartName::parse(name.to_owned()))?);
                }
                AttachedCharts::Named(parsed)
            }
            _ => {
                return Err(FieldError::new(
                    "charts",
                    "must be \"all\" or a list of 1 to 20 chart names",
                ));
            }
        };
        let max_rows = match self.max_rows {
            Some(rows) => at("max_rows", AttachedRows::parse(rows))?,
            None => AttachedRows::DEFAULT,
        };
        Ok(Attachments {
            format,
            charts,
            max_rows,
        })
    }

    pub(crate) fn view(attachments: &Attachments) -> Self {
        Self {
            format: attachments.format.as_str().to_owned(),
            charts: match &attachments.charts {
                AttachedCharts::All(_) => serde_json::Value::from("all"),
                AttachedCharts::Named(names) => names.iter().map(|n| n.to_string()).collect(),
            },
            max_rows: Some(attachments.max_rows.get() as u32),
        }
    }
}

/// The charts an attachment names are on the page.
pub(crate) fn check_charts(page: &Page, attachments: &Attachments) -> Result<(), FieldError> {
    let AttachedCharts::Named(names) = &attachments.charts else {
        return Ok(());
    };
    for (i, name) in names.iter().enumerate() {
        if !page.charts.iter().any(|c| c.name == *name) {
            return within(
                "content.attachments",
                Err(FieldError::new(
                    format!("charts[{i}]"),
                    format!("names no chart of the page: '{name}'"),
                )),
            );
        }
    }
    Ok(())
}
