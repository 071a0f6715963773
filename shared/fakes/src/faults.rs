//! Fault switches: what to break, on which endpoint, and when (always, the next N calls, or with a
//! probability drawn from a seeded RNG so a test sees the same sequence every run).
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::sync::Mutex;
use std::time::Duration;

use crate::lock;
use crate::record::{Endpoint, Recorder};
use crate::reply::Reply;
use axum::response::Response;
use chrono::{DateTime, Utc};

/// Seed used until a test calls `seed_faults`.
pub const DEFAULT_FAULT_SEED: u64 = 0x4845_5241_4c44; // "HERALD"

/// One way to misbehave.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "fault")]
pub enum Fault {
    /// Answer with this HTTP status (e.g. 502) and a plain-text body.
    Http { status: u16 },
    /// Wait this long, then answer normally (other faults may still apply).
    Delay { delay: Duration },
    /// WeCom `-1 system busy` (HTTP 200). Ignored by Feishu.
    SystemBusy,
    /// Token rejected as expired even when current: WeCom 42001, Feishu 99991663.
    TokenExpired,
    /// Token rejected as invalid even when current: WeCom 40014, Feishu 99991663.
    TokenInvalid,
    /// WeCom 45009 `api freq out of limit`; Feishu HTTP 429, code 99991400 and
    /// `x-ogw-ratelimit-reset: reset_secs`.
    RateLimited { reset_secs: u64 },
    /// WeCom 60020 `not allow to access from your ip` (gettoken and message/send). Ignored by Feishu.
    UntrustedIp,
    /// HTTP 200 with `{}`: no errcode / code, as a proxy or a captive portal answers.
    EmptyAnswer,
    /// The request is refused as invalid: WeCom 40058, Feishu HTTP 400 99992402 with
    /// `field_violations`.
    FieldValidation,
    /// The call is handled as usual (a message goes out, a token is issued), then the connection
    /// is cut before the answer arrives: the caller cannot tell whether it went out, and a resend
    /// must not reach anyone twice.
    Reset,
}

impl Fault {
    /// Whether this fault means anything on `endpoint` (a fault that does not apply is not consumed).
    pub fn applies_to(&self, endpoint: Endpoint) -> bool {
        use Endpoint::*;
        match self {
            Fault::Http { .. } | Fault::Delay { .. } | Fault::EmptyAnswer | Fault::Reset => true,
            Fault::FieldValidation => {
                !matches!(endpoint, FeishuToken | WecomGettoken | DingtalkGettoken)
            }
            Fault::SystemBusy => {
                matches!(
                    endpoint,
                    WecomGettoken
                        | WecomSend
                        | WecomRobot
                        | WecomUpload
                        | DingtalkGettoken
                        | DingtalkSend
                        | DingtalkUpload
                        | DingtalkRobot
                )
            }
            Fault::TokenExpired | Fault::TokenInvalid => matches!(
                endpoint,
                WecomSend
                    | WecomUpload
                    | FeishuBatchGetId
                    | FeishuSend
                    | FeishuUpload
                    | DingtalkSend
                    | DingtalkUpload
                    | DingtalkSendResult
            ),
            Fault::RateLimited { .. } => !matches!(endpoint, FeishuToken | DingtalkRobot),
            Fault::UntrustedIp => matches!(
                endpoint,
                WecomGettoken | WecomSend | WecomUpload | DingtalkGettoken | DingtalkSend
            ),
        }
    }
}

/// When a rule fires.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    Always,
    /// The next N matching calls, then the rule is removed.
    NextCalls(u32),
    /// Each matching call with this probability (0.0..=1.0), drawn from the seeded RNG.
    Probability(f64),
}

/// A fault switch: a fault, when it fires, and optionally the only endpoint it applies to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultRule {
    pub fault: Fault,
    pub when: When,
    pub endpoint: Option<Endpoint>,
}

impl FaultRule {
    pub fn always(fault: Fault) -> Self {
        Self {
            fault,
            when: When::Always,
            endpoint: None,
        }
    }

    pub fn next(calls: u32, fault: Fault) -> Self {
        Self {
            fault,
            when: When::NextCalls(calls),
            endpoint: None,
        }
    }

    pub fn probability(p: f64, fault: Fault) -> Self {
        Self {
            fault,
            when: When::Probability(p),
            endpoint: None,
        }
    }

    /// Restricts the rule to one endpoint.
    pub fn on(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    fn matches(&self, endpoint: Endpoint) -> bool {
        self.endpoint.is_none_or(|only| only == endpoint) && self.fault.applies_to(endpoint)
    }
}

/// What the faults decided for one call: wait first, then maybe answer with `answer`.
#[derive(Debug, Default)]
pub struct Decision {
    pub delay: Duration,
    pub answer: Option<Fault>,
}

impl Decision {
    /// Sleeps for the delay, if any.
    pub async fn wait(&self) {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }
}

/// The armed rules of one fake, with their RNG.
pub struct Faults {
    inner: Mutex<FaultState>,
}

struct FaultState {
    rules: Vec<FaultRule>,
    rng: StdRng,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            inner: Mutex::new(FaultState {
                rules: Vec::new(),
                rng: StdRng::seed_from_u64(DEFAULT_FAULT_SEED),
            }),
        }
    }
}

impl Faults {
    pub fn inject(&self, rule: FaultRule) {
        tracing::info!(?rule, "fake provider: fault armed");
        lock(&self.inner).rules.push(rule);
    }

    pub fn clear(&self) {
        lock(&self.inner).rules.clear();
    }

    pub fn seed(&self, seed: u64) {
        lock(&self.inner).rng = StdRng::seed_from_u64(seed);
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        lock(&self.inner).rules.clone()
    }

    /// Evaluates the rules in order for one call: delays add up, the first answering fault wins
    /// (later answering rules are neither drawn nor consumed).
    pub fn decide(&self, endpoint: Endpoint) -> Decision {
        let mut guard = lock(&self.inner);
        let state = &mut *guard;
        let mut decision = Decision::default();
        let mut index = 0;
        while index < state.rules.len() {
            let rule = &mut state.rules[index];
            let answering = !matches!(rule.fault, Fault::Delay { .. });
            if !rule.matches(endpoint) || (answering && decision.answer.is_some()) {
                index += 1;
                continue;
            }
            let fires = match &mut rule.when {
                When::Always => true,
                When::NextCalls(left) => {
                    *left = left.saturating_sub(1);
                    true
                }
                When::Probability(p) => state.rng.random_bool(p.clamp(0.0, 1.0)),
            };
            if fires {
                match &rule.fault {
                    Fault::Delay { delay } => decision.delay += *delay,
                    other => decision.answer = Some(other.clone()),
                }
            }
            if rule.when == When::NextCalls(0) {
                state.rules.remove(index);
            } else {
                index += 1;
            }
        }
        if decision.answer.is_some() || !decision.delay.is_zero() {
            tracing::info!(?endpoint, ?decision, "fake provider: fault fired");
        }
        decision
    }
}

/// One call to a fake: which endpoint, with which token (for the call record), and the fake's
/// clock (read once the call is answered).
pub(crate) struct CallOf<'a> {
    pub endpoint: Endpoint,
    pub token: Option<&'a str>,
    pub now: &'a (dyn Fn() -> DateTime<Utc> + Sync),
}

/// How every fake answers: runs the fault switches for the endpoint, then `handle` or the fault's
/// own answer (`fault_reply`, in the provider's words), and records the call.
pub(crate) async fn answer(
    faults: &Faults,
    recorder: &Recorder,
    call: CallOf<'_>,
    handle: impl FnOnce() -> Reply,
    fault_reply: fn(&Fault) -> Reply,
) -> Response {
    let decision = faults.decide(call.endpoint);
    decision.wait().await;
    let reply = match &decision.answer {
        Some(Fault::Reset) => {
            recorder.fault_fired();
            // Handled (and recorded as accepted), then the answer is lost on the way.
            drop(handle());
            Reply::cut()
        }
        Some(fault) => {
            recorder.fault_fired();
            fault_reply(fault)
        }
        None => handle(),
    };
    recorder.call((call.now)(), call.endpoint, call.token, reply.code);
    *reply.response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(faults: &Faults, calls: usize) -> Vec<bool> {
        (0..calls)
            .map(|_| faults.decide(Endpoint::WecomSend).answer.is_some())
            .collect()
    }

    #[test]
    fn next_calls_fire_then_disarm() {
        let faults = Faults::default();
        faults.inject(FaultRule::next(2, Fault::UntrustedIp));
        assert_eq!(sequence(&faults, 4), [true, true, false, false]);
        assert!(faults.rules().is_empty());
    }

    #[test]
    fn probability_is_deterministic_for_a_seed() {
        let run = |seed| {
            let faults = Faults::default();
            faults.seed(seed);
            faults.inject(FaultRule::probability(0.5, Fault::Http { status: 503 }));
            sequence(&faults, 32)
        };
        let first = run(7);
        assert_eq!(first, run(7));
        assert!(first.contains(&true) && first.contains(&false));
        assert_ne!(first, run(8));
    }

    #[test]
    fn faults_that_do_not_apply_are_not_consumed() {
        let faults = Faults::default();
        faults.inject(FaultRule::next(1, Fault::TokenExpired));
        assert!(faults.decide(Endpoint::WecomGettoken).answer.is_none());
        assert_eq!(
            faults.decide(Endpoint::WecomSend).answer,
            Some(Fault::TokenExpired)
        );
        assert!(faults.decide(Endpoint::WecomSend).answer.is_none());
    }

    #[test]
    fn endpoint_scope_and_delays_add_up() {
        let faults = Faults::default();
        let delay = Duration::from_millis(5);
        faults.inject(FaultRule::always(Fault::Delay { delay }));
        faults.inject(FaultRule::always(Fault::Delay { delay }).on(Endpoint::FeishuSend));
        assert_eq!(faults.decide(Endpoint::FeishuSend).delay, delay * 2);
        assert_eq!(faults.decide(Endpoint::FeishuToken).delay, delay);
    }
}
