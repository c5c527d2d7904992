//! PD's HTTP API (`/pd/api/v1/...`) as BR's pdutil (br/pkg/pdutil/pd.go) and PD's
//! http client use it around an import: scheduler pauses with a delay, schedule config
//! with a TTL, region-label rules, the replication config and stores.

use crate::error::{ClusterError, Result};
use crate::security::Transport;
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// A PD HTTP client trying each configured address in turn.
#[derive(Clone)]
pub struct PdHttp {
    client: reqwest::Client,
    urls: Vec<String>,
}

/// Attempts on a 5xx answer before giving up (pdutil pdRequestRetryTime).
const RETRIES_5XX: u32 = 10;

impl PdHttp {
    /// A client for the PD `addrs` (`host:port` or URLs).
    pub fn new(addrs: &[String], transport: &Transport) -> Result<PdHttp> {
        Ok(PdHttp {
            client: transport.http_client()?,
            urls: addrs.iter().map(|a| transport.url(a)).collect(),
        })
    }

    /// Sends one request, trying each PD in turn and retrying 5xx answers with a short
    /// pause (pdutil pdRequest); returns the body of the 200 answer.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Vec<u8>> {
        let mut last = None;
        for url in &self.urls {
            for attempt in 0..RETRIES_5XX {
                let mut req = self.client.request(method.clone(), format!("{url}{path}"));
                if let Some(b) = body {
                    req = req
                        .header("Content-Type", "application/json")
                        .body(b.to_string());
                }
                let err = |status: Option<u16>, reason: String| ClusterError::PdHttp {
                    method: method.to_string(),
                    path: path.to_string(),
                    status,
                    reason,
                };
                let resp = match req.send().await {
                    Ok(r) => r,
                    Err(e) => {
                        last = Some(err(None, e.to_string()));
                        break;
                    }
                };
                let status = resp.status().as_u16();
                let bytes = resp
                    .bytes()
                    .await
                    .map_err(|e| err(Some(status), e.to_string()))?;
                if status == 200 {
                    return Ok(bytes.to_vec());
                }
                let e = err(Some(status), String::from_utf8_lossy(&bytes).into_owned());
                if status < 500 {
                    return Err(e);
                }
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(100 * (attempt as u64 + 1))).await;
            }
        }
        Err(last.unwrap_or_else(|| ClusterError::PdHttp {
            method: method.to_string(),
            path: path.to_string(),
            status: None,
            reason: "no PD address".into(),
        }))
    }

    async fn json(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let bytes = self.request(method, path, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClusterError::Decode {
            what: "PD HTTP answer",
            reason: format!("{path}: {e}"),
        })
    }

    /// Names of the schedulers (only the paused ones when `paused`).
    pub async fn schedulers(&self, paused: bool) -> Result<Vec<String>> {
        let path = if paused {
            "/pd/api/v1/schedulers?status=paused"
        } else {
            "/pd/api/v1/schedulers"
        };
        let v = self.json(Method::GET, path, None).await?;
        serde_json::from_value(v).map_err(|e| ClusterError::Decode {
            what: "scheduler list",
            reason: e.to_string(),
        })
    }

    /// Pauses a scheduler for `delay` (PD resumes it by itself afterwards); a zero
    /// delay resumes it now (`POST /schedulers/{name}` with `{"delay": seconds}`).
    pub async fn pause_scheduler(&self, name: &str, delay: Duration) -> Result<()> {
        let body = json!({ "delay": delay.as_secs() });
        self.request(
            Method::POST,
            &format!("/pd/api/v1/schedulers/{name}"),
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// PD's schedule config.
    pub async fn schedule_config(&self) -> Result<Map<String, Value>> {
        match self
            .json(Method::GET, "/pd/api/v1/config/schedule", None)
            .await?
        {
            Value::Object(m) => Ok(m),
            other => Err(ClusterError::Decode {
                what: "schedule config",
                reason: format!("not an object: {other}"),
            }),
        }
    }

    /// Sets schedule config values for `ttl` (`POST /config?ttlSecond=N` with
    /// `schedule.`-prefixed keys, pdutil doPauseConfigs); a zero TTL drops the
    /// temporary values at once.
    pub async fn set_schedule_config_ttl(
        &self,
        cfg: &Map<String, Value>,
        ttl: Duration,
    ) -> Result<()> {
        let body: Map<String, Value> = cfg
            .iter()
            .map(|(k, v)| (format!("schedule.{k}"), v.clone()))
            .collect();
        let path = format!("/pd/api/v1/config?ttlSecond={}", ttl.as_secs());
        self.request(Method::POST, &path, Some(&Value::Object(body)))
            .await
            .map(drop)
    }

    /// `max-replicas` of PD's replication config.
    pub async fn max_replicas(&self) -> Result<u64> {
        let v = self
            .json(Method::GET, "/pd/api/v1/config/replicate", None)
            .await?;
        v["max-replicas"]
            .as_u64()
            .ok_or_else(|| ClusterError::Decode {
                what: "replication config",
                reason: format!("no max-replicas in {v}"),
            })
    }

    /// Creates or replaces a region-label rule.
    pub async fn set_label_rule(&self, rule: &Value) -> Result<()> {
        self.request(
            Method::POST,
            "/pd/api/v1/config/region-label/rule",
            Some(rule),
        )
        .await
        .map(drop)
    }

    /// Deletes a region-label rule.
    pub async fn delete_label_rule(&self, id: &str) -> Result<()> {
        self.request(
            Method::DELETE,
            &format!("/pd/api/v1/config/region-label/rule/{id}"),
            None,
        )
        .await
        .map(drop)
    }

    /// Every live region-label rule.
    pub async fn label_rules(&self) -> Result<Vec<Value>> {
        match self
            .json(Method::GET, "/pd/api/v1/config/region-label/rules", None)
            .await?
        {
            Value::Array(v) => Ok(v),
            other => Err(ClusterError::Decode {
                what: "label rules",
                reason: format!("not an array: {other}"),
            }),
        }
    }

    /// PD's version string (`/pd/api/v1/version`).
    pub async fn version(&self) -> Result<String> {
        let v = self.json(Method::GET, "/pd/api/v1/version", None).await?;
        Ok(v["version"].as_str().unwrap_or_default().to_string())
    }
}
