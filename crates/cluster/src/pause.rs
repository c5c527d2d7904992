//! Pausing PD scheduling during an import, always with a TTL so that a crashed importer
//! leaves no paused cluster behind (`pause-pd-scheduler-scope`):
//! - global: the balance/shuffle schedulers are paused with a delay and the merge and
//!   schedule limits set as temporary config (BR pdutil RemoveSchedulersWithOrigin);
//! - table: a region-label rule `schedule=deny` with a TTL on the imported key range
//!   (pdutil pauseSchedulerByKeyRangeWithTTL).
//!
//! Both are refreshed every TTL / 3 while the import runs and undone by
//! [`SchedulerPause::resume`] (best effort on drop).

use crate::error::Result;
use crate::keys::encode_bound;
use crate::pd_http::PdHttp;
use crate::refresh::{spawn_undo, Refresher};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// pdutil's pause TTL (`pauseTimeout`).
pub const DEFAULT_PAUSE_TTL: Duration = Duration::from_secs(300);

/// Schedulers that slow an import down (pdutil `Schedulers`).
pub const PAUSED_SCHEDULERS: [&str; 6] = [
    "balance-leader-scheduler",
    "balance-hot-region-scheduler",
    "balance-region-scheduler",
    "shuffle-leader-scheduler",
    "shuffle-region-scheduler",
    "shuffle-hot-region-scheduler",
];

/// The temporary schedule config of a global pause (pdutil `expectPDCfg`): merges off,
/// schedule limits times the store count (at most 40), no location replacement,
/// unlimited pending peers.
fn paused_config(current: &Map<String, Value>, stores: usize) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in current {
        let paused = match k.as_str() {
            "max-merge-region-keys" | "max-merge-region-size" => json!(0),
            "leader-schedule-limit" | "region-schedule-limit" | "max-snapshot-count" => {
                match v.as_f64() {
                    Some(x) => json!((x * stores as f64).min(40.0)),
                    None => continue,
                }
            }
            "enable-location-replacement" => json!("false"),
            "max-pending-peer-count" => json!(i32::MAX),
            _ => continue,
        };
        out.insert(k.clone(), paused);
    }
    out
}

enum Paused {
    Global {
        schedulers: Vec<String>,
        original: Map<String, Value>,
    },
    Range {
        rule_id: String,
    },
}

/// Scheduling paused by this importer; resume it with [`SchedulerPause::resume`].
pub struct SchedulerPause {
    http: PdHttp,
    what: Option<Paused>,
    refresher: Option<Refresher>,
}

/// A random UUID v4 in its usual text form (pdutil names label rules `uuid.New()`).
pub(crate) fn uuid_v4() -> [u8; 16] {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    b
}

fn uuid_text(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl SchedulerPause {
    /// Pauses the schedulers cluster-wide for `ttl`, refreshed every `ttl / 3`.
    pub async fn global(http: &PdHttp, stores: usize, ttl: Duration) -> Result<SchedulerPause> {
        let existing = http.schedulers(false).await?;
        let schedulers: Vec<String> = existing
            .into_iter()
            .filter(|s| PAUSED_SCHEDULERS.contains(&s.as_str()))
            .collect();
        let current = http.schedule_config().await?;
        let paused = paused_config(&current, stores);
        let original: Map<String, Value> = current
            .into_iter()
            .filter(|(k, _)| paused.contains_key(k))
            .collect();
        let apply = {
            let (http, schedulers, paused) = (http.clone(), schedulers.clone(), paused.clone());
            move || {
                let (http, schedulers, paused) = (http.clone(), schedulers.clone(), paused.clone());
                async move {
                    for s in &schedulers {
                        http.pause_scheduler(s, ttl).await?;
                    }
                    http.set_schedule_config_ttl(&paused, ttl).await
                }
            }
        };
        apply().await?;
        tracing::info!(?schedulers, ttl_s = ttl.as_secs(), "paused PD schedulers");
        let refresher = Refresher::spawn(ttl / 3, move || {
            let f = apply();
            async move {
                if let Err(e) = f.await {
                    tracing::warn!(error = %e, "re-pausing PD schedulers failed; retrying next tick");
                }
            }
        });
        Ok(SchedulerPause {
            http: http.clone(),
            what: Some(Paused::Global {
                schedulers,
                original,
            }),
            refresher: Some(refresher),
        })
    }

    /// Denies scheduling on raw key range `[start, end)` (empty = unbounded) with a
    /// region-label rule of TTL `ttl`, refreshed every `ttl / 3`. The rule's range is
    /// hex of the encoded keys, as Lightning sends it (local.go ImportEngine:
    /// `codec.EncodeBytes` of the first and last range keys).
    pub async fn key_range(
        http: &PdHttp,
        start: &[u8],
        end: &[u8],
        ttl: Duration,
    ) -> Result<SchedulerPause> {
        let rule_id = uuid_text(&uuid_v4());
        let rule = json!({
            "id": rule_id,
            "labels": [{ "key": "schedule", "value": "deny", "ttl": format_go_duration(ttl) }],
            "rule_type": "key-range",
            "data": [{ "start_key": hex(&encode_bound(start)), "end_key": hex(&encode_bound(end)) }],
        });
        http.set_label_rule(&rule).await?;
        tracing::info!(
            rule_id,
            ttl_s = ttl.as_secs(),
            "paused PD scheduling on a key range"
        );
        let h = http.clone();
        let refresher = Refresher::spawn(ttl / 3, move || {
            let (h, rule) = (h.clone(), rule.clone());
            async move {
                if let Err(e) = h.set_label_rule(&rule).await {
                    tracing::warn!(error = %e, "refreshing the label rule failed; retrying next tick");
                }
            }
        });
        Ok(SchedulerPause {
            http: http.clone(),
            what: Some(Paused::Range { rule_id }),
            refresher: Some(refresher),
        })
    }

    /// The label rule id of a key-range pause.
    pub fn rule_id(&self) -> Option<&str> {
        match &self.what {
            Some(Paused::Range { rule_id }) => Some(rule_id),
            _ => None,
        }
    }

    /// Stops refreshing and resumes scheduling now (pdutil resumeSchedulerWith /
    /// restoreSchedulers: delay 0, temporary config dropped with `ttlSecond=0`).
    pub async fn resume(mut self) -> Result<()> {
        if let Some(r) = self.refresher.take() {
            r.stop().await;
        }
        match self.what.take() {
            Some(p) => undo(&self.http, p).await,
            None => Ok(()),
        }
    }
}

async fn undo(http: &PdHttp, p: Paused) -> Result<()> {
    match p {
        Paused::Global {
            schedulers,
            original,
        } => {
            let mut first_err = None;
            for s in &schedulers {
                if let Err(e) = http.pause_scheduler(s, Duration::ZERO).await {
                    tracing::warn!(scheduler = %s, error = %e, "resuming failed; its pause will time out");
                    first_err.get_or_insert(e);
                }
            }
            if let Err(e) = http
                .set_schedule_config_ttl(&original, Duration::ZERO)
                .await
            {
                first_err.get_or_insert(e);
            }
            first_err.map_or(Ok(()), Err)
        }
        Paused::Range { rule_id } => http.delete_label_rule(&rule_id).await,
    }
}

impl Drop for SchedulerPause {
    fn drop(&mut self) {
        if let Some(p) = self.what.take() {
            let http = self.http.clone();
            spawn_undo("scheduler pause", async move {
                if let Err(e) = undo(&http, p).await {
                    tracing::warn!(error = %e, "resuming PD scheduling on drop failed; TTL will");
                }
            });
        }
    }
}

/// A duration as Go's `time.Duration.String` writes whole seconds (`5m0s`, `1h0m0s`).
fn format_go_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec}s"),
        (h, m, sec) => format!("{h}h{m}m{sec}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paused_config_follows_pdutil() {
        let cur = json!({"max-merge-region-keys": 200000, "leader-schedule-limit": 4,
            "region-schedule-limit": 2048, "enable-location-replacement": "true",
            "max-pending-peer-count": 64, "split-merge-interval": "1h0m0s"});
        let p = paused_config(cur.as_object().unwrap(), 3);
        assert_eq!(p["max-merge-region-keys"], 0);
        assert_eq!(p["leader-schedule-limit"], 12.0);
        assert_eq!(p["region-schedule-limit"], 40.0);
        assert_eq!(p["enable-location-replacement"], "false");
        assert_eq!(p["max-pending-peer-count"], i32::MAX);
        assert!(!p.contains_key("split-merge-interval"));
    }

    #[test]
    fn durations_and_uuids_print_like_go() {
        assert_eq!(format_go_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(format_go_duration(Duration::from_secs(3)), "3s");
        assert_eq!(format_go_duration(Duration::from_secs(3723)), "1h2m3s");
        let u = uuid_text(&uuid_v4());
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
