//! The shape of the code, checked: no import cycle between the top-level modules of `src/`,
//! no source file over 800 lines, and no English word list in the NER's code (its words live
//! in `fixtures/ner/lexicon.toml`). Test code (`tests.rs` files and `mod tests` blocks) is
//! left out: a module's tests may use a layer above it.
//!
//! `cargo test --test layering -- --nocapture` prints the layers, lowest first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The library code of a file: no comment lines, nothing from its `mod tests` block on;
/// empty for a `tests.rs` file.
fn library_code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).expect("readable source");
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|n| n.trim_start().starts_with("mod tests"))
        {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The top-level module a library file belongs to (`redact` for `src/redact/vault.rs`), or
/// `None` for the crate root and the binary.
fn top_module(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "bin" => None,
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

/// The top-level modules `code` names through `crate::`.
fn references(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        // `crate::name::...` or `crate::{a::..., b, ...}`.
        let names: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end]
                .split(',')
                .map(|item| {
                    item.trim()
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        } else {
            vec![
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            ]
        };
        out.extend(names.into_iter().filter(|n| modules.contains(n)));
    }
    out
}

/// The import graph between top-level modules: module → modules it uses.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let files: Vec<(String, PathBuf)> = rust_files(&src())
        .into_iter()
        .filter_map(|p| top_module(&p).map(|m| (m, p)))
        .collect();
    let modules: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for (module, path) in &files {
        let uses = references(&library_code(path), &modules);
        if let Some(edges) = graph.get_mut(module) {
            edges.extend(uses.into_iter().filter(|u| u != module));
        }
    }
    graph
}

/// A cycle of `graph`, if it has one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, done, path) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, graph, &mut done, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let graph = graph();
    assert!(graph.contains_key("redact") && graph.contains_key("pipeline"));
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
    // The layers, lowest first: each module only uses modules of lower layers.
    let mut layer: BTreeMap<&str, usize> = BTreeMap::new();
    while layer.len() < graph.len() {
        for (m, uses) in &graph {
            if layer.contains_key(m.as_str()) {
                continue;
            }
            if uses.iter().all(|u| layer.contains_key(u.as_str())) {
                let l = uses
                    .iter()
                    .map(|u| layer[u.as_str()] + 1)
                    .max()
                    .unwrap_or(0);
                layer.insert(m, l);
            }
        }
    }
    let deepest = layer.values().max().copied().unwrap_or(0);
    for l in 0..=deepest {
        let names: Vec<&str> = layer
            .iter()
            .filter(|(_, v)| **v == l)
            .map(|(k, _)| *k)
            .collect();
        println!("layer {l}: {}", names.join(", "));
    }
    // The redaction core stands below the rules, the NER and the pipeline.
    assert!(!graph["redact"].contains("rules"));
    assert!(!graph["redact"].contains("pipeline"));
    assert!(layer["redact"] < layer["rules"]);
}

#[test]
fn the_checker_finds_a_cycle_when_there_is_one() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.insert("a".into(), ["b".to_string()].into());
    g.insert("b".into(), ["c".to_string()].into());
    g.insert("c".into(), BTreeSet::new());
    assert_eq!(find_cycle(&g), None);
    g.get_mut("c").expect("c").insert("a".into());
    assert_eq!(
        find_cycle(&g),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let modules: BTreeSet<String> = ["redact".to_string(), "rules".to_string()].into();
    let code = "use crate::{redact::Span, rules::RuleSet};\nlet x = crate::redact::Vault::new();";
    assert_eq!(references(code, &modules), modules);
}

#[test]
fn no_source_file_is_over_800_lines() {
    let long: Vec<String> = rust_files(&src())
        .into_iter()
        .filter_map(|p| {
            let n = std::fs::read_to_string(&p)
                .expect("readable")
                .lines()
                .count();
            (n > 800).then(|| format!("{} ({n} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these files: {long:?}");
}

#[test]
fn the_ner_code_holds_no_word_list() {
    // Three or more word literals in a row is a word list: it belongs in the lexicon. (Names
    // in capitals, `"PERSON"`, are entity types, not words.)
    let mut lists = Vec::new();
    for path in rust_files(&src().join("ner")) {
        let code = library_code(&path);
        let mut run = 0;
        for token in code.split([',', '[', ']', '\n']) {
            let t = token.trim();
            let word = t.len() > 2
                && t.starts_with('"')
                && t.ends_with('"')
                && t[1..t.len() - 1]
                    .chars()
                    .all(|c| c.is_alphabetic() || c == '\'' || c == ' ')
                && t.chars().any(char::is_lowercase);
            run = if word {
                run + 1
            } else if t.is_empty() {
                run
            } else {
                0
            };
            if run == 3 {
                lists.push(format!("{}: …{t}", path.display()));
            }
        }
    }
    assert!(
        lists.is_empty(),
        "word lists in NER code (move them to the lexicon): {lists:?}"
    );
}
