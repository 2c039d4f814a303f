//! The module graph keeps its direction: the collection core knows no provider, no provider knows
//! another, the results contract does not depend on the engine that fills it, and the helpers below
//! collectors and rules know neither. Read from the sources (every `crate::…` path of every file under
//! `src/`, comments left out), so a new import that breaks a rule fails here, naming file and line.
//! `docs/adding-a-provider.md` shows how to draw the whole graph with `cargo modules`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One use of another top-level module: the file, the line, the module used.
struct Edge {
    file: PathBuf,
    line: usize,
    to: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/aws/ops/ec2.rs` → `aws`), None for the crate root.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (!matches!(name.as_str(), "lib" | "main")).then_some(name)
}

/// Every `crate::NAME` and `crate::{NAME, …}` in the file, outside comments, by line.
fn uses(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut grouped = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                grouped = true;
                rest = group;
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push((i + 1, name));
            }
        }
        if grouped {
            // `use crate::{a, b::c,` possibly over several lines: the first segment of each item.
            for item in line.split([',', '{']) {
                let item = item.trim().trim_start_matches("crate::");
                let name: String = item
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != "use" && name != "pub" {
                    out.push((i + 1, name));
                }
            }
            if line.contains('}') {
                grouped = false;
            }
        }
    }
    out
}

fn graph() -> Vec<(String, Edge)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut edges = Vec::new();
    for file in files {
        let Some(from) = module_of(&src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, to) in uses(&text) {
            if to != from {
                let file = file
                    .strip_prefix(src.parent().unwrap())
                    .unwrap()
                    .to_path_buf();
                edges.push((from.clone(), Edge { file, line, to }));
            }
        }
    }
    edges
}

/// The provider modules: those the registry (`src/providers/mod.rs`, `ADAPTERS`) lists.
fn providers() -> BTreeSet<String> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/providers/mod.rs"))
            .unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("static ADAPTERS"))
        .expect("ADAPTERS");
    let found: BTreeSet<String> = uses(line).into_iter().map(|(_, m)| m).collect();
    assert!(found.len() >= 2, "providers in the registry: {found:?}");
    found
}

#[test]
fn the_module_graph_keeps_its_direction() {
    let providers = providers();
    let core_must_not_use: BTreeSet<&str> = [
        "providers",
        "rules",
        "engine",
        "results",
        "report",
        "app",
        "cli",
    ]
    .into();
    let below_rules_and_collectors: BTreeSet<&str> =
        ["jsonpath", "convert", "pack", "scope"].into();
    let mut broken = Vec::new();
    for (from, e) in graph() {
        let at = format!("{}:{}: {from} uses {}", e.file.display(), e.line, e.to);
        let why = if from == "collect"
            && (providers.contains(&e.to) || core_must_not_use.contains(e.to.as_str()))
        {
            Some("the collection core knows no provider and nothing above it")
        } else if providers.contains(&from) && providers.contains(&e.to) {
            Some("a provider never uses another")
        } else if from == "results" && e.to == "engine" {
            Some("results.json is a contract the engine fills, not a part of it")
        } else if from == "collect" && e.to == "rules" {
            Some("collecting knows nothing of the rule language")
        } else if below_rules_and_collectors.contains(from.as_str())
            && (["rules", "engine", "collect", "report", "app", "cli"].contains(&e.to.as_str())
                || providers.contains(&e.to))
        {
            Some("the helpers below collectors and rules know neither")
        } else if (e.to == "app" && from != "cli") || e.to == "cli" {
            Some("only the command line uses the application layer, and nothing uses the command line")
        } else {
            None
        };
        if let Some(why) = why {
            broken.push(format!("{at} ({why})"));
        }
    }
    assert!(broken.is_empty(), "module graph:\n{}", broken.join("\n"));
}

#[test]
fn the_reader_sees_every_kind_of_use() {
    let text = "use crate::pack::Pack; // crate::engine in a comment\nuse crate::{\n    jsonpath::Query,\n    probes,\n};\nlet x = crate::aws::partition_of_region(r);\n";
    let found: Vec<(usize, String)> = uses(text);
    let names: Vec<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["pack", "jsonpath", "probes", "aws"], "{found:?}");
    assert_eq!(found[3].0, 6);
}
