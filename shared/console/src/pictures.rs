//! Pictures as the console shows them: the API's picture URLs (`/v1/projects/{p}/…`) become the
//! console's (`/ui/projects/{p}/files/…`, read with the session), and a mail's `cid:` references
//! point at them, so the message shows as it was sent.
use serde_json::Value;

fn console_url(project: &str, api_url: &str) -> String {
    let prefix = format!("/v1/projects/{project}/");
    match api_url.strip_prefix(&prefix) {
        Some(rest) => format!("/ui/projects/{}/files/{rest}", crate::pages::seg(project)),
        None => api_url.to_owned(),
    }
}

/// Adds `console_url` to each of `images` and rewrites `cid:{name}` in the mail `html` of each
/// message body given.
pub(crate) fn show(project: &str, images: &mut Value, bodies: Vec<&mut Value>) {
    let mut names = Vec::new();
    for image in images.as_array_mut().into_iter().flatten() {
        let url = console_url(project, image["url"].as_str().unwrap_or_default());
        names.push((
            image["name"].as_str().unwrap_or_default().to_owned(),
            url.clone(),
        ));
        image["console_url"] = Value::String(url);
    }
    for body in bodies {
        if let Some(html) = body["html"].as_str() {
            let mut html = html.to_owned();
            for (name, url) in &names {
                html = html.replace(&format!("cid:{name}"), url);
            }
            body["html"] = Value::String(html);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn picture_urls_and_cid_references_point_at_the_console() {
        let mut images =
            json!([{"name": "snapshot", "url": "/v1/projects/sales/records/r1/snapshot.png"}]);
        let mut body = json!({"html": "<img src=\"cid:snapshot\">"});
        show("sales", &mut images, vec![&mut body]);
        assert_eq!(
            images[0]["console_url"],
            "/ui/projects/sales/files/records/r1/snapshot.png"
        );
        assert_eq!(
            body["html"],
            "<img src=\"/ui/projects/sales/files/records/r1/snapshot.png\">"
        );
    }
}
