//! Every relative link in the README, the docs and the other top-level documents
//! resolves: the file exists, and a `#anchor` names a heading of it (GitHub's slugs).
//! (Links to other sites are not followed: the tests send nothing off this machine.)

use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = ["README.md", "SECURITY.md", "CHANGELOG.md"]
        .iter()
        .map(|d| root().join(d))
        .collect();
    for e in std::fs::read_dir(root().join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            docs.push(p);
        }
    }
    docs.sort();
    docs
}

/// GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped,
/// spaces as `-`; a repeated one gets `-1`, `-2`, ...
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let Some(title) = line.strip_prefix('#').filter(|_| !fenced) else {
            continue;
        };
        let title = title.trim_start_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut candidate = slug.clone();
        let mut n = 0;
        while seen.contains(&candidate) {
            n += 1;
            candidate = format!("{slug}-{n}");
        }
        seen.insert(candidate);
    }
    seen
}

/// The `(target)` of each `[text](target)` outside code.
fn links(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = match link.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (link.as_str(), None),
            };
            let target = if path.is_empty() {
                doc.clone()
            } else {
                doc.parent().unwrap().join(path)
            };
            let name = format!("{}: {link}", doc.strip_prefix(root()).unwrap().display());
            if !target.exists() {
                broken.push(format!("{name} (no such file)"));
                continue;
            }
            if let Some(a) = anchor {
                let is_md = target.extension().is_some_and(|x| x == "md");
                if is_md && !anchors(&std::fs::read_to_string(&target).unwrap()).contains(a) {
                    broken.push(format!("{name} (no such heading)"));
                }
            }
        }
    }
    assert!(checked > 30, "only {checked} links found");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_starts_with_the_user() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    assert!(lines.len() <= 400, "{} lines", lines.len());
    let at = |needle: &str| lines.iter().position(|l| l.contains(needle));
    assert!(
        at("make demo").is_some_and(|i| i < 30),
        "make demo in the first 30 lines"
    );
    assert!(
        at("make test").is_some_and(|i| i < 30),
        "make test in the first 30 lines"
    );
    assert!(
        at("## Install").is_some_and(|i| i < 60),
        "Install in the first 60 lines"
    );
    assert!(at("## Contents").is_some(), "a table of contents");
    for f in ["LICENSE", "CHANGELOG.md", "SECURITY.md"] {
        assert!(Path::new(&root().join(f)).is_file(), "{f}");
    }
}
