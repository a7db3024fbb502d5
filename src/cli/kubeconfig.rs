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
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eks_token::{files, Cluster, Env, Error, Issuer};
use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

use super::args::{Dialect, GetToken, UpdateKubeconfig};
use super::commands::effective_env;
use super::kubeconfig_yaml::{self as yaml, dump, has_entry, insert, map, skeleton, string};
use super::Failure;

/// The exec apiVersion aws-cli writes.
const API_VERSION: &str = "client.authentication.k8s.io/v1beta1";

/// The largest kubeconfig read (real ones are a few KiB, a few MiB with hundreds of
/// clusters).
const MAX_FILE_BYTES: u64 = 16 << 20;

/// A kubeconfig file as read: its path, its content, and its metadata when it exists.
struct Kubeconfig {
    path: PathBuf,
    content: Hash,
    meta: Option<fs::Metadata>,
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!(
        "the kubeconfig {} cannot be used: {why}; fix it or name another with --kubeconfig \
         (it was left as it is)",
        path.display()
    ))
}

/// Reads `path`: a missing or empty file is a new kubeconfig; anything else must be one
/// YAML document that is a mapping whose lists are lists of mappings (aws-cli's
/// checks).
fn load(path: &Path) -> Result<Kubeconfig, Error> {
    let (text, meta) = match files::read_file_meta(path, MAX_FILE_BYTES) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Kubeconfig {
                path: path.to_path_buf(),
                content: skeleton(),
                meta: None,
            })
        }
        Err(e) => {
            return Err(Error::Io {
                what: format!("cannot read the kubeconfig {}", path.display()),
                detail: e.to_string(),
            })
        }
    };
    let text = String::from_utf8(text).map_err(|_| invalid(path, "it is not UTF-8 text"))?;
    let content = yaml::parse(&text).map_err(|why| invalid(path, why))?;
    Ok(Kubeconfig {
        path: path.to_path_buf(),
        content,
        meta: Some(meta),
    })
}

/// Refuses a kubeconfig the caller may not write, as kubectl would (it opens the file
/// for writing; root may write any).
fn check_writable(config: &Kubeconfig) -> Result<(), Error> {
    let Some(meta) = &config.meta else {
        return Ok(());
    };
    match rustix::fs::access(&config.path, rustix::fs::Access::WRITE_OK) {
        Ok(()) => Ok(()),
        Err(e) => Err(Error::Io {
            what: format!("cannot write the kubeconfig {}", config.path.display()),
            detail: format!(
                "{} (mode {:04o}, owner uid {}); it was left as it is: make it writable \
                 (chmod u+w) or name another with --kubeconfig",
                std::io::Error::from(e),
                meta.mode() & 0o7777,
                meta.uid()
            ),
        }),
    }
}

/// Where writing `path` lands: a symbolic link's target (followed link by link,
/// whether it exists or not, as aws-cli's `open` does), else the path itself.
fn write_target(path: &Path) -> Result<PathBuf, Error> {
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&target).map_err(|e| Error::Io {
                    what: format!("cannot read the symbolic link {}", target.display()),
                    detail: e.to_string(),
                })?;
                target = files_parent(&target).join(link);
            }
            _ => return Ok(target),
        }
    }
    Err(Error::Io {
        what: format!("cannot write the kubeconfig {}", path.display()),
        detail: "it is a chain of more than 40 symbolic links".into(),
    })
}

fn files_parent(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// client-go's lock on a kubeconfig: `<path>.lock`, created exclusively; removed on
/// drop.
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
                    detail: e.to_string(),
                })?;
        }
        loop {
            match rustix::fs::open(
                &lock,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(_) => return Ok(Lock(lock)),
                Err(rustix::io::Errno::EXIST) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(rustix::io::Errno::EXIST) => {
                    return Err(Error::Io {
                        what: format!("cannot update the kubeconfig {}", path.display()),
                        detail: format!(
                            "its lock file {} is held by another program (kubectl or \
                             eks-token); waited {:.1} s (--timeout). If none is running, \
                             remove the lock file",
                            lock.display(),
                            started.elapsed().as_secs_f64()
                        ),
                    })
                }
                Err(e) => {
                    return Err(Error::Io {
                        what: format!("cannot create the lock file {}", lock.display()),
                        detail: std::io::Error::from(e).to_string(),
                    })
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
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

/// `p` from the current directory, `.` and `..` folded by name as Python's
/// `os.path.abspath` does (symbolic links are not followed).
fn absolute(p: &Path) -> PathBuf {
    use std::path::Component;
    let joined = match std::env::current_dir() {
        Ok(cwd) if p.is_relative() => cwd.join(p),
        _ => p.to_path_buf(),
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// How the kubeconfig's user runs the exec plugin: the name this binary was run as
/// when PATH finds this very program under that name (so `aws` writes what aws-cli
/// writes), else its absolute path (also when PATH's first `aws` is another program).
fn exec_command(env: &Env) -> Result<String, Error> {
    let exe = std::env::current_exe().map_err(|e| Error::Io {
        what: "cannot find this program's path".into(),
        detail: e.to_string(),
    })?;
    let argv0 = std::env::args_os()
        .next()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = argv0.rsplit('/').next().unwrap_or(&argv0).to_owned();
    let found = (!name.is_empty())
        .then(|| env.get("PATH"))
        .flatten()
        .and_then(|path| {
            path.split(':')
                .filter(|dir| !dir.is_empty())
                .map(|dir| Path::new(dir).join(&name))
                .find(|p| {
                    fs::metadata(p)
                        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                })
        });
    let same = |p: &Path| matches!((fs::canonicalize(p), fs::canonicalize(&exe)), (Ok(a), Ok(b)) if a == b);
    match found {
        Some(p) if same(&p) => Ok(name),
        _ => Ok(exe.display().to_string()),
    }
}

/// The user entry: an exec plugin in the dialect the command was given in.
fn user_entry(
    dialect: Dialect,
    cluster: &Cluster,
    u: &UpdateKubeconfig,
    command: String,
    profile: Option<String>,
) -> Yaml {
    let region = cluster.arn.split(':').nth(3).unwrap_or_default().to_owned();
    let (id_flag, id) = match &cluster.outpost_id {
        Some(id) => ("--cluster-id", id.clone()),
        None => ("--cluster-name", u.name.clone()),
    };
    let mut args: Vec<String> = match dialect {
        Dialect::Aws => vec![
            "--region".into(),
            region,
            "eks".into(),
            "get-token".into(),
            id_flag.into(),
            id,
            "--output".into(),
            "json".into(),
        ],
        _ => vec![
            "get-token".into(),
            id_flag.into(),
            id,
            "--region".into(),
            region,
        ],
    };
    if let Some(role) = &u.role_arn {
        let flag = if dialect == Dialect::Aws {
            "--role"
        } else {
            "--role-arn"
        };
        args.extend([flag.to_owned(), role.clone()]);
    }
    let mut exec = vec![
        ("apiVersion", string(API_VERSION)),
        (
            "args",
            Yaml::Array(args.iter().map(|a| string(a)).collect()),
        ),
        ("command", string(&command)),
    ];
    if let Some(p) = profile {
        exec.push((
            "env",
            Yaml::Array(vec![map(vec![
                ("name", string("AWS_PROFILE")),
                ("value", string(&p)),
            ])]),
        ));
    }
    map(vec![
        (
            "name",
            string(u.user_alias.as_deref().unwrap_or(&cluster.arn)),
        ),
        ("user", map(vec![("exec", map(exec))])),
    ])
}

/// `eks update-kubeconfig`: what goes to stdout.
pub(crate) fn update(args: GetToken, u: &UpdateKubeconfig, env: &Env) -> Result<String, Failure> {
    // The whole command, waiting for the lock included, within --timeout.
    let deadline = Instant::now() + args.request.timeout;
    let env = effective_env(env, &args.env);
    let paths = candidates(u.kubeconfig.as_deref(), &env)?;
    // The first file is the one written unless another already holds the cluster: it
    // must be usable (and writable) before anything is asked of AWS.
    let first = load(&paths[0])?;
    if !u.dry_run {
        check_writable(&first)?;
    }
    let command = exec_command(&env)?;
    let mut issuer = Issuer::new(&args.request, &env)?;
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
            if let Ok(k) = load(p) {
                if has_entry(&k.content, "clusters", &cluster.arn) {
                    path = p.clone();
                    break;
                }
            }
        }
    }
    let mut cluster_fields = vec![
        ("certificate-authority-data", string(&cluster.ca_data)),
        ("server", string(&cluster.endpoint)),
    ];
    if let Some(proxy) = &u.proxy_url {
        cluster_fields.push(("proxy-url", string(proxy)));
    }
    let cluster_entry = map(vec![
        ("cluster", map(cluster_fields)),
        ("name", string(&cluster.arn)),
    ]);
    let profile = args
        .request
        .profile
        .clone()
        .or_else(|| env.get("AWS_PROFILE").map(str::to_owned));
    let user = user_entry(args.print.dialect, &cluster, u, command, profile);
    let user_name = user["name"].as_str().unwrap_or_default().to_owned();
    let context_name = u.alias.clone().unwrap_or_else(|| user_name.clone());
    let context = map(vec![
        (
            "context",
            map(vec![
                ("cluster", string(&cluster.arn)),
                ("user", string(&user_name)),
            ]),
        ),
        ("name", string(&context_name)),
    ]);
    // Under the lock, the file as it is now: changes made meanwhile are kept.
    let _lock = if u.dry_run {
        None
    } else {
        Some(Lock::take(&path, deadline)?)
    };
    let mut config = load(&path)?;
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
    let text = yaml::write(&config.content).map_err(|why| invalid(&config.path, why))?;
    if u.dry_run {
        return Ok(text);
    }
    let target = write_target(&config.path)?;
    let opts = files::WriteOptions {
        mode: config.meta.as_ref().map_or(0o600, |m| m.mode() & 0o7777),
        dir_mode: 0o700,
        owner: config.meta.as_ref().map(|m| (m.uid(), m.gid())),
    };
    files::write_atomic_with(&target, text.as_bytes(), opts).map_err(|e| Error::Io {
        what: format!("cannot write the kubeconfig {}", config.path.display()),
        detail: e.to_string(),
    })?;
    let path = config.path.display();
    let mut out = if updating {
        format!("Updated context {context_name} in {path}\n")
    } else {
        format!("Added new context {context_name} to {path}\n")
    };
    if u.verbose {
        out.push_str("Entries:\n\n");
        for entry in [&context, &user, &cluster_entry] {
            out.push_str(&dump(entry));
            out.push('\n');
        }
    }
    Ok(out)
}
