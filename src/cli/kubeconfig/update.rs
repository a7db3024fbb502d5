//! `eks update-kubeconfig`, as aws-cli does it: describe the cluster, then merge its
//! cluster entry, a user that gets tokens, and a context into the kubeconfig the user
//! already has, and make the context current. Every other entry and field stays as it
//! was, read as kubectl reads it. A file that cannot be read as a kubeconfig, or that
//! the caller may not write, is left alone, before any request.
//!
//! Writing takes client-go's lock (`<kubeconfig>.lock`, created exclusively, as kubectl
//! does), reads the file again under it and merges into what is there then, so that
//! two runs (or a run and `kubectl config`) both keep their changes. The file is
//! replaced atomically, keeps its mode (0600 when new), owner and group; a symbolic
//! link stays one (its target is written, created when missing, as aws-cli does).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eks_token::{files, Env, Error, Log};
use yaml_rust2::yaml::Hash;

use super::yaml::{self, dump, has_entry, insert, skeleton, string};
use super::{absolute, cluster_entry, context_entry, exec_user, token_args, Chain, Exec, Program};
use crate::cli::args::{Dialect, GetToken, UpdateKubeconfig};
use crate::cli::output::terminal;
use crate::cli::Failure;

/// The largest kubeconfig read (real ones are a few KiB, a few MiB with hundreds of
/// clusters).
const MAX_FILE_BYTES: u64 = 16 << 20;

/// A kubeconfig file as read: its path, its content, and its metadata when it exists;
/// with the directory it was read from, held open, and its name there (the file
/// written is the one read, whatever happens to the path meanwhile).
struct Kubeconfig {
    path: PathBuf,
    content: Hash,
    meta: Option<fs::Metadata>,
    at: Option<(files::Dir, PathBuf)>,
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!(
        "the kubeconfig {} cannot be used: {why}; fix it or name another with --kubeconfig \
         (it was left as it is)",
        path.display()
    ))
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        what: format!("{what} the kubeconfig {}", path.display()),
        source: e,
    }
}

/// Reads `path`: a missing or empty file is a new kubeconfig; anything else must be one
/// YAML document that is a mapping whose lists are lists of mappings (aws-cli's
/// checks). With `create`, missing directories of the path are created (0700), as
/// kubectl and aws-cli create them; without, a missing directory is a new kubeconfig.
/// Links are followed as [`files::locate`] allows; the file read is then held for the
/// write.
fn load(path: &Path, create: bool, deadline: Instant) -> Result<Kubeconfig, Error> {
    let fresh = |at| Kubeconfig {
        path: path.to_path_buf(),
        content: skeleton(),
        meta: None,
        at,
    };
    let (dir, name) = match files::locate(path, create.then_some(0o700)) {
        Ok(found) => found,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => return Ok(fresh(None)),
        Err(e) => return Err(io_error("cannot use", path, e)),
    };
    let (text, meta) = match dir.read(&name, MAX_FILE_BYTES, files::Links::Refuse) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(fresh(Some((dir, name)))),
        Err(e) => return Err(io_error("cannot read", path, e)),
    };
    let text = String::from_utf8(text).map_err(|_| invalid(path, "it is not UTF-8 text"))?;
    let content = yaml::parse(&text, deadline).map_err(|why| invalid(path, why))?;
    Ok(Kubeconfig {
        path: path.to_path_buf(),
        content,
        meta: Some(meta),
        at: Some((dir, name)),
    })
}

/// Refuses a kubeconfig the caller may not write, as kubectl would (it opens the file
/// for writing; root may write any), or whose owner and group a replacement could not
/// keep: eks-token replaces the file atomically, so the new file is the caller's unless
/// root gives it the old owner. A group the caller is not in is let go only when the
/// mode gives that group nothing.
fn check_writable(config: &Kubeconfig) -> Result<(), Error> {
    let (Some(meta), Some((dir, name))) = (&config.meta, &config.at) else {
        return Ok(());
    };
    let refuse = |why: String| {
        Err(Error::Io {
            what: format!("cannot write the kubeconfig {}", config.path.display()),
            source: std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("{why}; it was left as it is"),
            ),
        })
    };
    if let Err(e) = dir.check_writable(name) {
        return refuse(format!(
            "{e} (mode {:04o}, owner uid {}): make it writable (chmod u+w) or name another \
             with --kubeconfig",
            meta.mode() & 0o7777,
            meta.uid()
        ));
    }
    if rustix::process::geteuid().is_root() {
        return Ok(());
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return refuse(format!(
            "it belongs to uid {}, and a file eks-token replaces would be yours: run as uid {} \
             (or as root, which keeps the owner)",
            meta.uid(),
            meta.uid()
        ));
    }
    if !in_group(meta.gid()) && meta.mode() & 0o070 != 0 {
        return refuse(format!(
            "its group is gid {}, which you are not in, and its mode {:04o} gives that group \
             access a replacement could not keep",
            meta.gid(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// The owner and group to give the replacement: the file's (root keeps a user's file
/// theirs; a user keeps a group they are in), else the caller's.
fn owner_of(meta: &fs::Metadata) -> Option<(u32, u32)> {
    let root = rustix::process::geteuid().is_root();
    (root || in_group(meta.gid())).then(|| (meta.uid(), meta.gid()))
}

/// Whether this process is in the group `gid` (its own or a supplementary one).
fn in_group(gid: u32) -> bool {
    let gid = rustix::process::Gid::from_raw(gid);
    rustix::process::getegid() == gid
        || rustix::process::getgroups().is_ok_and(|g| g.contains(&gid))
}

fn files_parent(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// client-go's lock on a kubeconfig: `<path>.lock`, created exclusively (kubectl
/// gives up at once when it exists; eks-token waits within the deadline); removed on
/// drop, and on SIGTERM or SIGINT.
struct Lock(PathBuf);

impl Lock {
    /// Takes the lock of `path`, waiting for another holder until `deadline`; the error
    /// names the lock file.
    fn take(path: &Path, deadline: Instant) -> Result<Lock, Error> {
        use rustix::fs::{Mode, OFlags};
        let mut name = path.as_os_str().to_owned();
        name.push(".lock");
        let lock = PathBuf::from(name);
        let started = Instant::now();
        let dir = files_parent(&lock);
        if !dir.is_dir() {
            std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o700)
                .create(&dir)
                .map_err(|e| Error::Io {
                    what: format!("cannot create the directory {}", dir.display()),
                    source: e,
                })?;
        }
        crate::cli::signals::on_stop(|sig| {
            crate::cli::output::note(
                &Log::default(),
                format_args!("stopped by signal {sig}; the kubeconfig was left as it was"),
            );
            128 + sig
        })
        .map_err(|e| Error::Io {
            what: "cannot handle SIGTERM".into(),
            source: e,
        })?;
        loop {
            match rustix::fs::open(
                &lock,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(_) => {
                    crate::cli::signals::remove_on_stop(lock.clone());
                    return Ok(Lock(lock));
                }
                Err(rustix::io::Errno::EXIST) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(rustix::io::Errno::EXIST) => {
                    return Err(Error::Io {
                        what: format!("cannot update the kubeconfig {}", path.display()),
                        source: std::io::Error::new(
                            std::io::ErrorKind::WouldBlock,
                            format!(
                                "its lock file {} is held by another program (kubectl or \
                                 eks-token); waited {:.1} s (--timeout). If none is running, \
                                 remove the lock file",
                                lock.display(),
                                started.elapsed().as_secs_f64()
                            ),
                        ),
                    })
                }
                Err(e) => {
                    return Err(Error::Io {
                        what: format!("cannot create the lock file {}", lock.display()),
                        source: std::io::Error::from(e),
                    })
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
        crate::cli::signals::forget(&self.0);
    }
}

/// The kubeconfig files to consider: `--kubeconfig`, else the paths of `KUBECONFIG`,
/// else `~/.kube/config`.
/// Each is made absolute as aws-cli does (`os.path.abspath(os.path.expanduser(p))`), so
/// that messages name the file wherever the command ran.
fn candidates(explicit: Option<&Path>, env: &Env) -> Result<Vec<PathBuf>, Error> {
    let home = env.get("HOME").map(PathBuf::from);
    let expand = |p: &str| -> PathBuf {
        match (p.strip_prefix("~/"), &home) {
            (Some(rest), Some(h)) => absolute(&h.join(rest)),
            _ => absolute(Path::new(p)),
        }
    };
    if let Some(p) = explicit {
        return Ok(vec![expand(&p.to_string_lossy())]);
    }
    let from_env: Vec<PathBuf> = env
        .get("KUBECONFIG")
        .map(|v| {
            v.split(':')
                .filter(|p| !p.trim().is_empty())
                .map(expand)
                .collect()
        })
        .unwrap_or_default();
    if !from_env.is_empty() {
        return Ok(from_env);
    }
    match home {
        Some(h) => Ok(vec![absolute(&h.join(".kube/config"))]),
        None => Err(Error::InvalidInput(
            "no kubeconfig to update: HOME and KUBECONFIG are not set; use --kubeconfig FILE"
                .into(),
        )),
    }
}

/// `eks update-kubeconfig`: what goes to stdout.
pub(crate) fn update(
    args: GetToken,
    u: &UpdateKubeconfig,
    env: &Env,
    program: &Program,
    log: &Log,
) -> Result<String, Failure> {
    // The whole command, waiting for the lock included, within --timeout.
    let deadline = Instant::now() + args.request.timeout;
    let env = args.effective_env(env);
    let paths = candidates(u.kubeconfig.as_deref(), &env)?;
    // The first file is the one written unless another already holds the cluster: it
    // must be usable (and writable) before anything is asked of AWS.
    let first = load(&paths[0], false, deadline)?;
    if !u.dry_run {
        check_writable(&first)?;
    }
    let command = program.exec_command(&env)?;
    let mut issuer = crate::cli::commands::issuer(&args.request, &env, log, None)?;
    let cluster = issuer.describe_cluster(&u.name)?;
    if let Some(status) = cluster.status.as_deref() {
        if !["ACTIVE", "UPDATING"].contains(&status) {
            return Err(Error::InvalidInput(format!(
                "cluster {} is {status}: a kubeconfig needs it ACTIVE (or UPDATING)",
                u.name
            ))
            .into());
        }
    }
    // Another file of KUBECONFIG that already has this cluster is updated instead.
    let mut path = paths[0].clone();
    if !has_entry(&first.content, "clusters", &cluster.arn) {
        for p in &paths[1..] {
            if let Ok(k) = load(p, false, deadline) {
                if has_entry(&k.content, "clusters", &cluster.arn) {
                    path = p.clone();
                    break;
                }
            }
        }
    }
    let cluster_entry = cluster_entry(
        &cluster.arn,
        &cluster.endpoint,
        &cluster.ca_data,
        u.proxy_url.as_deref(),
    );
    let profile = issuer.named_profile().map(str::to_owned);
    let region = cluster.arn.split(':').nth(3).unwrap_or_default();
    let id = match &cluster.outpost_id {
        Some(id) => ("--cluster-id", id.as_str()),
        None => ("--cluster-name", u.name.as_str()),
    };
    let roles: Vec<String> = u.role_arn.iter().cloned().collect();
    let chain = Chain {
        roles: &roles,
        ..Chain::default()
    };
    let aws = args.print.dialect == Dialect::Aws;
    let user_name = u.user_alias.clone().unwrap_or_else(|| cluster.arn.clone());
    let user = exec_user(
        &user_name,
        &Exec {
            command,
            args: token_args(aws, id, region, &chain),
            profile,
            interactive: None,
        },
    );
    let context_name = u.alias.clone().unwrap_or_else(|| user_name.clone());
    let context = context_entry(&context_name, &cluster.arn, &user_name);
    // Under the lock, the file as it is now: changes made meanwhile are kept.
    let _lock = if u.dry_run {
        None
    } else {
        Some(Lock::take(&path, deadline)?)
    };
    let mut config = load(&path, !u.dry_run, deadline)?;
    if !u.dry_run {
        check_writable(&config)?;
    }
    let updating = insert(&mut config.content, "clusters", cluster_entry.clone());
    insert(&mut config.content, "users", user.clone());
    insert(&mut config.content, "contexts", context.clone());
    yaml::set(
        &mut config.content,
        "current-context",
        string(&context_name),
        true,
    );
    let text = yaml::write(&config.content, deadline).map_err(|why| invalid(&config.path, why))?;
    if u.dry_run {
        return Ok(text);
    }
    let Some((dir, name)) = &config.at else {
        unreachable!("located with create")
    };
    let opts = files::WriteOptions {
        mode: config.meta.as_ref().map_or(0o600, |m| m.mode() & 0o7777),
        dir_mode: 0o700,
        owner: config.meta.as_ref().and_then(owner_of),
        replace_any: false,
    };
    {
        let _writing = crate::cli::signals::writing();
        dir.write_atomic(name, text.as_bytes(), opts)
            .map_err(|e| io_error("cannot write", &config.path, e))?;
    }
    let path = terminal(&config.path.display().to_string());
    let context_name = terminal(&context_name);
    let mut out = if updating {
        format!("Updated context {context_name} in {path}\n")
    } else {
        format!("Added new context {context_name} to {path}\n")
    };
    if u.verbose {
        out.push_str("Entries:\n\n");
        for entry in [&context, &user, &cluster_entry] {
            out.push_str(&crate::cli::output::json_for_terminal(&dump(entry)));
            out.push('\n');
        }
    }
    Ok(out)
}
