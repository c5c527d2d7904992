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
    /// Ingest is refused with `errorpb.DiskFull`.
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
            };
            if fires {
                hit = Some(rule.fault.clone());
                break;
            }
        }
        self.rules.retain(|r| r.trigger != Trigger::NextCalls(0));
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
