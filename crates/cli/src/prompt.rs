//! Secrets from the environment or a prompt: never echoed on a terminal, never printed. Without a
//! terminal one line is read from stdin, so scripts can pipe a secret in.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use tiktok_shop::Secret;

/// The value of `env_var`, or what the person types at `label`'s prompt.
pub fn secret(env_var: &str, label: &str) -> anyhow::Result<Secret> {
    if let Ok(v) = std::env::var(env_var)
        && !v.trim().is_empty()
    {
        return Ok(Secret::new(v.trim().to_owned()));
    }
    let stdin = std::io::stdin();
    let line = if stdin.is_terminal() {
        eprint!("{label} (or set {env_var}): ");
        std::io::stderr().flush().context("writing the prompt")?;
        let line = read_without_echo().with_context(|| format!("reading the {label}"))?;
        eprintln!();
        line
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).with_context(|| format!("reading the {label} from stdin"))?;
        line
    };
    let v = line.trim();
    if v.is_empty() {
        bail!("no {label}: set {env_var} or type it at the prompt");
    }
    Ok(Secret::new(v.to_owned()))
}

/// Reads one line with the terminal's echo off, restoring the terminal afterwards.
#[cfg(unix)]
fn read_without_echo() -> std::io::Result<String> {
    use std::os::fd::AsRawFd;
    let fd = std::io::stdin().as_raw_fd();
    // SAFETY: termios is plain old data; tcgetattr fills it for a valid fd (checked by its return).
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is stdin, open for the life of the process; `saved` is a valid termios to write.
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut quiet = saved;
    quiet.c_lflag &= !libc::ECHO;
    quiet.c_lflag |= libc::ECHONL;
    // SAFETY: as above; `quiet` is a copy of a valid termios with only the echo flags changed.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    // SAFETY: restores the settings read above on the same fd.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    read.map(|_| line)
}

#[cfg(not(unix))]
fn read_without_echo() -> std::io::Result<String> {
    // No portable no-echo read without another dependency: say so rather than pretend.
    eprint!("(input will be visible) ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map(|_| line)
}

/// Who is acting, for the audit trail: `--actor`, else the OS user.
pub fn actor(explicit: Option<&str>) -> String {
    if let Some(a) = explicit.map(str::trim).filter(|a| !a.is_empty()) {
        return a.to_owned();
    }
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}
