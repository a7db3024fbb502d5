//! YAML without I/O, as kubectl (client-go's go-yaml v2) and aws-iam-authenticator read
//! it: loading within bounds (depth, nodes, the bytes aliases copy, a deadline), and
//! writing (in aws-cli's layout, [`pyyaml`], else yaml-rust2's). For kubeconfigs
//! ([`crate::kubeconfig`]) and aws-auth ConfigMaps ([`crate::mapping`]).

mod pyyaml;
mod refused;
mod scalars;

use std::time::Instant;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter};

pub(crate) use refused::Refused;
use refused::{MAX_DEPTH, MAX_NODES};
#[cfg(test)]
pub(crate) use scalars::resolve_plain;
use scalars::typed_scalar;

/// Bytes of text the aliases of a text may copy beyond the text's own size (a few
/// aliases of small values, as kubeconfigs use them, copy a few hundred).
const ALIAS_ALLOWANCE: usize = 64 << 10;

/// The most bytes of text the aliases of a `len`-byte text may copy: twice the text and
/// the allowance, so that what a text loads into stays linear in its size.
fn alias_budget(len: usize) -> usize {
    len.saturating_mul(2).saturating_add(ALIAS_ALLOWANCE)
}

pub(crate) fn key(k: &str) -> Yaml {
    Yaml::String(k.to_owned())
}

pub(crate) fn map(entries: Vec<(&str, Yaml)>) -> Yaml {
    Yaml::Hash(entries.into_iter().map(|(k, v)| (key(k), v)).collect())
}

pub(crate) fn string(s: &str) -> Yaml {
    Yaml::String(s.to_owned())
}

/// How plain scalars are read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Typing {
    /// As kubectl (go-yaml v2) types them: `yes` is true, `0755` is 493.
    Kubectl,
    /// As their text (go-yaml v2 decoding into a string: `012345678901` stays that).
    Text,
}

/// An open collection while loading: the node, its anchor, the node count and the bytes
/// of text loaded at its start; for a mapping, the key waiting for its value and whether
/// that key is a merge key (`<<`).
struct Open {
    node: Yaml,
    anchor: usize,
    start: usize,
    start_bytes: usize,
    key: Option<Yaml>,
    merge: bool,
}

/// The documents of `text` as kubectl (client-go's go-yaml v2) reads them: plain scalars
/// typed as `typing` says ([`resolve_plain`] for kubectl's types), explicit tags (`!!int`, `!!str`, `!!binary`, ...)
/// applied, merge keys (`<<: *base`) expanded, a key given twice taking its last value.
/// Loaded in one pass over the parser's events, in memory linear in the text: at most
/// [`MAX_DEPTH`] levels and [`MAX_NODES`] nodes, aliases counted at the size of what
/// they expand to, in nodes and in bytes of scalar text (each alias is loaded as a copy,
/// so ten aliases of ten aliases of ... would take exponential memory, "billion
/// laughs", and a few thousand aliases of one large value as much); the deadline is
/// checked as it goes.
pub(crate) fn documents(
    text: &str,
    deadline: Instant,
    typing: Typing,
) -> Result<Vec<Yaml>, Refused> {
    let not_yaml = |e: &dyn std::fmt::Display| Refused::NotYaml(e.to_string());
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    // Each anchored node and its expanded size (nodes, bytes of text).
    let mut anchors: std::collections::HashMap<usize, (Yaml, usize, usize)> =
        std::collections::HashMap::new();
    let mut nodes: usize = 0;
    // Bytes of scalar text loaded, and of them those aliases copied.
    let mut bytes: usize = 0;
    let mut copied: usize = 0;
    let budget = alias_budget(text.len());
    for event_count in 0usize.. {
        if event_count % 4096 == 4095 && Instant::now() >= deadline {
            return Err(Refused::Deadline);
        }
        let (event, _) = parser.next_token().map_err(|e| not_yaml(&e))?;
        let mut merge_key = false;
        let (node, anchor, size, size_bytes) = match event {
            Event::StreamEnd => return Ok(docs),
            Event::Scalar(value, style, anchor, tag) => {
                nodes += 1;
                let len = value.len();
                bytes += len;
                merge_key = style == yaml_rust2::scanner::TScalarStyle::Plain
                    && tag.is_none()
                    && value == "<<";
                let node = if typing == Typing::Text && tag.is_none() {
                    Yaml::String(value)
                } else {
                    typed_scalar(value, style, tag)?
                };
                (node, anchor, 1, len)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                nodes += 1;
                let (node, key) = match event {
                    Event::SequenceStart(..) => (Yaml::Array(Vec::new()), None),
                    _ => (Yaml::Hash(Hash::new()), Some(Yaml::BadValue)),
                };
                open.push(Open {
                    node,
                    anchor,
                    start: nodes,
                    start_bytes: bytes,
                    key,
                    merge: false,
                });
                if open.len() > MAX_DEPTH {
                    return Err(Refused::TooDeep);
                }
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let o = open.pop().ok_or(Refused::NotYaml("unbalanced".into()))?;
                (o.node, o.anchor, nodes - o.start + 1, bytes - o.start_bytes)
            }
            Event::Alias(id) => {
                // Counted before the copy is made: a budget exceeded copies nothing.
                let (size, size_bytes) = anchors.get(&id).map_or((1, 0), |a| (a.1, a.2));
                nodes = nodes.saturating_add(size);
                bytes = bytes.saturating_add(size_bytes);
                copied = copied.saturating_add(size_bytes);
                if copied > budget {
                    return Err(Refused::AliasesTooLarge(budget));
                }
                if nodes > MAX_NODES {
                    return Err(Refused::TooManyNodes);
                }
                let node = anchors.get(&id).map_or(Yaml::BadValue, |a| a.0.clone());
                (node, 0, size, size_bytes)
            }
            _ => continue,
        };
        if nodes > MAX_NODES {
            return Err(Refused::TooManyNodes);
        }
        if anchor != 0 {
            anchors.insert(anchor, (node.clone(), size, size_bytes));
        }
        let Some(parent) = open.last_mut() else {
            docs.push(node);
            continue;
        };
        match (&mut parent.node, &mut parent.key) {
            (Yaml::Array(items), _) => items.push(node),
            (Yaml::Hash(h), Some(waiting)) => {
                if matches!(waiting, Yaml::BadValue) {
                    *waiting = node;
                    parent.merge = merge_key;
                } else {
                    let k = std::mem::replace(waiting, Yaml::BadValue);
                    if std::mem::take(&mut parent.merge) {
                        merge(h, node)?;
                    } else {
                        // A key given twice: the last value, as kubectl reads it.
                        h.insert(k, node);
                    }
                }
            }
            _ => unreachable!("only collections are open"),
        }
    }
    unreachable!("the loop ends at the stream's end")
}

/// A merge key's value merged into the mapping `h` as go-yaml v2 does: a mapping's
/// entries, or those of a list of mappings (earlier ones take precedence), set over
/// what is there; keys given after the merge key set over them.
fn merge(h: &mut Hash, value: Yaml) -> Result<(), Refused> {
    let mappings = match value {
        Yaml::Hash(m) => vec![m],
        Yaml::Array(items) => items
            .into_iter()
            .rev()
            .map(|i| match i {
                Yaml::Hash(m) => Ok(m),
                _ => Err(Refused::Merge),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(Refused::Merge),
    };
    for m in mappings {
        for (k, v) in m {
            h.insert(k, v);
        }
    }
    Ok(())
}

/// The YAML text of `y` as aws-cli writes it where [`pyyaml`] covers it, else
/// yaml-rust2's.
pub(crate) fn dump(y: &Yaml) -> String {
    pyyaml::dump(y).unwrap_or_else(|| emit(y))
}

/// The texts `y` may be written as, best first: aws-cli's layout where it covers `y`,
/// then yaml-rust2's (for a caller that checks what reads back).
pub(crate) fn texts(y: &Yaml) -> impl Iterator<Item = String> {
    [pyyaml::dump(y), Some(emit(y))].into_iter().flatten()
}

/// `y` as JSON (for the kubeconfigs eks-token prints as JSON).
pub(crate) fn to_json(y: &Yaml) -> serde_json::Value {
    use serde_json::Value;
    match y {
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        other => to_json(other).to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Real(r) => r.parse::<f64>().map_or(Value::Null, Value::from),
        _ => Value::Null,
    }
}

/// yaml-rust2's YAML text of `y`, without the document marker.
fn emit(y: &Yaml) -> String {
    let mut out = String::new();
    YamlEmitter::new(&mut out)
        .dump(y)
        .expect("writing to a String");
    let body = out.strip_prefix("---\n").unwrap_or(&out);
    format!("{}\n", body.trim_end_matches('\n'))
}

/// The likely cause of a YAML error in `text`: its first line that starts with a dash
/// meant as a list item, without the space YAML needs after it (`-system:masters`).
pub(crate) fn not_a_list_item(text: &str) -> Option<String> {
    text.lines().enumerate().find_map(|(i, line)| {
        let rest = line.trim_start().strip_prefix('-')?;
        (!rest.is_empty() && !rest.starts_with(['-', ' ', '\t'])).then(|| {
            format!(
                "line {} of it, {:?}, is not a list item (a dash needs a space after it): \
                 write \"- {rest}\"",
                i + 1,
                line.trim()
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dash_without_its_space_is_named_at_its_line() {
        let text = "---\n- rolearn: r\n  groups:\n  -system:masters\n";
        assert_eq!(
            not_a_list_item(text).unwrap(),
            "line 4 of it, \"-system:masters\", is not a list item (a dash needs a space \
             after it): write \"- system:masters\""
        );
        for fine in ["- a\n-\n---\n", "a: -1x\n", "  - x\n"] {
            assert_eq!(not_a_list_item(fine), None, "{fine:?}");
        }
    }

    fn later() -> Instant {
        Instant::now() + std::time::Duration::from_secs(60)
    }

    /// Aliases of a large value: each copy counts its bytes, so a text whose aliases
    /// would copy far more than it holds is refused before the copies are made.
    #[test]
    fn aliases_copy_no_more_than_the_text_allows() {
        let big = "x".repeat(100_000);
        let aliases = |n: usize| format!("a: &a \"{big}\"\nlist:\n{}", "- *a\n".repeat(n));
        // Two copies of a 100 KB value in a 100 KB text: within the budget.
        assert!(documents(&aliases(2), later(), Typing::Kubectl).is_ok());
        let started = Instant::now();
        let e = documents(&aliases(4000), later(), Typing::Kubectl).unwrap_err();
        assert!(matches!(e, Refused::AliasesTooLarge(_)), "{e}");
        assert!(e.to_string().contains("billion laughs"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Nested aliases of small values are counted at their expanded size too.
        let mut laughs = String::from("a0: &a0 [\"lol\", \"lol\"]\n");
        for i in 1..40 {
            laughs.push_str(&format!("a{i}: &a{i} [*a{0}, *a{0}, *a{0}]\n", i - 1));
        }
        assert!(documents(&laughs, later(), Typing::Kubectl).is_err());
    }
}
