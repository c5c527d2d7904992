//! The controller's files import downward only: no file of `src/` reaches, through
//! `crate::…`, `super::…` or a child module's path, a file that reaches it back. A cycle is
//! reported with every file on it. (References to the crate root are re-exports, not
//! layers, and are left out.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`local::conflict`) → source text, for every file under `src/`.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).expect("under src");
            let mut parts: Vec<String> = rel
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).expect("read file");
            out.insert(parts.join("::"), text);
        }
    }
    out
}

/// Strips `//` comments (doc comments name modules in prose).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path that follows `prefix` (`crate::`, `super::`, `child::`), with `{a, b::c}`
/// groups expanded one level.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| ident(c) || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let p: Vec<String> = item
                    .trim()
                    .split("::")
                    .map(|s| s.trim().chars().take_while(|c| ident(*c)).collect())
                    .filter(|s: &String| !s.is_empty())
                    .collect();
                if !p.is_empty() {
                    out.push(p);
                }
            }
            continue;
        }
        let mut p = Vec::new();
        let mut s = rest;
        loop {
            let seg: String = s.chars().take_while(|c| ident(*c)).collect();
            if seg.is_empty() {
                break;
            }
            s = &s[seg.len()..];
            p.push(seg);
            match s.strip_prefix("::") {
                Some(t) if t.starts_with(|c: char| ident(c)) => s = t,
                _ => break,
            }
        }
        if !p.is_empty() {
            out.push(p);
        }
    }
    out
}

/// The deepest module of `mods` that `base` + `path` names.
fn resolve(mods: &BTreeMap<String, String>, base: &[String], path: &[String]) -> Option<String> {
    let mut best = None;
    for n in 0..=path.len() {
        let full: Vec<&str> = base
            .iter()
            .map(String::as_str)
            .chain(path[..n].iter().map(String::as_str))
            .collect();
        let name = full.join("::");
        if mods.contains_key(&name) {
            best = Some(name);
        }
    }
    best
}

fn graph(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut g = BTreeMap::new();
    for (name, text) in mods {
        let code = code(text);
        let me: Vec<String> = if name.is_empty() {
            Vec::new()
        } else {
            name.split("::").map(String::from).collect()
        };
        let parent = &me[..me.len().saturating_sub(1)];
        let mut deps = BTreeSet::new();
        for p in paths_after(&code, "crate::") {
            deps.extend(resolve(mods, &[], &p));
        }
        for p in paths_after(&code, "super::") {
            deps.extend(resolve(mods, parent, &p));
        }
        // Children named by their relative path (`conflict::Resolution`).
        for child in mods.keys().filter_map(|m| {
            let (head, last) = m.rsplit_once("::").unwrap_or(("", m.as_str()));
            (head == name && !m.is_empty()).then_some(last.to_string())
        }) {
            for p in paths_after(&code, &format!("{child}::")) {
                let mut full = vec![child.clone()];
                full.extend(p);
                deps.extend(resolve(mods, &me, &full));
            }
        }
        deps.remove(name);
        // The crate root only re-exports.
        deps.remove("");
        g.insert(name.clone(), deps);
    }
    g
}

/// A cycle of `g`, if it has one.
fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            match state.get(d.as_str()).copied().unwrap_or(0) {
                1 => {
                    let i = stack.iter().position(|s| s == d).unwrap_or(0);
                    let mut c = stack[i..].to_vec();
                    c.push(d.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(d, g, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, g, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn the_controller_files_import_downward_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    assert!(mods.contains_key("controller::table"), "{:?}", mods.keys());
    let g = graph(&mods);
    // The graph sees the seam: the controller reaches the backend trait, the backends too.
    assert!(g["controller"].contains("backend"), "{:?}", g["controller"]);
    assert!(g["tidb"].contains("backend"), "{:?}", g["tidb"]);
    if let Some(c) = find_cycle(&g) {
        panic!("import cycle: {}", c.join(" -> "));
    }
}

#[test]
fn the_checker_finds_a_cycle() {
    let mut mods = BTreeMap::new();
    mods.insert(String::new(), "mod a; mod b;".to_string());
    mods.insert("a".into(), "mod c;\nuse crate::b::X;\nuse c::Y;".into());
    mods.insert("a::c".into(), "use super::{Z, W};".into());
    mods.insert(
        "b".into(),
        "// crate::a is only named here\nfn f() {}".into(),
    );
    let g = graph(&mods);
    assert_eq!(
        g["a"],
        BTreeSet::from(["b".to_string(), "a::c".to_string()])
    );
    assert!(g["b"].is_empty(), "{:?}", g["b"]);
    let c = find_cycle(&g).expect("a -> a::c -> a");
    assert!(
        c.contains(&"a".to_string()) && c.contains(&"a::c".to_string()),
        "{c:?}"
    );
}
