//! The engine's modules form layers: no import cycle among them, and the
//! pure model layers never reach up to ranking, insights or the facade.
//!
//! Reads the crate's own sources (comments and test code left out) and builds
//! the graph of `crate::<module>` references between top-level modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module a source file belongs to, or `None` for test-only files.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .to_string();
    let name = first.trim_end_matches(".rs").to_string();
    let test_only =
        name == "testkit" || rel.file_name().is_some_and(|f| f == "tests.rs") || name == "lib";
    (!test_only).then_some(name)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Code of a file without comments and without its inline test module.
fn code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => text,
    };
    body.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `crate::x` references in `code`, plus the names a `use crate::{a, b::c}` group brings in.
fn references(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out.into_iter()
        .map(|n| match n.as_str() {
            // Re-exports at the crate root.
            "Engine" => "engine".to_string(),
            "EngineError" | "Result" => "error".to_string(),
            _ => n,
        })
        .filter(|n| modules.contains(n))
        .collect()
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(m) = module_of(&src, f) else {
            continue;
        };
        let text = std::fs::read_to_string(f).expect("readable source");
        let refs = references(&code(&text), &modules);
        g.entry(m.clone())
            .or_default()
            .extend(refs.into_iter().filter(|r| *r != m));
    }
    g
}

fn reaches(g: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(m) = stack.pop() {
        for n in g.get(&m).into_iter().flatten() {
            if n == to {
                return true;
            }
            if seen.insert(n.clone()) {
                stack.push(n.clone());
            }
        }
    }
    false
}

#[test]
fn no_module_imports_itself_through_a_cycle() {
    let g = graph();
    assert!(g.len() > 15, "found the modules: {:?}", g.keys());
    let cycles: Vec<&String> = g.keys().filter(|m| reaches(&g, m, m)).collect();
    assert!(
        cycles.is_empty(),
        "modules in an import cycle: {cycles:?}\n{g:#?}"
    );
}

#[test]
fn the_model_layers_stay_below_ranking_insights_and_the_facade() {
    let g = graph();
    for low in [
        "stats",
        "ids",
        "error",
        "observe",
        "catalog",
        "config",
        "follow",
        "map",
        "network",
        "population",
        "model",
        "state",
        "benefit",
    ] {
        for high in ["rank", "insights", "engine", "sim", "ope", "train", "learn"] {
            assert!(!reaches(&g, low, high), "`{low}` reaches `{high}`");
        }
    }
    assert!(
        g.get("stats").is_none_or(|deps| deps.is_empty()),
        "stats is the leaf: {:?}",
        g.get("stats")
    );
}
