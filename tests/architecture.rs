//! The library's modules form layers: no module reaches back up (no import cycle), and
//! the bottom layer (credentials, URLs, errors) depends on nothing that uses it. Read
//! from the sources: every `crate::module` a library file names, tests excluded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Library module -> the library modules it names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            // A folder is one module (sources/); the binary's cli/ is not the library.
            if p.file_name().unwrap() != "cli" {
                for f in std::fs::read_dir(&p).unwrap() {
                    files.push((
                        p.file_name().unwrap().to_str().unwrap().to_owned(),
                        f.unwrap().path(),
                    ));
                }
            }
        } else if p.extension().is_some_and(|e| e == "rs") {
            let stem = p.file_stem().unwrap().to_str().unwrap().to_owned();
            if stem != "main" && stem != "lib" {
                files.push((stem, p));
            }
        }
    }
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, _) in &files {
        g.entry(module.clone()).or_default();
    }
    let modules: BTreeSet<String> = g.keys().cloned().collect();
    // Names the crate root re-exports (`pub use issuer::Issuer;`) stand for their module.
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut reexports: BTreeMap<String, String> = BTreeMap::new();
    for stmt in lib.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = name.trim().rsplit(" as ").next().unwrap_or("").trim();
            reexports.insert(name.to_owned(), module.to_owned());
        }
    }
    for (module, path) in files {
        let text = std::fs::read_to_string(&path).unwrap();
        // Code only: tests and comments (doc links) are not dependencies.
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut deps = BTreeSet::new();
        // `crate::x` and the names inside `use crate::{x, y::z}`.
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                group
                    .split(',')
                    .map(|n| n.trim().split("::").next().unwrap_or(""))
                    .collect()
            } else {
                vec![rest
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or("")]
            };
            for n in names {
                let target = reexports.get(n).map_or(n, String::as_str);
                if modules.contains(target) && target != module {
                    deps.insert(target.to_owned());
                }
            }
        }
        g.entry(module).or_default().extend(deps);
    }
    g
}

fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        g: &BTreeMap<String, BTreeSet<String>>,
        n: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(n.to_owned());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_owned());
        for d in &g[n] {
            if let Some(c) = visit(g, d, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        if let Some(c) = visit(g, n, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn library_modules_have_no_import_cycle() {
    let g = graph();
    assert!(g.len() > 20, "{g:?}");
    if let Some(c) = find_cycle(&g) {
        panic!("import cycle: {}", c.join(" -> "));
    }
}

#[test]
fn the_bottom_layer_depends_on_nothing_above_it() {
    let g = graph();
    let above = [
        "sts",
        "cache",
        "sources",
        "plan",
        "executor",
        "issuer",
        "token",
        "verify",
        "http",
        "endpoint",
        "eks",
        "config_files",
    ];
    for low in [
        "credentials",
        "secret",
        "env",
        "error",
        "url",
        "timefmt",
        "log",
    ] {
        let bad: Vec<&String> = g[low]
            .iter()
            .filter(|d| above.contains(&d.as_str()))
            .collect();
        assert!(bad.is_empty(), "{low} depends on {bad:?}");
    }
    // The sources and the cache sit on STS and the credentials type, never the reverse.
    for low in ["sts", "cache", "credentials"] {
        for high in ["sources", "plan", "executor", "issuer"] {
            assert!(!g[low].contains(high), "{low} depends on {high}");
        }
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.insert("a".into(), ["b".to_owned()].into());
    g.insert("b".into(), ["c".to_owned()].into());
    g.insert("c".into(), ["a".to_owned()].into());
    assert_eq!(find_cycle(&g).unwrap(), ["a", "b", "c", "a"]);
    g.insert("c".into(), BTreeSet::new());
    assert!(find_cycle(&g).is_none());
}

/// No source file (src, tests, fuzz) over 700 lines: a file that long holds more than
/// one concern.
#[test]
fn no_source_file_is_over_700_lines() {
    fn walk(dir: &std::path::Path, out: &mut Vec<(usize, String)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                if !["target", "corpus", "artifacts"]
                    .iter()
                    .any(|n| p.ends_with(n))
                {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                let n = std::fs::read_to_string(&p).unwrap().lines().count();
                out.push((n, p.display().to_string()));
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for d in ["src", "tests", "fuzz"] {
        walk(&root.join(d), &mut files);
    }
    let long: Vec<_> = files.iter().filter(|(n, _)| *n > 700).collect();
    assert!(files.len() > 50, "{} files found", files.len());
    assert!(long.is_empty(), "over 700 lines: {long:?}");
}
