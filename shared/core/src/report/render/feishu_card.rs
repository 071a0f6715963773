//! The Feishu interactive card of a push, in page order: KPI tiles side by side (`column_set`),
//! tables as `table` components, other charts as markdown; the snapshot is put first by the
//! client once it has an image key (`img`, which does not count toward the 30 KB).
use super::escape::{markdown as md, text as plain};
use super::{Line, LineState, Push, Shape};
use serde_json::{Value, json};

/// What the client's `img` element adds to the request, at most.
pub(super) const IMAGE_ELEMENT_BYTES: usize = 256;
/// KPI tiles in one row.
const TILES_PER_ROW: usize = 3;

fn markdown(content: impl Into<String>) -> Value {
    json!({ "tag": "markdown", "content": content.into() })
}

fn tile(line: &Line) -> Value {
    let kpi = line.figure.kpi.as_ref();
    let value = md(kpi.map(|k| k.value.as_str()).unwrap_or(&line.detail));
    let mut content = format!("<font color='grey'>{}</font>\n**{value}**", md(&line.name));
    if let Some(k) = kpi.filter(|k| !k.change.is_empty()) {
        let color = match k.color {
            "#d83931" => "red",
            "#2ea121" => "green",
            _ => "grey",
        };
        content.push_str(&format!(
            "\n<font color='{color}'>{}</font> <font color='grey'>{}</font>",
            md(&k.change),
            md(&k.previous)
        ));
    }
    json!({
        "tag": "column",
        "width": "weighted",
        "weight": 1,
        "vertical_align": "top",
        "elements": [markdown(content)],
    })
}

fn tiles(row: &[&Line]) -> Value {
    json!({
        "tag": "column_set",
        "flex_mode": "none",
        "background_style": "grey",
        "horizontal_spacing": "default",
        "columns": row.iter().map(|l| tile(l)).collect::<Vec<_>>(),
    })
}

/// A table component with the first `cap` rows.
/// A cell colour as Feishu's option tags name it (they have no grey: `neutral`).
fn option_color(tone: Option<super::words::CellTone>) -> &'static str {
    match tone.map(|t| t.name) {
        Some("grey") | None => "neutral",
        Some(name) => name,
    }
}

fn table(line: &Line, cap: usize) -> Option<Value> {
    let table = line.figure.table.as_ref()?;
    // A column with coloured cells shows them as Feishu's coloured option tags.
    let coloured = |i: usize| {
        table
            .colors
            .iter()
            .any(|row| row.get(i).is_some_and(Option::is_some))
    };
    let rows: Vec<Value> = table
        .rows
        .iter()
        .enumerate()
        .take(cap)
        .map(|(r, row)| {
            let cells: serde_json::Map<String, Value> = row
                .iter()
                .enumerate()
                .map(|(i, cell)| {
                    let value = if coloured(i) {
                        let tone = table
                            .colors
                            .get(r)
                            .and_then(|row| row.get(i))
                            .copied()
                            .flatten();
                        json!([{"text": plain(cell), "color": option_color(tone)}])
                    } else {
                        Value::String(plain(cell))
                    };
                    (format!("c{i}"), value)
                })
                .collect();
            Value::Object(cells)
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let columns: Vec<Value> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "name": format!("c{i}"),
                "display_name": plain(&c.name),
                "data_type": if coloured(i) { "options" } else { "text" },
                "horizontal_align": if c.numeric { "right" } else { "left" },
                "width": "auto",
            })
        })
        .collect();
    Some(json!({
        "tag": "table",
        "page_size": rows.len().clamp(1, 10),
        "row_height": "low",
        "header_style": { "text_align": "left", "bold": true, "background_style": "grey", "lines": 1 },
        "columns": columns,
        "rows": rows,
    }))
}

fn chart_markdown(line: &Line, cap: usize, with_rows: bool) -> String {
    let detail = md(&line.detail);
    let detail = match line.state {
        LineState::Ok => detail,
        LineState::Empty => format!("<font color='orange'>{detail}</font>"),
        LineState::Unreadable => format!("<font color='red'>{detail}</font>"),
    };
    let mut out = format!("**{}** {detail}", md(&line.name));
    if with_rows {
        for row in line.figure.rows.iter().take(cap) {
            out.push_str(&format!("\n- {}", md(row)));
        }
    }
    out
}

/// The card for `shape`.
pub(super) fn card(push: &Push, shape: &Shape) -> Value {
    let words = push.words;
    let mut elements = vec![markdown(format!(
        "<font color='grey'>{}</font>",
        md(&push.at)
    ))];
    if let Some(beginning) = &shape.beginning {
        elements.push(markdown(md(beginning)));
    }
    if let Some(summary) = shape.summary {
        elements.push(markdown(format!("**{}**", md(summary))));
    }
    let mut pending: Vec<&Line> = Vec::new();
    let flush = |pending: &mut Vec<&Line>, elements: &mut Vec<Value>| {
        for row in pending.chunks(TILES_PER_ROW) {
            elements.push(tiles(row));
        }
        pending.clear();
    };
    for line in &shape.lines {
        if line.state == LineState::Ok && line.figure.kind == "kpi" {
            pending.push(line);
            continue;
        }
        flush(&mut pending, &mut elements);
        let table = (line.state == LineState::Ok && line.figure.kind == "table")
            .then(|| table(line, shape.row_cap))
            .flatten();
        elements.push(markdown(chart_markdown(
            line,
            shape.row_cap,
            table.is_none(),
        )));
        if let Some(table) = table {
            elements.push(table);
        }
        let shown = line.figure.rows.len().min(shape.row_cap);
        let hidden = line.figure.total_rows.saturating_sub(shown);
        if shown > 0 && hidden > 0 && matches!(line.figure.kind, "table" | "bar" | "funnel") {
            elements.push(markdown(format!(
                "<font color='grey'>{}</font>",
                md(&words.more_rows(hidden))
            )));
        }
    }
    flush(&mut pending, &mut elements);
    if let Some(more) = shape.more_text() {
        elements.push(markdown(format!("<font color='grey'>{}</font>", md(&more))));
    }
    if let Some(ending) = &shape.ending {
        elements.push(markdown(md(ending)));
    }
    elements.push(markdown(format!(
        "<font color='grey'>Herald · {}</font>",
        md(&super::one_line(push.view.task_name))
    )));
    if let Some(url) = push.view.share_url {
        elements.push(json!({
            "tag": "action",
            "actions": [{
                "tag": "button",
                "text": { "tag": "plain_text", "content": words.view_report() },
                "type": "primary",
                "url": url,
            }],
        }));
    }
    json!({
        "config": { "wide_screen_mode": true },
        "header": {
            "title": { "tag": "plain_text", "content": super::escape::defang(&push.title) },
            "template": push.card_color(),
        },
        "elements": elements,
    })
}
