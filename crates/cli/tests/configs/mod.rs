//! Shared by the tests that write configs from a base and a case's extra TOML: the merge,
//! and the base config of a `local` import into a simulated cluster.
#![allow(dead_code)]

use lightning_testkit::sim::TestCluster;
use std::path::Path;

/// A `local` import of `dir` into `tc`, checkpoints off, its log and sorted KV under `work`
/// named after `tag`.
pub fn local(tc: &TestCluster, work: &Path, tag: &str, dir: &Path) -> String {
    format!(
        "[lightning]\nfile = {log:?}\n[checkpoint]\nenable = false\n\
         [tikv-importer]\nbackend = \"local\"\nsorted-kv-dir = {kv:?}\n\
         [tidb]\nhost = \"127.0.0.1\"\nport = {port}\nstatus-port = {status}\npd-addr = {pd:?}\nuser = \"root\"\n\
         [mydumper]\ndata-source-dir = {dir:?}\n",
        log = work.join(format!("{tag}.log")).display().to_string(),
        kv = work.join(format!("{tag}-kv")).display().to_string(),
        port = tc.tidb().addr().port(),
        status = tc.tidb().status_addr().port(),
        pd = tc.cluster().addrs().pd,
        dir = dir.display().to_string(),
    )
}

/// `base` TOML with `extra`'s keys merged in (section by section).
pub fn merge(base: &str, extra: &str) -> String {
    let mut t: toml::Table = base.parse().expect("base TOML");
    let e: toml::Table = extra.parse().expect("extra TOML");
    for (k, v) in e {
        match (t.get_mut(&k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => a.extend(b),
            (_, v) => {
                t.insert(k, v);
            }
        }
    }
    toml::to_string(&t).expect("serialize")
}
