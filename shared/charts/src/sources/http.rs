//! An `http` source: a team's own API. A path under the source's address, GET or POST with a JSON
//! body, signed with a bearer token, a header, basic authentication or a query parameter; the
//! answer is JSON or CSV.
use super::{Answer, address, source_words};
use crate::access::AccessError;
use herald_core::domain::source::{DataFormat, HttpMethod, HttpQuery, SourceAuth};
use herald_core::ports::SourceAccess;
use secrecy::ExposeSecret;

pub(super) async fn ask(
    client: &reqwest::Client,
    access: &SourceAccess,
    query: &HttpQuery,
) -> Result<Answer, AccessError> {
    let source = &access.source;
    let mut url = address(source, &query.path)?;
    {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in &query.params {
            pairs.append_pair(name, value);
        }
    }
    let secret = || {
        access
            .secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .ok_or_else(|| AccessError::Source("the source's secret is not set".into()))
    };
    if let SourceAuth::Query { name } = &source.auth {
        url.query_pairs_mut().append_pair(name, &secret()?);
    }
    // No empty `?` left behind when there are no parameters.
    if url.query() == Some("") {
        url.set_query(None);
    }
    let mut request = match query.method {
        HttpMethod::Get => client.get(url),
        HttpMethod::Post => client.post(url),
    };
    request = request.header(
        reqwest::header::ACCEPT,
        match query.format {
            DataFormat::Json => "application/json",
            DataFormat::Csv => "text/csv",
        },
    );
    if let Some(body) = &query.body {
        request = request.json(body);
    }
    request = match &source.auth {
        SourceAuth::None | SourceAuth::Query { .. } => request,
        SourceAuth::Bearer => request.bearer_auth(secret()?),
        SourceAuth::Header { name } => request.header(name.as_str(), secret()?),
        SourceAuth::Basic { username } => request.basic_auth(username, Some(secret()?)),
        other => {
            return Err(AccessError::Source(format!(
                "an http source cannot sign in with {}",
                other.type_name()
            )));
        }
    };
    let response = request.send().await?;
    let status = response.status();
    if !status.is_success() {
        let words = source_words(response).await;
        return Err(AccessError::Source(if words.is_empty() {
            format!("HTTP {}", status.as_u16())
        } else {
            format!("HTTP {} {words}", status.as_u16())
        }));
    }
    Ok(Answer {
        response,
        default_rows: "",
        shape: match query.format {
            DataFormat::Json => super::Shape::Json,
            DataFormat::Csv => super::Shape::Csv,
        },
    })
}
