//! `fsimage-worker`: runs fsimage filesystem plugins in a locked-down process.
//!
//! Started by the fsimage core (see `fsimage::sandbox`), never by hand:
//!
//! ```text
//! fsimage-worker [--debug] [--memory BYTES] [--cpu SECONDS]
//! ```
//!
//! Standard input is one end of a `SOCK_STREAM` socket pair to the host; the
//! worker speaks `fsimage::sandbox::protocol` on it. It holds no image
//! descriptor: every byte a plugin reads is asked of the host. It closes
//! every other inherited descriptor, enters its namespaces and builds its
//! seccomp program while the host is still deciding which plugins it needs,
//! then loads the plugins the host's LOAD names, finishes locking itself
//! down (see [`lockdown`]), reports READY with what could not be applied,
//! and serves requests until the host closes the socket.

mod lockdown;
mod serve;

use std::process::ExitCode;

/// Command-line settings.
#[derive(Debug)]
pub struct Args {
    /// Print diagnostics to standard error.
    pub debug: bool,
    /// RLIMIT_AS in bytes.
    pub memory: u64,
    /// RLIMIT_CPU in seconds.
    pub cpu: u64,
    /// The host's descriptor of a network namespace to enter (its shared
    /// empty one) rather than making a new one.
    pub join_net: Option<i32>,
    /// Standard output is the shared memory window (`fsimage::sandbox::shm`).
    pub shm: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        debug: false,
        memory: 1 << 30,
        cpu: 120,
        join_net: None,
        shm: false,
    };
    let mut it = std::env::args_os().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.to_str() {
            Some("--debug") => a.debug = true,
            Some("--join-net") => {
                a.join_net = Some(
                    value("--join-net")?
                        .to_str()
                        .and_then(|s| s.parse().ok())
                        .ok_or("--join-net: not a descriptor")?,
                )
            }
            Some("--shm") => a.shm = true,
            Some("--memory") => {
                a.memory = value("--memory")?
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--memory: not a number")?
            }
            Some("--cpu") => {
                a.cpu = value("--cpu")?
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--cpu: not a number")?
            }
            _ => return Err(format!("unknown argument {}", arg.to_string_lossy())),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    // Die with the host, whatever happens to it.
    lockdown::die_with_parent();
    // Nothing inherited but the socket (0) and stdout/stderr (1, 2).
    lockdown::close_inherited_fds();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fsimage-worker: {e}");
            return ExitCode::from(2);
        }
    };
    if !args.debug {
        // A plugin panic is caught by the SDK and reported as an error; keep
        // the default hook from writing to stderr (and from reading the
        // environment for RUST_BACKTRACE after lock-down).
        std::panic::set_hook(Box::new(|_| {}));
    }
    // Namespaces and the seccomp program first: they overlap the host's
    // work until it sends LOAD.
    let mut notes = Vec::new();
    if args.shm
        && let Err(e) = serve::map_window()
    {
        notes.push(format!("shared memory window: {e}"));
    }
    lockdown::stdout_to_null(&mut notes);
    let prepared = lockdown::prepare(args.join_net, &mut notes);
    let paths = match serve::read_load() {
        Ok(p) => p,
        Err(e) => {
            if args.debug {
                eprintln!("fsimage-worker: waiting for LOAD: {e}");
            }
            return ExitCode::from(3);
        }
    };
    // Plugins next: loading them opens files, which lock-down forbids.
    let plugins: Vec<_> = paths
        .iter()
        .map(|p| match fsimage::plugin::Plugin::load(p) {
            Ok(pl) => Some(std::sync::Arc::new(pl)),
            Err(e) => {
                if args.debug {
                    eprintln!("fsimage-worker: {}: {e}", p.display());
                }
                None
            }
        })
        .collect();
    lockdown::finish(&args, prepared, &mut notes);
    if args.debug {
        for n in &notes {
            eprintln!("fsimage-worker: not applied: {n}");
        }
    }
    match serve::serve(plugins, &notes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if args.debug {
                eprintln!("fsimage-worker: {e}");
            }
            ExitCode::from(3)
        }
    }
}
