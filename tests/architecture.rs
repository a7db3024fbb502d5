//! The crate's files form layers, the command line's (`src/cli/`) included: no file
//! reaches back up (no import cycle, file by file), the bottom layer (credentials, URLs,
//! errors) depends on nothing that uses it, and the library holds no process-wide
//! mutable state. Read from the sources: every path a file names (`crate::`, `super::`,
//! a child module's, `eks_token::` from the command line), tests and comments excluded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every source file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A file's module: its path under `src/` without `.rs`, `mod.rs` standing for its
/// folder (`cache`, `cache/clock`, `cli/args/lexer`).
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let rel = rel.to_str().unwrap().to_owned();
    rel.strip_suffix("/mod").map_or(rel.clone(), str::to_owned)
}

/// The code of a file: no test module, no comments.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a file's code names: each `a::b::c` (with `{...}` groups expanded), as
/// segments, with whether it stands in a re-export (`pub use`, `pub(crate) use`).
fn paths_of(code: &str) -> Vec<(Vec<String>, bool)> {
    let mut out = Vec::new();
    for stmt_line in code.lines() {
        let reexport = {
            let t = stmt_line.trim_start();
            t.starts_with("pub use ") || t.starts_with("pub(crate) use ")
        };
        let bytes: Vec<char> = stmt_line.chars().collect();
        let mut i = 0;
        while i < bytes.len() {
            // A path starts at an identifier not preceded by an identifier char or `::`.
            let c = bytes[i];
            let starts = (c.is_alphabetic() || c == '_')
                && (i == 0
                    || !(bytes[i - 1].is_alphanumeric()
                        || bytes[i - 1] == '_'
                        || bytes[i - 1] == ':'));
            if !starts {
                i += 1;
                continue;
            }
            let (paths, next) = read_path(&bytes, i);
            for p in paths {
                if p.len() > 1 {
                    out.push((p, reexport));
                }
            }
            i = next.max(i + 1);
        }
    }
    out
}

/// The path(s) at `at`: `a::b::{c, d::e}` gives `a::b::c` and `a::b::d::e`.
fn read_path(chars: &[char], mut at: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix: Vec<String> = Vec::new();
    loop {
        let start = at;
        while at < chars.len() && (chars[at].is_alphanumeric() || chars[at] == '_') {
            at += 1;
        }
        if at == start {
            break;
        }
        prefix.push(chars[start..at].iter().collect());
        if chars.get(at) == Some(&':') && chars.get(at + 1) == Some(&':') {
            at += 2;
            if chars.get(at) == Some(&'{') {
                // A group: each part a path of its own after the prefix.
                let mut depth = 0;
                let mut end = at;
                while end < chars.len() {
                    match chars[end] {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    end += 1;
                }
                let inner: String = chars[at + 1..end.min(chars.len())].iter().collect();
                let mut out = Vec::new();
                for part in inner.split(',') {
                    let part: Vec<char> = part.trim().chars().collect();
                    if part.is_empty() {
                        continue;
                    }
                    let (subs, _) = read_path(&part, 0);
                    for sub in subs {
                        let mut p = prefix.clone();
                        p.extend(sub);
                        out.push(p);
                    }
                    if part.iter().all(|c| c.is_alphanumeric() || *c == '_') {
                        continue;
                    }
                }
                return (out, end + 1);
            }
            continue;
        }
        break;
    }
    (vec![prefix], at)
}

/// Module -> the modules it names (files), for the library and the command line.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    // Roots and the test and fuzz hooks (which reach everything, as tests do).
    let skip = ["lib", "main", "fuzzing", "testkit"];
    let files: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|f| (module_of(&f), f))
        .filter(|(m, _)| !skip.contains(&m.as_str()))
        .collect();
    let modules: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &files {
        let here: Vec<String> = module.split('/').map(str::to_owned).collect();
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let mut deps = BTreeSet::new();
        for (path, reexport) in paths_of(&code) {
            let mut segs: Vec<String> = match path[0].as_str() {
                "crate" => path[1..].to_vec(),
                // The command line naming the library.
                "eks_token" if here[0] == "cli" => path[1..].to_vec(),
                "self" => here
                    .iter()
                    .cloned()
                    .chain(path[1..].iter().cloned())
                    .collect(),
                "super" => {
                    let mut base = here.clone();
                    let mut rest = &path[..];
                    while rest.first().map(String::as_str) == Some("super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    base.into_iter().chain(rest.iter().cloned()).collect()
                }
                // A child module's path (`scalars::typed_scalar` in yaml/mod.rs).
                first if modules.contains(&format!("{module}/{first}")) => {
                    here.iter().cloned().chain(path.iter().cloned()).collect()
                }
                _ => continue,
            };
            // The module named: the longest prefix that is a file.
            let target = loop {
                if segs.is_empty() {
                    break None;
                }
                let m = segs.join("/");
                if modules.contains(&m) {
                    break Some(m);
                }
                segs.pop();
            };
            let Some(target) = target else { continue };
            // A folder's interface: its mod.rs re-exporting its children.
            let child = target.starts_with(&format!("{module}/"));
            if target == *module || (reexport && child) {
                continue;
            }
            deps.insert(target);
        }
        g.insert(module.clone(), deps);
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
fn no_file_has_an_import_cycle_the_command_line_included() {
    let g = graph();
    assert!(g.len() > 60, "{g:?}");
    assert!(g.keys().any(|m| m.starts_with("cli/args/")), "{g:?}");
    // The graph sees what it must: a file naming another through `super::`, a child
    // module, `crate::` and the library.
    assert!(
        g["cli/args/lexer"].contains("cli/args/low"),
        "{:?}",
        g["cli/args/lexer"]
    );
    assert!(g["yaml"].contains("yaml/scalars"), "{:?}", g["yaml"]);
    assert!(
        g["cli/commands/doctor"].contains("doctor"),
        "{:?}",
        g["cli/commands/doctor"]
    );
    if let Some(c) = find_cycle(&g) {
        panic!("import cycle: {}", c.join(" -> "));
    }
}

/// No `static` in the library holds mutable state (an atomic, a lock, a cell): a run's
/// state is the caller's ([`eks_token::Runtime`]), so two runs in one program never
/// share it. The binary's own `main.rs` and `cli/` may (signal handling).
#[test]
fn the_library_has_no_process_wide_mutable_state() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mutable = [
        "Atomic", "Mutex", "RwLock", "OnceLock", "OnceCell", "LazyLock", "Cell<", "RefCell",
    ];
    let mut found = Vec::new();
    for f in files {
        let m = module_of(&f);
        if m == "main" || m == "cli" || m.starts_with("cli/") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let t = line.trim_start();
            let is_static = t.starts_with("static ")
                || t.starts_with("pub static ")
                || t.starts_with("pub(crate) static ")
                || t.contains("thread_local!");
            if is_static && mutable.iter().any(|k| line.contains(k)) {
                found.push(format!("{}:{}: {t}", f.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "process-wide state: {found:#?}");
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
        "tls",
        "endpoint",
        "eks",
        "config_files",
    ];
    let is = |d: &str, m: &str| d == m || d.starts_with(&format!("{m}/"));
    for low in [
        "credentials",
        "secret",
        "env",
        "error",
        "url",
        "timefmt",
        "log",
        "runtime",
    ] {
        let bad: Vec<&String> = g[low]
            .iter()
            .filter(|d| above.iter().any(|a| is(d, a)))
            .collect();
        assert!(bad.is_empty(), "{low} depends on {bad:?}");
    }
    // The sources and the cache sit on STS and the credentials type, never the reverse;
    // the library never on the command line.
    for (low, deps) in &g {
        for high in ["sources", "plan", "executor", "issuer", "doctor"] {
            if ["sts", "cache", "credentials"].iter().any(|l| is(low, l)) {
                assert!(!deps.iter().any(|d| is(d, high)), "{low} depends on {high}");
            }
        }
        if !is(low, "cli") {
            assert!(
                !deps.iter().any(|d| is(d, "cli")),
                "{low} depends on the command line"
            );
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
