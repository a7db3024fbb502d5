//! One lexer for every dialect, one pass over the command line (as ripgrep's
//! `parse_low_raw`): it reads the words that name the command and the options, and
//! applies each option to the command line's typed [`Low`] by the table of the command
//! it belongs to. Options before the command's words are read with the dialect's tables
//! together (to know which take a value) and resolved once the command is known. The
//! dialects' rules are data ([`super::rules`]).

use super::error::{usage, ArgError, Result};
use super::low::Low;
use super::options::{Group, Opt};
use super::rules::{Prefixes, Rules, Shorts, Values};
use super::spec::Spec;

/// How a dialect reads its words.
pub(crate) struct Reader<'a> {
    /// Its rules (a command may have its own: aws-cli's commands under eks-token's
    /// name).
    pub(crate) rules: Rules,
    /// Every command, the overview first.
    pub(crate) specs: &'a [&'static Spec],
    /// Whether `help` is a word anywhere before `--` (aws-cli, eks-token), or only the
    /// first word (cobra: after a command, an argument of it).
    pub(crate) help_anywhere: bool,
}

/// A command line read.
#[derive(Debug)]
pub(crate) struct Lexed {
    /// The command its words name (the overview when they name none).
    pub(crate) spec: &'static Spec,
    /// The words that named no command (when `spec` is the overview).
    pub(crate) unnamed: Vec<String>,
    /// The words after the command's own (arguments).
    pub(crate) extra: Vec<String>,
    /// The word `help` was given (where the dialect reads it).
    pub(crate) help_word: bool,
    /// Every option.
    pub(crate) low: Low,
}

fn opts<'a>(groups: &'a [&'static Group]) -> impl Iterator<Item = &'static Opt> + 'a {
    groups.iter().flat_map(|g| g.opts.iter())
}

/// Why a long name did not resolve.
pub(crate) enum Unresolved {
    Unknown,
    Ambiguous(Vec<&'static str>),
}

/// The option `name` (without `--`) of `groups`: its whole name, else, as `rules` allow,
/// a unique prefix.
pub(crate) fn find_long(
    rules: Rules,
    groups: &[&'static Group],
    name: &str,
) -> std::result::Result<&'static Opt, Unresolved> {
    if let Some(o) = opts(groups).find(|o| o.long == name) {
        return Ok(o);
    }
    if rules.prefixes == Prefixes::None || name.is_empty() {
        return Err(Unresolved::Unknown);
    }
    let mut candidates: Vec<&'static Opt> = opts(groups)
        .filter(|o| {
            o.long.starts_with(name) && !(rules.prefixes == Prefixes::UniqueButExact && o.exact)
        })
        .collect();
    candidates.dedup_by_key(|o| o.long);
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(Unresolved::Unknown),
        many => Err(Unresolved::Ambiguous(many.iter().map(|o| o.long).collect())),
    }
}

/// An option as written, before its table is known: `--name` or `-abc`, its `=` value,
/// and the next argument when the dialect's tables say it takes one.
#[derive(Debug)]
struct Written {
    arg: String,
    next: Option<String>,
    /// The argument after it, when it looked like an option and was not taken.
    after: Option<String>,
}

/// The lexer's state over one command line.
struct Lexer<'a> {
    d: &'a Reader<'a>,
    args: &'a [String],
    i: usize,
    spec: Option<&'static Spec>,
    words: Vec<String>,
    extra: Vec<String>,
    help_word: bool,
    pending: Vec<Written>,
    low: Low,
    /// The words named the command (not the overview by default).
    named: bool,
}

/// How far a command line was read when it failed: the command, if its words were read,
/// and whether its mode's flag was.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Progress {
    pub(crate) spec: Option<&'static Spec>,
    pub(crate) mode: bool,
}

/// Reads `args` (the program's name left out) as `d` reads them; on failure, how far it
/// got.
pub(crate) fn lex(
    d: &Reader<'_>,
    args: &[String],
) -> std::result::Result<Lexed, (ArgError, Progress)> {
    let mut lx = Lexer {
        d,
        args,
        i: 0,
        spec: None,
        words: Vec::new(),
        extra: Vec::new(),
        help_word: false,
        pending: Vec::new(),
        low: Low::default(),
        named: true,
    };
    match lx.run() {
        Ok(()) => {}
        Err(e) => {
            let progress = Progress {
                spec: lx.spec,
                mode: lx
                    .spec
                    .and_then(|s| s.mode)
                    .is_some_and(|(k, _)| lx.low.given(k)),
            };
            return Err((e, progress));
        }
    }
    Ok(Lexed {
        spec: lx.spec.expect("run names the command"),
        unnamed: if lx.named { Vec::new() } else { lx.words },
        extra: lx.extra,
        help_word: lx.help_word,
        low: lx.low,
    })
}

impl Lexer<'_> {
    /// Reads every argument; the command is then known (the overview when the words
    /// named none).
    fn run(&mut self) -> Result<()> {
        let mut only_words = false;
        while self.i < self.args.len() {
            let arg = self.args[self.i].clone();
            self.i += 1;
            if only_words || arg == "-" || !arg.starts_with('-') {
                self.word(arg, only_words)?;
            } else if arg == "--" {
                only_words = true;
            } else {
                self.option(arg)?;
            }
        }
        if self.spec.is_none() {
            self.spec = Some(self.d.specs[0]);
            self.named = false;
            // Words that name no command are the error, not the options among them
            // (`aws s3 cp a b --recursive`): what the overview's table reads is kept.
            if !self.words.is_empty() {
                for w in std::mem::take(&mut self.pending) {
                    let _ = self.apply(w, false);
                }
                return Ok(());
            }
        }
        self.flush()
    }

    /// The rules in force: the command's own, else the dialect's.
    fn rules(&self) -> Rules {
        self.spec.and_then(|s| s.rules).unwrap_or(self.d.rules)
    }

    /// A word: `help` where the dialect reads it, a word of the command's name, or an
    /// argument after it.
    fn word(&mut self, w: String, after_dashes: bool) -> Result<()> {
        let help_here = w == "help"
            && !after_dashes
            && (self.d.help_anywhere
                || (self.spec.is_none() && self.words.is_empty() && !self.help_word));
        if help_here {
            self.help_word = true;
            return Ok(());
        }
        if self.spec.is_some() {
            self.extra.push(w);
            return Ok(());
        }
        self.words.push(w);
        let words: Vec<&str> = self.words.iter().map(String::as_str).collect();
        if let Some(spec) = super::spec::named(self.d.specs, &words) {
            self.spec = Some(spec);
            self.flush()?;
        }
        Ok(())
    }

    /// The groups options resolve against: the command's, or (before it is known) every
    /// command's together, for whether a name takes a value.
    fn takes_value_anywhere(&self, long: Option<&str>, short: Option<char>) -> bool {
        self.d.specs.iter().any(|s| {
            let t = table(s);
            match (long, short) {
                (Some(name), _) => match find_long(s.rules.unwrap_or(self.d.rules), &t, name) {
                    Ok(o) => o.value.is_some(),
                    Err(Unresolved::Ambiguous(names)) => names
                        .iter()
                        .all(|n| opts(&t).any(|o| o.long == *n && o.value.is_some())),
                    Err(Unresolved::Unknown) => false,
                },
                (None, Some(c)) => opts(&t).any(|o| o.short == Some(c) && o.value.is_some()),
                _ => false,
            }
        })
    }

    /// An option: applied by the command's table, or kept until the command is known.
    fn option(&mut self, arg: String) -> Result<()> {
        if self.spec.is_some() {
            let w = Written {
                arg,
                next: None,
                after: None,
            };
            return self.apply(w, true);
        }
        // Whether it takes the next argument, by every table of the dialect.
        let takes = match arg.strip_prefix("--") {
            Some(long) => !long.contains('=') && self.takes_value_anywhere(Some(long), None),
            None => arg.chars().count() == 2 && self.takes_value_anywhere(None, arg.chars().nth(1)),
        };
        let (mut next, mut after) = (None, None);
        if takes && self.i < self.args.len() {
            let v = self.args[self.i].clone();
            // What looks like an option is read as one (and the error said) later.
            if self.looks_like_an_option(&self.dialect_groups(), &v) {
                after = Some(v);
            } else {
                self.i += 1;
                next = Some(v);
            }
        }
        self.pending.push(Written { arg, next, after });
        Ok(())
    }

    /// Every group of the dialect (before the command is known).
    fn dialect_groups(&self) -> Vec<&'static Group> {
        self.d
            .specs
            .iter()
            .flat_map(|s| s.groups.iter().copied())
            .collect()
    }

    /// Resolves the options kept before the command was known.
    fn flush(&mut self) -> Result<()> {
        for w in std::mem::take(&mut self.pending) {
            self.apply(w, false)?;
        }
        Ok(())
    }

    /// Whether `name` (in full) is an option of another command of the dialect.
    fn reserved(&self, spec: &Spec, name: &str) -> bool {
        self.rules().reserve_others
            && self
                .d
                .specs
                .iter()
                .any(|s| !s.name.is_empty() && s.name != spec.name && has_option(s, name))
    }

    /// Whether `v`, the argument after an option that takes a value, is an option
    /// instead.
    fn looks_like_an_option(&self, groups: &[&'static Group], v: &str) -> bool {
        match self.rules().values {
            Values::NotADash => {
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
            Values::NotAnOption => v.strip_prefix("--").is_some_and(|long| {
                let name = long.split_once('=').map_or(long, |(n, _)| n);
                !name.is_empty()
                    && (self.spec.is_some_and(|s| self.reserved(s, name))
                        || !matches!(
                            find_long(self.rules(), groups, name),
                            Err(Unresolved::Unknown)
                        ))
            }),
            Values::Any => false,
        }
    }

    /// The value of an option that takes one: after `=` or joined, else the next
    /// argument (kept with it, or read now).
    #[allow(clippy::too_many_arguments)]
    fn value_of(
        &mut self,
        spec: &'static Spec,
        opt: &'static Opt,
        shown: &str,
        inline: Option<String>,
        kept: &mut Option<String>,
        after: Option<&str>,
        live: bool,
    ) -> Result<String> {
        if let Some(v) = inline {
            return Ok(v);
        }
        let rules = self.rules();
        let pflag = rules.pflag_words;
        let needs = || {
            usage(if pflag {
                format!("flag needs an argument: --{}", opt.long)
            } else {
                format!("option {shown} needs a value")
            })
        };
        let v = match kept.take() {
            Some(v) => v,
            None if live && self.i < self.args.len() => {
                let v = self.args[self.i].clone();
                if self.looks_like_an_option(&table(spec), &v) {
                    return Err(usage(match rules.values {
                        Values::NotADash => format!("argument {shown}: expected one argument"),
                        _ => format!(
                            "option {shown} needs a value, and {v} is an option (write \
                             {shown}={v} if that is the value)"
                        ),
                    }));
                }
                self.i += 1;
                v
            }
            None => {
                // Kept without a value: the next argument looked like an option.
                return match after {
                    Some(v) if rules.values == Values::NotAnOption => Err(usage(format!(
                        "option {shown} needs a value, and {v} is an option (write \
                         {shown}={v} if that is the value)"
                    ))),
                    Some(_) if rules.values == Values::NotADash => {
                        Err(usage(format!("argument {shown}: expected one argument")))
                    }
                    _ => Err(needs()),
                };
            }
        };
        Ok(v)
    }

    /// Resolves an option by the command's table and applies it; `live`: read now (its
    /// value may be the next argument), else kept from before the command was known.
    fn apply(&mut self, w: Written, live: bool) -> Result<()> {
        let spec = self.spec.expect("the command is known when options apply");
        let rules = self.rules();
        let groups = table(spec);
        let Written {
            arg,
            mut next,
            after,
        } = w;
        // Each option of this argument with its value, if it has one here.
        let mut found: Vec<(&'static Opt, Option<String>, String)> = Vec::new();
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let exact = opts(&groups).any(|o| o.long == name);
            if !exact && self.reserved(spec, name) {
                return Err(unknown_long(rules, name, Unresolved::Unknown));
            }
            let opt = find_long(rules, &groups, name).map_err(|w| unknown_long(rules, name, w))?;
            found.push((opt, inline, format!("--{name}")));
        } else {
            let shorts = &arg[1..];
            for (at, c) in shorts.char_indices() {
                let opt = opts(&groups)
                    .find(|o| o.short == Some(c))
                    .filter(|o| rules.shorts != Shorts::HelpOnly || o.long == "help")
                    .ok_or_else(|| match (rules.shorts, rules.pflag_words) {
                        (_, true) => usage(format!("unknown shorthand flag: '{c}' in {arg}")),
                        (Shorts::HelpOnly, _) => usage(format!("unknown option {arg}")),
                        _ => usage(format!("unknown option -{c}")),
                    })?;
                let rest = &shorts[at + c.len_utf8()..];
                let shown = format!("-{c}");
                if rest.is_empty() {
                    found.push((opt, None, shown));
                } else if opt.value.is_some() {
                    let v = rest.strip_prefix('=').unwrap_or(rest).to_owned();
                    found.push((opt, Some(v), shown));
                    break;
                } else if rules.shorts == Shorts::Clustered {
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
                    let v = self.value_of(
                        spec,
                        opt,
                        &shown,
                        inline,
                        &mut next,
                        after.as_deref(),
                        live,
                    )?;
                    self.low.apply(opt.key, &shown, Some(v), true);
                }
                None => {
                    let on = match (inline.as_deref(), rules.bool_values) {
                        (None, _) => true,
                        // pflag reads a boolean's value as Go's strconv.ParseBool does.
                        (Some("1" | "t" | "T" | "true" | "TRUE" | "True"), true) => true,
                        (Some("0" | "f" | "F" | "false" | "FALSE" | "False"), true) => false,
                        (Some(v), true) => {
                            return Err(usage(format!(
                                "invalid argument {v:?} for \"{shown}\" flag: \
                                 strconv.ParseBool: parsing {v:?}: invalid syntax"
                            )))
                        }
                        (Some(_), false) => {
                            return Err(usage(format!("option {shown} takes no value")));
                        }
                    };
                    self.low.apply(opt.key, &shown, None, on);
                }
            }
        }
        // A value kept for an option that turned out to take none is a word.
        if let Some(v) = next {
            self.word(v, false)?;
        }
        Ok(())
    }
}

/// The table a command's options are read by: its own, and its mode's (which of the two
/// an option belongs to is checked once the mode is known).
pub(crate) fn table(spec: &Spec) -> Vec<&'static Group> {
    let mut t: Vec<&'static Group> = spec.groups.to_vec();
    if let Some((_, mode)) = spec.mode {
        t.extend(mode.groups.iter().copied());
    }
    t
}

/// Whether `spec` has the long option `name` (in full).
pub(crate) fn has_option(spec: &Spec, name: &str) -> bool {
    spec.groups
        .iter()
        .any(|g| !g.compact && g.opts.iter().any(|o| o.long == name))
}

fn unknown_long(rules: Rules, name: &str, why: Unresolved) -> ArgError {
    match why {
        Unresolved::Ambiguous(names) => {
            let names: Vec<String> = names.iter().map(|n| format!("--{n}")).collect();
            usage(format!(
                "ambiguous option --{name} (could be {})",
                names.join(", ")
            ))
        }
        Unresolved::Unknown => ArgError::UnknownOption {
            long: name.to_owned(),
            message: if rules.pflag_words {
                format!("unknown flag: --{name}")
            } else {
                format!("unknown option --{name}")
            },
        },
    }
}
