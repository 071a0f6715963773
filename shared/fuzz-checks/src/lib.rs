//! What each fuzz target checks, for any input bytes: the parser answers (a value or an error),
//! never panics, and what it answers holds together. `fuzz/fuzz_targets/*` call these under
//! libFuzzer (`make soak`); `tests/saved_inputs.rs` runs them on every input kept in
//! `fuzz/seeds/` and `fuzz/regressions/` (`make test`).
use chrono::{DateTime, Duration, NaiveDate, Timelike};
use herald_core::domain::schedule::{CronExpr, Recurrence, Schedule};
use herald_core::ports::SendFailure;
use hmac::{KeyInit, Mac};

/// What a target checks of one input; it panics when something does not hold.
pub type Check = fn(&[u8]);

/// The targets by name, as `cargo fuzz` and the saved inputs' folders call them.
pub const TARGETS: [(&str, Check); 6] = [
    ("task_body", task_body),
    ("schedule", schedule),
    ("chart_rows", chart_rows),
    ("webhook_signature", webhook_signature),
    ("sqle_payload", sqle_payload),
    ("provider_answers", provider_answers),
];

fn today(_: chrono_tz::Tz) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default()
}

/// A task body as the API takes it: JSON, then the domain's parser.
pub fn task_body(data: &[u8]) {
    if let Ok(body) = serde_json::from_slice::<herald_api::dto::tasks::TaskBody>(data) {
        let _ = body.parse(today);
    }
}

/// The first two lines: a cron expression (or a schedule body as JSON) and a time zone; the rest
/// picks `now`. The next run is after now, on a whole minute, and the run after it later still.
pub fn schedule(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines();
    let expression = lines.next().unwrap_or_default();
    let zone = lines
        .next()
        .and_then(|z| z.trim().parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::Asia::Shanghai);
    let seconds = data.iter().fold(0i64, |acc, b| {
        (acc.wrapping_mul(31) + i64::from(*b)).rem_euclid(10 * 366 * 86_400)
    });
    let now = DateTime::from_timestamp(1_764_547_200 + seconds, 0).unwrap_or_default();
    let schedule = match serde_json::from_str::<herald_api::dto::schedule::ScheduleBody>(expression)
    {
        Ok(body) => body.parse(today).ok(),
        Err(_) => CronExpr::parse(expression)
            .ok()
            .and_then(|cron| Schedule::new(Recurrence::Cron(cron), zone, today(zone)).ok()),
    };
    let Some(schedule) = schedule else {
        return;
    };
    let _ = schedule.expression();
    if let Some(next) = schedule.next_run_after(now) {
        assert!(next > now, "{} after {now}: {next}", schedule.expression());
        assert_eq!(next.second(), 0, "{}", schedule.expression());
        assert!(next >= schedule.start_instant());
        assert_eq!(
            schedule.next_run_after(next - Duration::seconds(1)),
            Some(next),
            "{}: the run just before {next} is {next}",
            schedule.expression()
        );
        if let Some(after) = schedule.next_run_after(next) {
            assert!(after > next);
        }
    }
}

/// The first line: a JSON Pointer; the rest: a chart's data. What the reader finds, counting
/// finds too (counting skips what it does not keep without decoding it, so a key that is not
/// UTF-8 fails only the reader: fuzz/regressions/chart_rows/crash-55dc…).
pub fn chart_rows(data: &[u8]) {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let pointer = String::from_utf8_lossy(&data[..split]);
    let json = data.get(split + 1..).unwrap_or_default();
    let selection = herald_core::domain::report::RowSelection {
        head: 10,
        keys: None,
        series: data.len().is_multiple_of(2),
        whole: 20,
    };
    use herald_charts::Found;
    let Ok(read) = herald_charts::read_rows(json, &pointer, &selection) else {
        return;
    };
    let counted = herald_charts::count_rows(json, &pointer);
    match (read, counted) {
        (Found::Array(rows), Ok(Found::Array(total))) => {
            assert_eq!(rows.total, total);
            assert!(rows.head.len() <= selection.head.min(rows.total));
            assert!(rows.sample.len() <= rows.total);
        }
        (Found::NotArray, Ok(Found::NotArray)) | (Found::Missing, Ok(Found::Missing)) => {}
        (read, counted) => panic!(
            "the reader found {:?}, counting {:?}",
            matches!(read, Found::Array(_)),
            counted.map(|f| matches!(f, Found::Array(_)))
        ),
    }
}

/// Four NUL-separated parts: timestamp, signature header, secret, body. A garbled header is
/// refused; a signature made with the secret is accepted, and one bit off refused.
pub fn webhook_signature(data: &[u8]) {
    use herald_core::domain::signature::SignedRequest;
    let mut parts = data.splitn(4, |b| *b == 0);
    let timestamp = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let header = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let secret = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    if let Ok(signed) = SignedRequest::parse(Some(&timestamp), Some(&header)) {
        let _ = signed.is_signed_by(secret, body);
    }
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return;
    };
    let digits: String = timestamp
        .chars()
        .filter(char::is_ascii_digit)
        .take(12)
        .collect();
    let digits = if digits.is_empty() {
        "0".to_owned()
    } else {
        digits
    };
    mac.update(digits.as_bytes());
    mac.update(b".");
    mac.update(body);
    let mut signature = mac.finalize().into_bytes().to_vec();
    let good = format!("sha256={}", hex::encode(&signature));
    let signed = SignedRequest::parse(Some(&digits), Some(&good)).expect("a well-formed header");
    assert!(signed.is_signed_by(secret, body));
    signature[data.len() % 32] ^= 1 << (data.len() % 8);
    let bad = format!("sha256={}", hex::encode(&signature));
    let signed = SignedRequest::parse(Some(&digits), Some(&bad)).expect("a well-formed header");
    assert!(!signed.is_signed_by(secret, body));
}

/// What SQLE posts, and an SQLE source's settings.
pub fn sqle_payload(data: &[u8]) {
    if let Ok(body) = serde_json::from_slice::<herald_api::dto::sqle::SqleWebhookBody>(data) {
        let _ = body.parse();
    }
    if let Ok(body) = serde_json::from_slice::<herald_api::dto::sqle::SqleSourceBody>(data) {
        let _ = body.parse();
    }
}

/// The first two bytes: an HTTP status; then `name: value` header lines up to an empty line;
/// then the body. Every answer is judged; a wait asked for is at most an hour.
pub fn provider_answers(data: &[u8]) {
    let status = u16::from_be_bytes([
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(200),
    ]);
    let status =
        reqwest::StatusCode::from_u16(100 + status % 500).unwrap_or(reqwest::StatusCode::OK);
    let rest = data.get(2..).unwrap_or_default();
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (&[][..], rest),
    };
    let mut headers = reqwest::header::HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(line);
        if let Some((name, value)) = text.split_once(':')
            && let (Ok(name), Ok(value)) = (
                reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()),
                reqwest::header::HeaderValue::from_str(value.trim()),
            )
        {
            headers.append(name, value);
        }
    }
    for judged in [
        herald_providers::wecom::app::judge_send_answer(status, &headers, body),
        herald_providers::feishu::client::judge_send_answer(status, &headers, body),
    ] {
        if let Err(error) = judged {
            if let SendFailure::RateLimited { retry_after_ms }
            | SendFailure::HeldBack { retry_after_ms } = error.failure
            {
                assert!(retry_after_ms <= 3_600_000, "a wait of {retry_after_ms} ms");
            }
            let _ = error.to_string();
        }
    }
}
