//! PD's region-label rules over HTTP (`/pd/api/v1/config/region-label/...`), which
//! Lightning uses to pause scheduling on a key range with a TTL
//! (br/pkg/pdutil/pd.go pauseSchedulerByKeyRangeWithTTL; pd client/http SetRegionLabelRule,
//! PatchRegionLabelRules). A rule lives until its shortest label TTL runs out.

use super::pd_http::{bad, parse_go_duration, with, HttpState, S};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Creates or replaces a rule; a TTL of zero removes it.
fn set_rule(http: &mut HttpState, rule: Value) -> Result<(), Response> {
    let id = rule["id"]
        .as_str()
        .ok_or_else(|| bad("missing id"))?
        .to_string();
    let mut ttl: Option<Duration> = None;
    for l in rule["labels"].as_array().into_iter().flatten() {
        if let Some(t) = l["ttl"].as_str().filter(|t| !t.is_empty()) {
            let d = parse_go_duration(t).ok_or_else(|| bad(format!("bad ttl {t}")))?;
            ttl = Some(ttl.map_or(d, |x| x.min(d)));
        }
    }
    if ttl == Some(Duration::ZERO) {
        http.rules.remove(&id);
    } else {
        http.rules
            .insert(id, (rule, ttl.map(|d| Instant::now() + d)));
    }
    Ok(())
}

/// `POST .../rule`.
pub(crate) async fn put_rule(sh: S, Json(rule): Json<Value>) -> Result<Json<Value>, Response> {
    with(&sh, |s| set_rule(&mut s.http, rule))??;
    Ok(Json(json!("Update region label rule successfully.")))
}

/// `PATCH .../rules` with `{"sets": [rule...], "deletes": [id...]}`.
pub(crate) async fn patch_rules(sh: S, Json(patch): Json<Value>) -> Result<Json<Value>, Response> {
    with(&sh, |s| {
        for id in patch["deletes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            s.http.rules.remove(id);
        }
        for rule in patch["sets"].as_array().into_iter().flatten() {
            set_rule(&mut s.http, rule.clone())?;
        }
        Ok(Json(json!("Patch region label rules successfully.")))
    })?
}

/// `GET .../rules`: every live rule.
pub(crate) async fn rules(sh: S) -> Result<Json<Value>, Response> {
    with(&sh, |s| {
        Json(Value::Array(
            s.http.rules.values().map(|(r, _)| r.clone()).collect(),
        ))
    })
}

/// `GET .../rules/ids` with a JSON array of ids in the body.
pub(crate) async fn rules_by_ids(
    sh: S,
    Json(ids): Json<Vec<String>>,
) -> Result<Json<Value>, Response> {
    with(&sh, |s| {
        Json(Value::Array(
            ids.iter()
                .filter_map(|id| s.http.rules.get(id))
                .map(|(r, _)| r.clone())
                .collect(),
        ))
    })
}

/// `GET .../rule/{id}`.
pub(crate) async fn get_rule(sh: S, Path(id): Path<String>) -> Result<Json<Value>, Response> {
    with(&sh, |s| {
        s.http
            .rules
            .get(&id)
            .map(|(r, _)| Json(r.clone()))
            .ok_or_else(|| (StatusCode::NOT_FOUND, "rule not found").into_response())
    })?
}

/// `DELETE .../rule/{id}`.
pub(crate) async fn delete_rule(sh: S, Path(id): Path<String>) -> Result<Json<Value>, Response> {
    with(&sh, |s| {
        s.http.rules.remove(&id);
        Json(json!("Delete region label rule successfully."))
    })
}
