//! The simulated PD's HTTP API (`/pd/api/v1/...`), served on the same port as its gRPC.
//! It covers what Lightning/BR's pdutil (br/pkg/pdutil/pd.go) calls around an import:
//! version, cluster version, stores, region count, scheduler pause with a delay,
//! schedule config (persistent, and temporary with `?ttlSecond=`), replication config,
//! and region-label rules with a TTL. Pauses, temporary config and labels expire alone.

use super::pd_labels::{delete_rule, get_rule, patch_rules, put_rule, rules, rules_by_ids};
use super::Shared;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// PD's default schedulers that a pause may target.
const DEFAULT_SCHEDULERS: [&str; 4] = [
    "balance-hot-region-scheduler",
    "balance-leader-scheduler",
    "balance-region-scheduler",
    "evict-slow-store-scheduler",
];

/// HTTP-side state: schedulers, schedule config, label rules.
pub(crate) struct HttpState {
    /// Scheduler name -> paused until.
    pub schedulers: BTreeMap<String, Option<Instant>>,
    /// Persistent schedule config.
    pub schedule: Map<String, Value>,
    /// Temporary schedule config: key -> (value, expiry).
    pub temp: HashMap<String, (Value, Instant)>,
    /// Label rule id -> (rule, expiry of its shortest TTL label).
    pub rules: BTreeMap<String, (Value, Option<Instant>)>,
}

impl Default for HttpState {
    fn default() -> Self {
        // Defaults of PD's conf/config.toml; PD marshals its bool options as strings.
        let schedule = json!({
            "max-merge-region-keys": 200000, "max-merge-region-size": 20,
            "leader-schedule-limit": 4, "region-schedule-limit": 2048,
            "max-snapshot-count": 64, "max-pending-peer-count": 64,
            "enable-location-replacement": "true", "split-merge-interval": "1h0m0s",
        });
        HttpState {
            schedulers: DEFAULT_SCHEDULERS
                .iter()
                .map(|s| (s.to_string(), None))
                .collect(),
            schedule: schedule.as_object().cloned().unwrap_or_default(),
            temp: HashMap::new(),
            rules: BTreeMap::new(),
        }
    }
}

impl HttpState {
    /// Drops what has expired.
    pub fn expire(&mut self, now: Instant) {
        for until in self.schedulers.values_mut() {
            if until.is_some_and(|u| u <= now) {
                *until = None;
            }
        }
        self.temp.retain(|_, (_, exp)| *exp > now);
        self.rules.retain(|_, (_, exp)| exp.is_none_or(|e| e > now));
    }

    /// Names of the schedulers paused now.
    pub fn paused(&self) -> Vec<String> {
        self.schedulers
            .iter()
            .filter(|(_, u)| u.is_some())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The effective schedule config: persistent overlaid by unexpired temporary values.
    pub fn effective_schedule(&self) -> Value {
        let mut m = self.schedule.clone();
        for (k, (v, _)) in &self.temp {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

/// Parses a Go `time.Duration` string such as `5m0s`, `300s`, `1h`, `1.5s`, `100ms`, `0s`.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let (mut total, mut rest) = (0f64, s);
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += n * secs;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_secs_f64(total))
}

pub(crate) fn bad(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, msg.into()).into_response()
}

pub(crate) type S = State<Arc<Shared>>;

pub(crate) fn with<T>(
    shared: &Shared,
    f: impl FnOnce(&mut super::state::State) -> T,
) -> Result<T, Response> {
    let mut s = shared.lock().map_err(|e| {
        (StatusCode::INTERNAL_SERVER_ERROR, e.message().to_string()).into_response()
    })?;
    s.http.expire(Instant::now());
    Ok(f(&mut s))
}

async fn version() -> Json<Value> {
    Json(json!({ "version": format!("v{}", super::TIKV_VERSION) }))
}

async fn cluster_version() -> Json<Value> {
    Json(json!(super::TIKV_VERSION))
}

async fn list_schedulers(
    State(sh): S,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Response> {
    with(&sh, |s| {
        let names: Vec<String> = if q.get("status").map(String::as_str) == Some("paused") {
            s.http.paused()
        } else {
            s.http.schedulers.keys().cloned().collect()
        };
        Json(json!(names))
    })
}

async fn add_scheduler(State(sh): S, Json(body): Json<Value>) -> Result<Json<Value>, Response> {
    let name = body["name"]
        .as_str()
        .ok_or_else(|| bad("missing name"))?
        .to_string();
    with(&sh, |s| {
        s.http.schedulers.entry(name).or_insert(None);
        Json(json!("The scheduler is created."))
    })
}

/// `POST /schedulers/{name}` with `{"delay": seconds}` pauses it that long; 0 resumes.
async fn pause_scheduler(
    State(sh): S,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, Response> {
    let delay = body["delay"].as_i64().ok_or_else(|| bad("missing delay"))?;
    with(&sh, |s| {
        let Some(until) = s.http.schedulers.get_mut(&name) else {
            return Err((StatusCode::INTERNAL_SERVER_ERROR, "scheduler not found").into_response());
        };
        *until = (delay > 0).then(|| Instant::now() + Duration::from_secs(delay as u64));
        Ok(Json(json!(if delay > 0 {
            "Pause the scheduler successfully."
        } else {
            "Resume the scheduler successfully."
        })))
    })?
}

async fn get_schedule(State(sh): S) -> Result<Json<Value>, Response> {
    with(&sh, |s| Json(s.http.effective_schedule()))
}

async fn set_schedule(State(sh): S, Json(body): Json<Value>) -> Result<Json<Value>, Response> {
    let obj = body
        .as_object()
        .cloned()
        .ok_or_else(|| bad("expected an object"))?;
    with(&sh, |s| {
        s.http.schedule.extend(obj);
        Json(json!("The config is updated."))
    })
}

/// `POST /config[?ttlSecond=N]` with `{"schedule.key": value}`: with a TTL the values
/// are temporary (0 removes them), as PD's config handler does.
async fn set_config(
    State(sh): S,
    Query(q): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, Response> {
    let obj = body
        .as_object()
        .cloned()
        .ok_or_else(|| bad("expected an object"))?;
    let ttl = match q.get("ttlSecond") {
        Some(t) => Some(t.parse::<u64>().map_err(|_| bad("bad ttlSecond"))?),
        None => None,
    };
    with(&sh, |s| {
        for (k, v) in obj {
            let key = k.strip_prefix("schedule.").unwrap_or(&k).to_string();
            match ttl {
                Some(0) => drop(s.http.temp.remove(&key)),
                Some(t) => drop(
                    s.http
                        .temp
                        .insert(key, (v, Instant::now() + Duration::from_secs(t))),
                ),
                None => drop(s.http.schedule.insert(key, v)),
            }
        }
        Json(json!("The config is updated."))
    })
}

async fn replicate(State(sh): S) -> Result<Json<Value>, Response> {
    with(&sh, |s| {
        let replicas = s.opts.replicas.clamp(1, s.opts.stores.max(1));
        Json(
            json!({ "max-replicas": replicas, "location-labels": "", "strictly-match-label": "false",
                     "enable-placement-rules": "true", "isolation-level": "" }),
        )
    })
}

fn store_json(st: &super::state::StoreState) -> Value {
    let labels: Vec<Value> = st
        .meta
        .labels
        .iter()
        .map(|l| json!({ "key": l.key, "value": l.value }))
        .collect();
    json!({
        "store": { "id": st.meta.id, "address": st.meta.address, "labels": labels, "version": st.meta.version,
                   "state_name": if st.down { "Disconnected" } else { "Up" } },
        "status": { "capacity": "100GiB", "available": "90GiB", "region_count": 0, "leader_count": 0 },
    })
}

async fn stores(State(sh): S) -> Result<Json<Value>, Response> {
    with(&sh, |s| {
        Json(
            json!({ "count": s.stores.len(), "stores": s.stores.values().map(store_json).collect::<Vec<_>>() }),
        )
    })
}

async fn store(State(sh): S, Path(id): Path<u64>) -> Result<Json<Value>, Response> {
    with(&sh, |s| {
        s.stores
            .get(&id)
            .map(|st| Json(store_json(st)))
            .ok_or_else(|| (StatusCode::NOT_FOUND, "store not found").into_response())
    })?
}

/// Percent-decodes a query value into bytes (keys are arbitrary bytes there).
fn percent_decode(v: &str) -> Vec<u8> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// `GET /stats/region?start_key=..&end_key=..`: the regions overlapping the (encoded,
/// query-escaped) key range; an empty end key is unbounded.
async fn region_count(State(sh): S, RawQuery(q): RawQuery) -> Result<Json<Value>, Response> {
    let (mut start, mut end) = (Vec::new(), Vec::new());
    for pair in q.unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("start_key", v)) => start = percent_decode(v),
            Some(("end_key", v)) => end = percent_decode(v),
            _ => {}
        }
    }
    with(&sh, |s| {
        let count = s
            .regions
            .values()
            .filter(|r| {
                (end.is_empty() || r.meta.start_key < end)
                    && (r.meta.end_key.is_empty() || r.meta.end_key > start)
            })
            .count();
        Json(json!({ "count": count }))
    })
}

/// The `/pd/api/v1` routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/pd/api/v1/version", get(version))
        .route("/pd/api/v1/config/cluster-version", get(cluster_version))
        .route(
            "/pd/api/v1/schedulers",
            get(list_schedulers).post(add_scheduler),
        )
        .route("/pd/api/v1/schedulers/{name}", post(pause_scheduler))
        .route(
            "/pd/api/v1/config/schedule",
            get(get_schedule).post(set_schedule),
        )
        .route("/pd/api/v1/config", post(set_config))
        .route("/pd/api/v1/config/replicate", get(replicate))
        .route("/pd/api/v1/stores", get(stores))
        .route("/pd/api/v1/store/{id}", get(store))
        .route("/pd/api/v1/stats/region", get(region_count))
        .route("/pd/api/v1/config/region-label/rule", post(put_rule))
        .route(
            "/pd/api/v1/config/region-label/rule/{id}",
            get(get_rule).delete(delete_rule),
        )
        .route(
            "/pd/api/v1/config/region-label/rules",
            get(rules).patch(patch_rules),
        )
        .route(
            "/pd/api/v1/config/region-label/rules/ids",
            get(rules_by_ids),
        )
        .with_state(shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_percent_decode_to_bytes() {
        assert_eq!(percent_decode("t%80%00%FFa+b"), b"t\x80\x00\xffa b");
        assert_eq!(percent_decode("50%"), b"50%");
        assert_eq!(percent_decode("%zz"), b"%zz");
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("5m0s"), Some(Duration::from_secs(300)));
        assert_eq!(parse_go_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_go_duration("150ms"), Some(Duration::from_millis(150)));
        assert_eq!(parse_go_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("5 minutes"), None);
    }
}
