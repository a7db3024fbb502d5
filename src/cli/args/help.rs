//! `--help` and the flag tables of `docs/commands.md`, written from the same option
//! definitions the lexer reads.

use super::options::{Group, Opt};

/// A command as its help shows it.
pub(crate) struct Spec {
    /// The words that name it (`get-token`, `eks update-kubeconfig`; empty for a
    /// program's own overview).
    pub(crate) name: &'static str,
    /// Usage lines, after the program's name.
    pub(crate) usage: &'static [&'static str],
    /// What it does, in a few lines.
    pub(crate) about: &'static str,
    /// Its options.
    pub(crate) groups: &'static [&'static Group],
}

/// The command of `specs` that `words` name, word for word (one argument holding
/// `sts get-caller-identity` names nothing); never a program's overview.
pub(crate) fn named(specs: &[&'static Spec], words: &[&str]) -> Option<&'static Spec> {
    specs
        .iter()
        .copied()
        .find(|s| !s.name.is_empty() && s.name.split(' ').eq(words.iter().copied()))
}

/// How an option is named in help: `-r, --role-arn ARN`.
fn names(o: &Opt) -> String {
    let mut s = match o.short {
        Some(c) => format!("-{c}, --{}", o.long),
        None => format!("--{}", o.long),
    };
    if let Some(v) = o.value {
        s.push(' ');
        s.push_str(v);
    }
    s
}

/// The help text of `spec` for `program`.
pub(crate) fn render(program: &str, spec: &Spec) -> String {
    let mut out = String::new();
    for (i, u) in spec.usage.iter().enumerate() {
        let lead = if i == 0 { "Usage: " } else { "       " };
        out.push_str(&format!("{lead}{program} {u}\n"));
    }
    out.push('\n');
    out.push_str(spec.about.trim_end());
    out.push('\n');
    // The command's own options, then compact groups (aws-cli's globals) last.
    let (compact, listed): (Vec<&Group>, Vec<&Group>) =
        spec.groups.iter().copied().partition(|g| g.compact);
    if !listed.is_empty() {
        out.push_str("\nOptions:\n");
    }
    for o in listed.iter().flat_map(|g| g.opts.iter()) {
        let n = names(o);
        if n.len() <= 26 {
            out.push_str(&format!("  {n:<27} {}\n", o.help));
        } else {
            out.push_str(&format!("  {n}\n  {:<27} {}\n", "", o.help));
        }
    }
    for g in compact {
        out.push_str(&format!("\n{}:\n", g.title));
        let mut line = String::from(" ");
        for n in g.opts.iter().map(names) {
            if line.len() + n.len() + 2 > 88 {
                out.push_str(line.trim_end_matches(','));
                out.push('\n');
                line = String::from(" ");
            }
            line.push(' ');
            line.push_str(&n);
            line.push(',');
        }
        out.push_str(line.trim_end_matches(','));
        out.push('\n');
    }
    out
}

/// The Markdown table of `spec`'s options (for `docs/commands.md`, checked by a test).
#[cfg(test)]
pub(crate) fn markdown(spec: &Spec) -> String {
    let mut out = String::from("| option | meaning |\n|---|---|\n");
    for g in spec.groups {
        for o in g.opts {
            let cell = |t: &str| t.replace('|', "\\|");
            out.push_str(&format!("| `{}` | {} |\n", cell(&names(o)), cell(o.help)));
        }
    }
    out
}
