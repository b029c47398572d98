//! The I/O the checked options ask for: [`Step`]s run in order, then the [`Config`] assembled.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::check::{Checked, Name, Plan, Step};
use super::{Config, Mode};
use crate::error::{Failure, strerror};
use crate::io::exec::ExecCommand;
use crate::io::session_log::SessionLog;
use crate::net::access::AccessList;
use crate::net::resolve::{self, Family};
use crate::net::stream::Endpoint;

/// What the steps found.
#[derive(Default)]
struct Found {
    script: Option<ExecCommand>,
    log: SessionLog,
    proxy: Vec<IpAddr>,
    source: Option<IpAddr>,
    target: Vec<IpAddr>,
    access: AccessList,
}

/// Runs the plan's steps in order, handing each notice line to `notice` when its turn comes.
/// The first step that fails decides the outcome; if none does, the check's verdict does.
pub fn prepare(plan: Plan, notice: &mut dyn FnMut(&str)) -> Result<Config, Failure> {
    let mut found = Found::default();
    for step in plan.steps {
        run_step(step, &mut found, notice)?;
    }
    Ok(finish(plan.outcome?, found))
}

fn run_step(step: Step, found: &mut Found, notice: &mut dyn FnMut(&str)) -> Result<(), Failure> {
    match step {
        Step::LoadScript(script) => {
            crate::io::lua::check(&script)?;
            let command = ExecCommand::lua(&script).map_err(|e| {
                Failure::Fatal(format!(
                    "Cannot find this program to run the Lua script: {}.",
                    strerror(&e)
                ))
            })?;
            found.script = Some(command);
        }
        Step::OpenLogs {
            output,
            hex_dump,
            append,
        } => {
            found.log = SessionLog::open(output.as_deref(), hex_dump.as_deref(), append)
                .map_err(|e| Failure::Plain(format!("open: {}", strerror(&e))))?;
        }
        Step::Notice(line) => notice(&line),
        Step::Resolve { name, host, lookup } => {
            let addrs = resolve::resolve(&host, lookup.family, lookup.numeric_only)
                .map_err(|e| resolve_failure(name, &host, lookup.family, &e))?;
            match name {
                Name::Proxy => found.proxy = addrs,
                Name::Source => found.source = addrs.first().copied(),
                Name::Target => found.target = addrs,
            }
        }
        Step::ReadAccess(source) => {
            // A bad entry has an explanation line, then the fatal one.
            found.access = AccessList::new(source).map_err(|e| match e.detail {
                Some(detail) => Failure::Fatal(format!("{detail}\nNcat: {}", e.fatal)),
                None => Failure::Fatal(e.fatal),
            })?;
        }
    }
    Ok(())
}

/// Each name fails in Ncat's words; only the proxy's failure is a network error (status 1).
fn resolve_failure(name: Name, host: &str, family: Family, error: &str) -> Failure {
    match name {
        Name::Proxy => {
            let hint = if family == Family::V6 {
                "\nNcat: Did you specify the port number? It's required for IPv6."
            } else {
                ""
            };
            Failure::Network(format!(
                "Could not resolve proxy \"{host}\": {error}.{hint}"
            ))
        }
        Name::Source => Failure::Fatal(format!(
            "Could not resolve source address \"{host}\": {error}."
        )),
        Name::Target => Failure::Fatal(format!("Could not resolve hostname \"{host}\": {error}.")),
    }
}

/// The checked options with what the steps found in place of the placeholders.
fn finish(checked: Checked, found: Found) -> Config {
    let Checked {
        mut config,
        listen_host,
        port,
        mut tls,
    } = checked;
    match &mut config.mode {
        Mode::Connect { addrs, .. } | Mode::Probe { addrs, .. } => *addrs = found.target,
        Mode::Listen { endpoints, .. } => {
            if let Some(ip) = found.target.first() {
                *endpoints = vec![Endpoint::Ip(SocketAddr::new(*ip, port))];
            }
            if let Some(tls) = tls.as_mut() {
                tls.names = certificate_names(listen_host.as_deref(), endpoints);
            }
        }
        Mode::ConnectUnix { .. } | Mode::ProbeUnix { .. } => {}
    }
    if let Some(proxy) = config.proxy.as_mut() {
        proxy.first_addrs = found.proxy;
    }
    config.source_addr = found.source;
    config.log = Arc::new(found.log);
    config.access = Arc::new(found.access);
    config.exec = config.exec.or(found.script);
    config.tls = tls.map(Arc::new);
    config
}

/// The names a generated certificate is valid for: the address as typed (Ncat's common name),
/// or `localhost` and the loopback addresses when listening on every address.
fn certificate_names(host: Option<&str>, endpoints: &[Endpoint]) -> Vec<String> {
    let mut names: Vec<String> = match host {
        Some(h) => vec![h.to_string()],
        None => vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
    };
    for endpoint in endpoints {
        if let Some(ip) = endpoint.ip().filter(|ip| !ip.is_unspecified()) {
            let ip = ip.to_string();
            if !names.contains(&ip) {
                names.push(ip);
            }
        }
    }
    names
}
