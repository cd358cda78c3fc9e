//! Seeded fault injection per API route: the plan (JSON at `PUT /sim/v1/faults`) and the injector
//! that decides, request by request, which rules fire. The same seed and request order give the same
//! faults; what a fault does to the response is up to the API's guard.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// A set of fault rules and the seed of their random choices. The same seed and the same sequence of
/// requests give the same faults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultPlan {
    /// Seed for `probability` rules.
    pub seed: u64,
    /// Rules, all checked for every request.
    pub rules: Vec<FaultRule>,
}

/// When and how to disturb requests of one route.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Route name (`pods.get`, `pods.log`, `pods.list`, `pods.watch`, `pods.create`, `pods.delete`,
    /// `secrets.create`, `secrets.replace`, ...; see the README) or `*` for every Kubernetes API route.
    pub route: String,
    /// Only requests for this pod (object) name.
    #[serde(default)]
    pub name: Option<String>,
    /// Only log requests for this container.
    #[serde(default)]
    pub container: Option<String>,
    /// Fire on each matching request with this probability (seeded).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Fire on these matching requests (1 = the first request matching this rule).
    #[serde(default)]
    pub on_requests: Option<Vec<u64>>,
    /// Fire at most this many times.
    #[serde(default)]
    pub max_times: Option<u64>,
    /// What the matching request gets instead of (or on top of) its normal answer.
    pub fault: Fault,
}

/// A disturbance of one request: an error answer, no answer, or a damaged or delayed body. JSON:
/// `{"status": {"code": 500}}`, `"reset"`, `{"cutBody": {"afterBytes": 10, "abrupt": true}}`, ...
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Fault {
    /// Answer with this HTTP status (e.g. 500, 503) and an `InternalError` Status body.
    Status {
        /// The HTTP status code.
        code: u16,
    },
    /// Answer 429 with `Retry-After`.
    #[serde(rename_all = "camelCase")]
    TooManyRequests {
        /// Value of `Retry-After` and `details.retryAfterSeconds`.
        retry_after_seconds: u32,
    },
    /// Close the connection without any response.
    Reset,
    /// Let the response body through for `after_bytes` bytes, then cut it: `abrupt` closes the connection
    /// mid-body (the client sees an incomplete response), otherwise the body ends cleanly as if the
    /// server had timed the stream out.
    #[serde(rename_all = "camelCase")]
    CutBody {
        /// Bytes delivered before the cut.
        after_bytes: u64,
        /// Close the connection instead of ending the body.
        #[serde(default)]
        abrupt: bool,
    },
    /// Wait this long before handling the request.
    Stall {
        /// Delay before the request reaches its handler, in milliseconds.
        ms: u64,
    },
    /// Deliver the response body at this rate.
    #[serde(rename_all = "camelCase")]
    Slow {
        /// Bytes per second (at least 1).
        bytes_per_second: u64,
    },
}

impl Fault {
    /// Short name used in metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Status { .. } => "status",
            Fault::TooManyRequests { .. } => "tooManyRequests",
            Fault::Reset => "reset",
            Fault::CutBody { .. } => "cutBody",
            Fault::Stall { .. } => "stall",
            Fault::Slow { .. } => "slow",
        }
    }
}

impl FaultPlan {
    /// Rejects rules that can never be meaningful.
    pub fn validate(&self) -> Result<(), String> {
        for (i, rule) in self.rules.iter().enumerate() {
            if let Some(p) = rule.probability
                && !(0.0..=1.0).contains(&p)
            {
                return Err(format!("rules[{i}].probability must be within 0..=1, got {p}"));
            }
            if matches!(rule.fault, Fault::Slow { bytes_per_second: 0 }) {
                return Err(format!("rules[{i}].fault.slow.bytesPerSecond must be at least 1"));
            }
            if !(100..=599).contains(&match rule.fault {
                Fault::Status { code } => code,
                _ => 500,
            }) {
                return Err(format!("rules[{i}].fault.status.code must be an HTTP status code"));
            }
        }
        Ok(())
    }
}

/// The identity of a request, as far as rules can filter on it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestTarget<'a> {
    pub(crate) route: &'a str,
    pub(crate) name: Option<&'a str>,
    pub(crate) container: Option<&'a str>,
}

pub(crate) struct FaultInjector {
    plan: FaultPlan,
    rng: ChaCha8Rng,
    matched: Vec<u64>,
    fired: Vec<u64>,
}

impl FaultInjector {
    pub(crate) fn new(plan: FaultPlan) -> Self {
        let rules = plan.rules.len();
        FaultInjector {
            rng: ChaCha8Rng::seed_from_u64(plan.seed),
            plan,
            matched: vec![0; rules],
            fired: vec![0; rules],
        }
    }

    fn unit_random(&mut self) -> f64 {
        // 53 random bits → uniform in [0, 1).
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The faults that fire for this request.
    pub(crate) fn decide(&mut self, target: RequestTarget<'_>) -> Vec<Fault> {
        let mut faults = Vec::new();
        for i in 0..self.plan.rules.len() {
            let rule = &self.plan.rules[i];
            let route_matches = rule.route == target.route
                || (rule.route == "*" && !target.route.starts_with("sim."));
            let name_matches = rule.name.as_deref().is_none_or(|n| Some(n) == target.name);
            let container_matches =
                rule.container.as_deref().is_none_or(|c| Some(c) == target.container);
            if !(route_matches && name_matches && container_matches) {
                continue;
            }
            self.matched[i] += 1;
            let nth = self.matched[i];
            let (probability, on_requests, max_times) =
                (rule.probability, rule.on_requests.clone(), rule.max_times);
            let fault = rule.fault.clone();
            if max_times.is_some_and(|max| self.fired[i] >= max) {
                continue;
            }
            let scheduled = on_requests.as_ref().is_none_or(|list| list.contains(&nth));
            let lucky = match probability {
                Some(p) => self.unit_random() < p,
                None => true,
            };
            if scheduled && lucky {
                self.fired[i] += 1;
                faults.push(fault);
            }
        }
        faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rule: FaultRule) -> FaultInjector {
        FaultInjector::new(FaultPlan { seed: 7, rules: vec![rule] })
    }

    fn rule(fault: Fault) -> FaultRule {
        FaultRule {
            route: "pods.get".into(),
            name: None,
            container: None,
            probability: None,
            on_requests: None,
            max_times: None,
            fault,
        }
    }

    const GET: RequestTarget<'static> =
        RequestTarget { route: "pods.get", name: Some("p"), container: None };

    #[test]
    fn schedules_fire_on_the_listed_requests_only() {
        let mut f = plan(FaultRule { on_requests: Some(vec![2, 3]), ..rule(Fault::Reset) });
        let fired: Vec<bool> = (0..5).map(|_| !f.decide(GET).is_empty()).collect();
        assert_eq!(fired, vec![false, true, true, false, false]);
        let other = RequestTarget { route: "pods.list", ..GET };
        assert!(f.decide(other).is_empty());
    }

    #[test]
    fn probabilities_are_reproducible_with_the_seed_and_bounded_by_max_times() {
        let run = || {
            let mut f =
                plan(FaultRule { probability: Some(0.5), ..rule(Fault::Status { code: 500 }) });
            (0..200).map(|_| !f.decide(GET).is_empty()).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let count = first.iter().filter(|&&x| x).count();
        assert!((60..140).contains(&count), "{count} of 200 at p=0.5");
        let mut f = plan(FaultRule { max_times: Some(2), ..rule(Fault::Reset) });
        assert_eq!((0..5).filter(|_| !f.decide(GET).is_empty()).count(), 2);
    }

    #[test]
    fn plans_parse_from_json_and_bad_ones_are_refused() {
        let p: FaultPlan = serde_json::from_str(
            r#"{"seed": 3, "rules": [
                {"route": "pods.log", "container": "runner", "onRequests": [1], "fault": {"cutBody": {"afterBytes": 10, "abrupt": true}}},
                {"route": "*", "probability": 0.1, "fault": {"tooManyRequests": {"retryAfterSeconds": 2}}},
                {"route": "pods.get", "fault": "reset"}]}"#,
        )
        .unwrap();
        assert!(p.validate().is_ok());
        assert_eq!(p.rules[2].fault, Fault::Reset);
        let bad: FaultPlan = serde_json::from_str(
            r#"{"rules": [{"route": "*", "probability": 2, "fault": "reset"}]}"#,
        )
        .unwrap();
        assert!(bad.validate().is_err());
    }
}
