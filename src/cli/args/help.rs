//! `--help` and the flag tables of `docs/commands.md`, written from the same option
//! definitions the lexer reads; every line at most [`WIDTH`] columns.

use super::options::Opt;
use super::spec::Spec;

/// The widest line of a help text: one terminal of 80 columns.
pub(crate) const WIDTH: usize = 80;
/// How far an option's help (and each of its lines) is indented.
const HELP_COLUMN: usize = 30;

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

/// `text` broken at spaces into lines of at most `width` columns: the first after
/// `first` and a space (none when `first` is empty), the others after `rest` (their
/// indentation).
fn wrap(text: &str, first: &str, rest: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = first.to_owned();
    // Whether the line needs a space before its next word.
    let mut spaced = !first.is_empty();
    let mut words = 0;
    for word in words_of(text) {
        let len = line.chars().count() + usize::from(spaced);
        if words > 0 && len + word.chars().count() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_owned();
            spaced = false;
            words = 0;
        }
        if spaced {
            line.push(' ');
        }
        line.push_str(word);
        spaced = true;
        words += 1;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// The words of `text`, split at spaces outside brackets (a usage's `[--out FILE]`
/// stays whole).
fn words_of(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ' ' if depth <= 0 => {
                if i > start {
                    out.push(&text[start..i]);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// `text` with each paragraph (lines between blank lines) flowed into lines of at
/// most `width` columns.
fn reflow(text: &str, width: usize) -> String {
    text.split("\n\n")
        .map(|p| wrap(&p.replace('\n', " "), "", "", width))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The help text of `spec` for `program`.
pub(crate) fn render(program: &str, spec: &Spec) -> String {
    let mut out = String::new();
    for (i, u) in spec.usage.iter().enumerate() {
        let lead = if i == 0 { "Usage:" } else { "      " };
        out.push_str(&wrap(
            &format!("{program} {u}"),
            lead,
            &" ".repeat(7 + program.len() + 1),
            WIDTH,
        ));
    }
    out.push('\n');
    out.push_str(&reflow(spec.about.trim_end(), WIDTH));
    // The command's own options, then compact groups (aws-cli's globals) last.
    let (compact, listed): (Vec<_>, Vec<_>) = spec.groups.iter().copied().partition(|g| g.compact);
    if !listed.is_empty() {
        out.push_str("\nOptions:\n");
    }
    let indent = " ".repeat(HELP_COLUMN);
    for o in listed.iter().flat_map(|g| g.opts.iter()) {
        let n = names(o);
        let lead = if n.len() + 3 <= HELP_COLUMN {
            format!("  {n:<width$}", width = HELP_COLUMN - 3)
        } else {
            out.push_str(&format!("  {n}\n"));
            " ".repeat(HELP_COLUMN - 1)
        };
        // The lead is padded to the column: the help's first word after one space.
        out.push_str(&wrap(o.help, &lead, &indent, WIDTH));
    }
    for g in compact {
        out.push('\n');
        out.push_str(&wrap(&format!("{}:", g.title), "", "", WIDTH));
        let listed: Vec<String> = g.opts.iter().map(names).collect();
        out.push_str(&wrap(&listed.join(", "), " ", "  ", WIDTH));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_broken_at_spaces_within_the_width() {
        let text = "a ".repeat(100);
        let wrapped = wrap(&text, "lead", "    ", 20);
        assert!(
            wrapped.lines().all(|l| l.chars().count() <= 20),
            "{wrapped}"
        );
        assert!(wrapped.starts_with("lead a a"), "{wrapped}");
        assert!(
            wrapped.lines().nth(1).unwrap().starts_with("    a"),
            "{wrapped}"
        );
        assert_eq!(wrapped.matches('a').count(), 101);
        // A word longer than the width stands on its own line.
        let long = wrap(&format!("x {} y", "z".repeat(30)), "", "", 20);
        assert_eq!(long.lines().count(), 3, "{long}");
        // A bracketed group of a usage line stays whole.
        let usage = wrap("cmd [--out FILE] [--force]", "", "  ", 12);
        assert_eq!(usage, "cmd\n  [--out FILE]\n  [--force]\n");
        // Paragraphs flow within themselves.
        assert_eq!(reflow("a b\nc\n\nd", 80), "a b c\n\nd\n");
    }
}
