//! Shared by the tests that write configs from a base and a case's extra TOML.

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
