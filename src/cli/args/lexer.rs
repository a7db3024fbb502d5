//! One lexer for every dialect (as ripgrep's `parse_low_raw`): the words of a command
//! line and its options, read against the table of the command they belong to, under
//! one of three rule sets:
//!
//! - [`Rules::Gnu`] (eks-token's own commands): `--name value`, `--name=value`, a
//!   unique prefix of a name, `-x value`, `-xvalue`, `-x=value`; `--` ends options.
//! - [`Rules::Argparse`] (aws-cli's commands): long options only (and `-h`), a unique
//!   prefix of one of aws-cli's own names (never of an option eks-token adds),
//!   `--name=value`.
//! - [`Rules::Pflag`] (the Go tools, cobra's pflag): whole names only, `--flag=false`
//!   turns a flag off, `-abc` is three flags (the last may take the rest as its value).

use super::options::{Key, Opt};
use super::{usage, Result};

/// Whose rules.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Rules {
    Gnu,
    Argparse,
    Pflag,
}

/// The options a command takes, in groups.
pub(crate) type Table<'a> = &'a [&'static super::options::Group];

/// Words, option values and flags, in order.
#[derive(Default, Debug)]
pub(crate) struct Parsed {
    pub(crate) words: Vec<String>,
    /// How many of `words` came before a `--` (all, without one): the ones that may
    /// be command words such as `help`.
    pub(crate) words_before_dashes: usize,
    pub(crate) values: Vec<(Key, String)>,
    pub(crate) flags: Vec<Key>,
}

impl Parsed {
    /// The last value of `k`.
    pub(crate) fn last(&self, k: Key) -> Option<String> {
        self.values
            .iter()
            .rev()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.clone())
    }

    /// Every value of `k`, in order.
    pub(crate) fn all(&self, k: Key) -> Vec<String> {
        self.values
            .iter()
            .filter(|(key, _)| *key == k)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether the flag `k` was given.
    pub(crate) fn has(&self, k: Key) -> bool {
        self.flags.contains(&k)
    }

    /// Whether `k` was given at all.
    pub(crate) fn given(&self, k: Key) -> bool {
        self.has(k) || self.values.iter().any(|(key, _)| *key == k)
    }
}

fn opts<'a>(table: Table<'a>) -> impl Iterator<Item = &'static Opt> + 'a {
    table.iter().flat_map(|g| g.opts.iter())
}

/// Why a long name did not resolve.
pub(crate) enum Unresolved {
    Unknown,
    Ambiguous(Vec<&'static str>),
}

/// The option `name` (without `--`): its whole name, else under Gnu and Argparse a
/// unique prefix (Argparse: of a name that is not [`Opt::exact`]).
pub(crate) fn find_long(
    rules: Rules,
    table: Table<'_>,
    name: &str,
) -> std::result::Result<&'static Opt, Unresolved> {
    if let Some(o) = opts(table).find(|o| o.long == name) {
        return Ok(o);
    }
    if rules == Rules::Pflag || name.is_empty() {
        return Err(Unresolved::Unknown);
    }
    let mut candidates: Vec<&'static Opt> = opts(table)
        .filter(|o| o.long.starts_with(name) && !(rules == Rules::Argparse && o.exact))
        .collect();
    candidates.dedup_by_key(|o| o.long);
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(Unresolved::Unknown),
        many => Err(Unresolved::Ambiguous(many.iter().map(|o| o.long).collect())),
    }
}

fn unknown_long(rules: Rules, name: &str, why: Unresolved) -> super::ArgError {
    match (why, rules) {
        (Unresolved::Ambiguous(names), _) => {
            let names: Vec<String> = names.iter().map(|n| format!("--{n}")).collect();
            usage(format!(
                "ambiguous option --{name} (could be {})",
                names.join(", ")
            ))
        }
        (Unresolved::Unknown, rules) => super::ArgError::UnknownOption {
            long: name.to_owned(),
            message: match rules {
                Rules::Pflag => format!("unknown flag: --{name}"),
                _ => format!("unknown option --{name}"),
            },
        },
    }
}

/// Whether `v`, the argument after an option that takes a value, is an option instead:
/// for argparse anything that starts with `-` but a negative number or a string with a
/// space (argparse's rules);
/// for eks-token's own lines a long option of `table`, a prefix of some, or another
/// command's (`--cluster-name --region`, `--out --refres`); pflag takes any.
fn looks_like_an_option(
    rules: Rules,
    table: Table<'_>,
    reserved: &dyn Fn(&str) -> bool,
    v: &str,
) -> bool {
    match rules {
        Rules::Argparse => {
            // `^-\d+$|^-\d*\.\d+$` is a negative number.
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            let negative = v
                .strip_prefix('-')
                .is_some_and(|n| match n.split_once('.') {
                    None => !n.is_empty() && digits(n),
                    Some((int, frac)) => !frac.is_empty() && digits(int) && digits(frac),
                });
            // ... and so is anything with a space in it.
            v.len() > 1 && v.starts_with('-') && !negative && !v.contains(' ')
        }
        Rules::Gnu => v.strip_prefix("--").is_some_and(|long| {
            let name = long.split_once('=').map_or(long, |(n, _)| n);
            !name.is_empty()
                && (reserved(name)
                    || !matches!(find_long(rules, table, name), Err(Unresolved::Unknown)))
        }),
        Rules::Pflag => false,
    }
}

/// Splits `args` into words and the options of `table`.
pub(crate) fn lex(rules: Rules, args: &[String], table: Table<'_>) -> Result<Parsed> {
    lex_reserving(rules, args, table, &|_| false)
}

/// [`lex`], where a long option `reserved` says is another command's (in full) is not
/// read as a prefix of one of `table`'s (`get-token --out`: write-token's option, not a
/// short `--output`) but is an unknown option.
pub(crate) fn lex_reserving(
    rules: Rules,
    args: &[String],
    table: Table<'_>,
    reserved: &dyn Fn(&str) -> bool,
) -> Result<Parsed> {
    let mut p = Parsed::default();
    let mut i = 0;
    let mut only_words = false;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if only_words || arg == "-" || !arg.starts_with('-') {
            p.words.push(arg.to_owned());
            continue;
        }
        if arg == "--" {
            only_words = true;
            p.words_before_dashes = p.words.len();
            continue;
        }
        // Each option of this argument with its value, if it has one here.
        let mut found: Vec<(&'static Opt, Option<String>, String)> = Vec::new();
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let exact = opts(table).any(|o| o.long == name);
            if !exact && reserved(name) {
                return Err(unknown_long(rules, name, Unresolved::Unknown));
            }
            let opt = find_long(rules, table, name).map_err(|w| unknown_long(rules, name, w))?;
            found.push((opt, inline, format!("--{name}")));
        } else {
            let shorts = &arg[1..];
            for (at, c) in shorts.char_indices() {
                let opt = opts(table)
                    .find(|o| o.short == Some(c))
                    .filter(|o| rules != Rules::Argparse || o.key == Key::Help)
                    .ok_or_else(|| match rules {
                        Rules::Pflag => usage(format!("unknown shorthand flag: '{c}' in {arg}")),
                        Rules::Argparse => usage(format!("unknown option {arg}")),
                        Rules::Gnu => usage(format!("unknown option -{c}")),
                    })?;
                let rest = &shorts[at + c.len_utf8()..];
                let shown = format!("-{c}");
                if rest.is_empty() {
                    found.push((opt, None, shown));
                } else if opt.value.is_some() {
                    let v = rest.strip_prefix('=').unwrap_or(rest).to_owned();
                    found.push((opt, Some(v), shown));
                    break;
                } else if rules == Rules::Pflag {
                    if let Some(v) = rest.strip_prefix('=') {
                        // `-s=false`.
                        found.push((opt, Some(v.to_owned()), shown));
                        break;
                    }
                    // `-abc`: flags together.
                    found.push((opt, None, shown));
                } else {
                    return Err(usage(format!("option -{c} takes no value (got {arg})")));
                }
                if rest.is_empty() {
                    break;
                }
            }
        }
        for (opt, inline, shown) in found {
            match opt.value {
                Some(_) => {
                    let value = match inline {
                        Some(v) => v,
                        None => {
                            let v = args.get(i).ok_or_else(|| match rules {
                                Rules::Pflag => {
                                    usage(format!("flag needs an argument: --{}", opt.long))
                                }
                                _ => usage(format!("option {shown} needs a value")),
                            })?;
                            if looks_like_an_option(rules, table, reserved, v) {
                                return Err(usage(match rules {
                                    Rules::Argparse => {
                                        format!("argument {shown}: expected one argument")
                                    }
                                    _ => format!(
                                        "option {shown} needs a value, and {v} is an option \
                                         (write {shown}={v} if that is the value)"
                                    ),
                                }));
                            }
                            i += 1;
                            v.clone()
                        }
                    };
                    p.values.push((opt.key, value));
                }
                None => match (inline.as_deref(), rules) {
                    (None, _) => p.flags.push(opt.key),
                    // pflag reads a boolean's value as Go's strconv.ParseBool does.
                    (Some("1" | "t" | "T" | "true" | "TRUE" | "True"), Rules::Pflag) => {
                        p.flags.push(opt.key)
                    }
                    (Some("0" | "f" | "F" | "false" | "FALSE" | "False"), Rules::Pflag) => {
                        p.flags.retain(|k| *k != opt.key)
                    }
                    (Some(v), Rules::Pflag) => {
                        return Err(usage(format!(
                            "invalid argument {v:?} for \"{shown}\" flag: strconv.ParseBool: \
                             parsing {v:?}: invalid syntax"
                        )))
                    }
                    (Some(_), _) => {
                        return Err(usage(format!("option {shown} takes no value")));
                    }
                },
            }
        }
    }
    if !only_words {
        p.words_before_dashes = p.words.len();
    }
    Ok(p)
}

/// The words of `args` as a command line of any of `tables` would give them: options
/// are skipped with their values (a name shared by several tables takes a value in all
/// or none of them; an unknown or ambiguous one is taken as a flag, and reported when
/// the command's own table reads the line). For finding which command a line is.
pub(crate) fn words(rules: Rules, args: &[String], tables: &[Table<'_>]) -> Vec<String> {
    words_split(rules, args, tables).0
}

/// [`words`], and how many of them came before a `--` (all, without one).
pub(crate) fn words_split(
    rules: Rules,
    args: &[String],
    tables: &[Table<'_>],
) -> (Vec<String>, usize) {
    let takes_value = |long: Option<&str>, short: Option<char>| -> bool {
        tables.iter().any(|t| match (long, short) {
            (Some(name), _) => match find_long(rules, t, name) {
                Ok(o) => o.value.is_some(),
                Err(Unresolved::Ambiguous(names)) => names
                    .iter()
                    .all(|n| opts(t).any(|o| o.long == *n && o.value.is_some())),
                Err(Unresolved::Unknown) => false,
            },
            (None, Some(c)) => opts(t).any(|o| o.short == Some(c) && o.value.is_some()),
            _ => false,
        })
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if arg == "--" {
            let before = out.len();
            out.extend(args[i..].iter().cloned());
            return (out, before);
        }
        if arg == "-" || !arg.starts_with('-') {
            out.push(arg.to_owned());
        } else if let Some(long) = arg.strip_prefix("--") {
            if !long.contains('=') && takes_value(Some(long), None) {
                i += 1;
            }
        } else if arg.chars().count() == 2 && takes_value(None, arg.chars().nth(1)) {
            i += 1;
        }
    }
    let before = out.len();
    (out, before)
}
