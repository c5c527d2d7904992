//! Faults a test can inject into the simulated cluster: which error, at which RPC
//! step, on which store, and when (the next N calls, or with a seeded probability).

use rand::rngs::StdRng;
use rand::Rng;
use std::time::Duration;

/// What goes wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// The store answers with `errorpb.ServerIsBusy` (ingest, split, coprocessor) or an
    /// import error carrying it (write).
    ServerIsBusy,
    /// The region's leader moves to another peer just before the call, so a call aimed
    /// at the old leader gets `NotLeader` naming the new one.
    NotLeader,
    /// The region splits concurrently just before the call, so the caller's epoch is stale.
    EpochNotMatch,
    /// The store is unreachable: the call fails with gRPC `Unavailable`.
    StoreDown,
    /// The call is delayed by this long, then served normally.
    Slow(Duration),
    /// The store's disk is full: Ingest is refused with `errorpb.DiskFull` (final), a
    /// Write with TiKV's `DiskSpaceNotEnough` import error (retryable: space may free up).
    DiskFull,
    /// A Write stream is dropped by the server after its first message.
    DropWriteStream,
}

/// The RPC step a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// ImportSST Write.
    Write,
    /// ImportSST Ingest and MultiIngest.
    Ingest,
    /// Tikv SplitRegion.
    SplitRegion,
    /// Tikv Coprocessor.
    Coprocessor,
    /// ImportSST DuplicateDetect.
    DuplicateDetect,
    /// ImportSST SwitchMode and GetMode.
    SwitchMode,
    /// Any store RPC.
    Any,
}

/// When a rule fires.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trigger {
    /// On each of the next N matching calls, then never again.
    NextCalls(u32),
    /// On each matching call with this probability (from the cluster's seeded rng).
    Probability(f64),
    /// Lets the first `skip` matching calls through, then fires on each of the next `n`:
    /// a fault at a chosen point of an import (e.g. the last SwitchMode calls).
    AfterCalls {
        /// Matching calls served normally first.
        skip: u32,
        /// Calls that then fail.
        n: u32,
    },
}

impl Trigger {
    /// Whether the rule can never fire again.
    fn spent(&self) -> bool {
        matches!(
            self,
            Trigger::NextCalls(0) | Trigger::AfterCalls { skip: 0, n: 0 }
        )
    }
}

/// One injected fault: `fault` at `step` on `store` (any store when `None`) per `trigger`.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// What goes wrong.
    pub fault: Fault,
    /// Which RPC it hits.
    pub step: Step,
    /// Which store it hits; `None` for every store.
    pub store: Option<u64>,
    /// When it fires.
    pub trigger: Trigger,
}

impl FaultRule {
    /// A rule firing on the next `n` calls of `step` on any store.
    pub fn next(fault: Fault, step: Step, n: u32) -> Self {
        Self {
            fault,
            step,
            store: None,
            trigger: Trigger::NextCalls(n),
        }
    }

    /// Restricts the rule to one store.
    pub fn on_store(mut self, store: u64) -> Self {
        self.store = Some(store);
        self
    }
}

/// A fault rule spec that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("bad fault spec {spec:?}: {why}")]
pub struct FaultSpecError {
    /// The spec as given.
    pub spec: String,
    /// What is wrong with it.
    pub why: String,
}

impl std::str::FromStr for FaultRule {
    type Err = FaultSpecError;

    /// Parses `step:fault[:next=N|:p=P][:after=K][:store=ID]` (for command-line flags),
    /// e.g. `ingest:server-is-busy:next=2`, `write:slow=200ms:p=0.1:store=2`,
    /// `switch-mode:store-down:after=3` (the fourth call fails). Steps: write,
    /// ingest, split-region, coprocessor, duplicate-detect, switch-mode, any. Faults:
    /// server-is-busy, not-leader, epoch-not-match, store-down, slow=<go duration>,
    /// disk-full, drop-write-stream. Without `next` or `p` the rule fires once; `after`
    /// lets K matching calls through first and does not go with `p`.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |why: &str| FaultSpecError {
            spec: spec.to_string(),
            why: why.to_string(),
        };
        let mut parts = spec.split(':');
        let step = match parts.next().unwrap_or_default() {
            "write" => Step::Write,
            "ingest" => Step::Ingest,
            "split-region" => Step::SplitRegion,
            "coprocessor" => Step::Coprocessor,
            "duplicate-detect" => Step::DuplicateDetect,
            "switch-mode" => Step::SwitchMode,
            "any" => Step::Any,
            _ => return Err(err("unknown step")),
        };
        let fault = match parts.next().ok_or_else(|| err("missing fault"))? {
            "server-is-busy" => Fault::ServerIsBusy,
            "not-leader" => Fault::NotLeader,
            "epoch-not-match" => Fault::EpochNotMatch,
            "store-down" => Fault::StoreDown,
            "disk-full" => Fault::DiskFull,
            "drop-write-stream" => Fault::DropWriteStream,
            f => match f.strip_prefix("slow=") {
                Some(d) => Fault::Slow(
                    super::pd_http::parse_go_duration(d).ok_or_else(|| err("bad slow duration"))?,
                ),
                None => return Err(err("unknown fault")),
            },
        };
        let mut rule = FaultRule {
            fault,
            step,
            store: None,
            trigger: Trigger::NextCalls(1),
        };
        let mut skip = 0;
        for p in parts {
            let (k, v) = p.split_once('=').ok_or_else(|| err("expected key=value"))?;
            match k {
                "next" => {
                    rule.trigger = Trigger::NextCalls(v.parse().map_err(|_| err("bad next"))?)
                }
                "p" => {
                    let p: f64 = v.parse().map_err(|_| err("bad p"))?;
                    if !(0.0..=1.0).contains(&p) {
                        return Err(err("p must be within 0..=1"));
                    }
                    rule.trigger = Trigger::Probability(p);
                }
                "after" => skip = v.parse().map_err(|_| err("bad after"))?,
                "store" => rule.store = Some(v.parse().map_err(|_| err("bad store"))?),
                _ => return Err(err("unknown option")),
            }
        }
        if skip > 0 {
            let Trigger::NextCalls(n) = rule.trigger else {
                return Err(err("after goes with next, not p"));
            };
            rule.trigger = Trigger::AfterCalls { skip, n };
        }
        Ok(rule)
    }
}

/// The active rules and a record of every fault that fired.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
    /// (step, store, fault) of each fault that fired, in order.
    pub fired: Vec<(Step, u64, Fault)>,
}

impl Faults {
    pub fn add(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault to apply to this call, if a rule fires; spent rules are dropped.
    pub fn take(&mut self, step: Step, store: u64, rng: &mut StdRng) -> Option<Fault> {
        let mut hit = None;
        for rule in &mut self.rules {
            if !(rule.step == step || rule.step == Step::Any)
                || rule.store.is_some_and(|s| s != store)
            {
                continue;
            }
            let fires = match &mut rule.trigger {
                Trigger::NextCalls(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                Trigger::NextCalls(_) => false,
                Trigger::Probability(p) => rng.random_bool(p.clamp(0.0, 1.0)),
                Trigger::AfterCalls { skip, .. } if *skip > 0 => {
                    *skip -= 1;
                    false
                }
                Trigger::AfterCalls { n, .. } if *n > 0 => {
                    *n -= 1;
                    true
                }
                Trigger::AfterCalls { .. } => false,
            };
            if fires {
                hit = Some(rule.fault.clone());
                break;
            }
        }
        self.rules.retain(|r| !r.trigger.spent());
        if let Some(f) = &hit {
            self.fired.push((step, store, f.clone()));
        }
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn next_calls_fire_exactly_n_times_on_the_matching_store() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut f = Faults::default();
        f.add(FaultRule::next(Fault::ServerIsBusy, Step::Ingest, 2).on_store(3));
        assert_eq!(f.take(Step::Ingest, 1, &mut rng), None);
        assert_eq!(f.take(Step::Write, 3, &mut rng), None);
        assert_eq!(f.take(Step::Ingest, 3, &mut rng), Some(Fault::ServerIsBusy));
        assert_eq!(f.take(Step::Ingest, 3, &mut rng), Some(Fault::ServerIsBusy));
        assert_eq!(f.take(Step::Ingest, 3, &mut rng), None);
        assert_eq!(f.fired.len(), 2);
    }

    #[test]
    fn specs_parse_into_rules() {
        let r: FaultRule = "write:slow=200ms:p=0.25:store=2".parse().unwrap();
        assert_eq!(r.step, Step::Write);
        assert_eq!(r.fault, Fault::Slow(std::time::Duration::from_millis(200)));
        assert_eq!((r.trigger, r.store), (Trigger::Probability(0.25), Some(2)));
        let r: FaultRule = "ingest:server-is-busy:next=3".parse().unwrap();
        assert_eq!(r, FaultRule::next(Fault::ServerIsBusy, Step::Ingest, 3));
        let r: FaultRule = "switch-mode:store-down:after=3:next=2".parse().unwrap();
        assert_eq!(r.trigger, Trigger::AfterCalls { skip: 3, n: 2 });
        let once: FaultRule = "any:store-down".parse().unwrap();
        assert_eq!(once.trigger, Trigger::NextCalls(1));
        for bad in [
            "",
            "ingest",
            "ingest:melt",
            "nowhere:disk-full",
            "write:disk-full:p=2",
            "write:slow=fast",
            "write:disk-full:p=0.5:after=2",
        ] {
            assert!(bad.parse::<FaultRule>().is_err(), "{bad}");
        }
    }

    #[test]
    fn after_calls_lets_k_calls_through_then_fires_n_times() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut f = Faults::default();
        f.add("ingest:not-leader:after=2:next=2".parse().unwrap());
        let hits: Vec<bool> = (0..6)
            .map(|_| f.take(Step::Ingest, 1, &mut rng).is_some())
            .collect();
        assert_eq!(hits, [false, false, true, true, false, false]);
        assert!(f.rules.is_empty(), "a spent rule is dropped");
    }

    #[test]
    fn probability_is_reproducible_with_the_same_seed() {
        let run = || {
            let mut rng = StdRng::seed_from_u64(42);
            let mut f = Faults::default();
            f.add(FaultRule {
                fault: Fault::DiskFull,
                step: Step::Any,
                store: None,
                trigger: Trigger::Probability(0.5),
            });
            (0..64)
                .map(|_| f.take(Step::Ingest, 1, &mut rng).is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.iter().any(|x| *x) && a.iter().any(|x| !*x));
    }
}
