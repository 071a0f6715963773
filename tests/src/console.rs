//! A browser's side of the console, in process: requests with the session cookie the console set,
//! forms posted with the page's CSRF token. (The real browser drives it in `console_browser.rs`.)
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// One page as the browser got it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    /// Where a redirect leads.
    pub location: Option<String>,
    pub set_cookie: Vec<String>,
    pub headers: axum::http::HeaderMap,
    pub html: String,
}

impl Page {
    /// The CSRF token the page's forms carry.
    pub fn csrf(&self) -> String {
        let marker = "name=\"_csrf\" value=\"";
        let start = self.html.find(marker).expect("the page has a form") + marker.len();
        let end = self.html[start..].find('"').expect("token ends");
        self.html[start..start + end].to_owned()
    }
}

/// A browser with a cookie jar of one cookie (the session) and a language.
pub struct ConsoleClient {
    router: herald_api::Router,
    pub session: Option<String>,
    pub accept_language: &'static str,
    pub headers: Vec<(&'static str, String)>,
}

impl ConsoleClient {
    pub fn new(router: &herald_api::Router) -> Self {
        Self {
            router: router.clone(),
            session: None,
            accept_language: "en-US,en;q=0.9",
            headers: Vec::new(),
        }
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<String>) -> Page {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "herald.test")
            .header(header::ACCEPT_LANGUAGE, self.accept_language);
        if let Some(session) = &self.session {
            request = request.header(header::COOKIE, format!("herald_session={session}"));
        }
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        if form.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let request = request
            .body(form.map(Body::from).unwrap_or_default())
            .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookie: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for cookie in &set_cookie {
            if let Some(value) = cookie
                .strip_prefix("herald_session=")
                .and_then(|rest| rest.split(';').next())
            {
                self.session = (!value.is_empty()).then(|| value.to_owned());
            }
        }
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Page {
            status,
            location,
            set_cookie,
            headers,
            html: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    /// Posts `fields` urlencoded, as a form does.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(Method::POST, path, Some(body)).await
    }

    /// Signs in with `key`; panics unless the console opened a session.
    pub async fn sign_in(&mut self, key: &str) -> Page {
        let page = self
            .post("/ui/sign-in", &[("key", key), ("next", "/ui")])
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
        assert!(self.session.is_some(), "a session cookie was set");
        page
    }
}
