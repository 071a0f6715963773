//! Apprise's side: `scripts/bench_apprise.py` run against the same fakes while they are up, plus
//! what the fakes recorded of its calls (the answers Apprise got, whatever it reported).
use crate::setup::{self, Fakes, Knobs};
use herald_fakes::Endpoint;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct AppriseResult {
    pub ran: bool,
    pub error: Option<String>,
    /// What the driver measured and what Apprise reported (see scripts/bench_apprise.py).
    pub driver: Value,
    /// What the fakes saw of Apprise's calls: endpoint → answer code → count.
    pub wecom_calls: BTreeMap<String, BTreeMap<String, u64>>,
    pub wecom_users_delivered: usize,
    pub smtp_received: usize,
    pub smtp_connections: u64,
    pub feishu_calls_recorded: usize,
}

pub async fn run(knobs: &Knobs, fakes: &Fakes) -> AppriseResult {
    fakes.wecom.reset_records();
    fakes.feishu.reset_records();
    fakes.smtp.reset_records();
    let out = knobs.out_dir.join("apprise.json");
    let _ = std::fs::create_dir_all(&knobs.out_dir);
    let _ = std::fs::remove_file(&out);
    let args: Vec<String> = vec![
        "scripts/bench_apprise.py".into(),
        "--out".into(),
        out.display().to_string(),
        "--wecom-url".into(),
        fakes.wecom_url.clone(),
        "--corp-id".into(),
        setup::CORP_ID.into(),
        "--corp-secret".into(),
        setup::CORP_SECRET.into(),
        "--agent-id".into(),
        setup::AGENT_ID.to_string(),
        "--users".into(),
        knobs.users.to_string(),
        "--robot-key".into(),
        setup::ROBOT_KEY_APPRISE.into(),
        "--robot-key-throttled".into(),
        setup::ROBOT_KEY_APPRISE_SLOW.into(),
        "--robot-messages".into(),
        "25".into(),
        "--feishu-url".into(),
        fakes.feishu_url.clone(),
        "--feishu-messages".into(),
        knobs.feishu_messages.to_string(),
        "--smtp-host".into(),
        fakes.smtp_addr.ip().to_string(),
        "--smtp-port".into(),
        fakes.smtp_addr.port().to_string(),
        "--smtp-user".into(),
        setup::SMTP_USER.into(),
        "--smtp-password".into(),
        setup::SMTP_PASSWORD.into(),
        "--mails".into(),
        knobs.mails.to_string(),
        "--mail-sample".into(),
        knobs.apprise_mail_sample.to_string(),
        "--throttled-sample".into(),
        knobs.apprise_throttled_sample.to_string(),
    ];
    let status = tokio::process::Command::new(&knobs.python)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .status()
        .await;
    let mut result = AppriseResult {
        ran: false,
        error: None,
        driver: Value::Null,
        wecom_calls: BTreeMap::new(),
        wecom_users_delivered: 0,
        smtp_received: fakes.smtp.messages().len(),
        smtp_connections: fakes.smtp.connections(),
        feishu_calls_recorded: fakes.feishu.calls().len(),
    };
    for call in fakes.wecom.calls() {
        let code = call
            .code
            .map_or_else(|| "http-fault".to_owned(), |c| c.to_string());
        *result
            .wecom_calls
            .entry(call.endpoint.as_str().to_owned())
            .or_default()
            .entry(code)
            .or_default() += 1;
    }
    result.wecom_users_delivered = fakes
        .wecom
        .delivered()
        .iter()
        .filter(|m| m.endpoint == Endpoint::WecomSend)
        .map(|m| m.recipients.len() - m.invalid_users.len())
        .sum();
    match status {
        Ok(s) if s.success() => match std::fs::read_to_string(&out)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(v) => {
                result.ran = true;
                result.driver = v;
            }
            Err(e) => result.error = Some(format!("driver output unreadable: {e}")),
        },
        Ok(s) => result.error = Some(format!("driver exited with {s}")),
        Err(e) => result.error = Some(format!("could not run {}: {e}", knobs.python)),
    }
    result
}
