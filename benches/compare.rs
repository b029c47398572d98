//! Side-by-side benchmark of this ncat against Ncat (`/usr/bin/ncat`, when installed), on
//! loopback. Every scenario runs the targets round after round, each first in turn (A B, B A,
//! ...), checks that every byte arrived intact, and prints medians and the ratio of this ncat
//! to Ncat; integrity columns (lost, reordered, intact, joined, ...) show the worst round
//! instead, and every round's figures go to stderr.
//!
//! ```text
//! cargo bench --bench compare                         # every scenario, 3 rounds
//! cargo bench --bench compare -- --rounds 5 bulk chat # some scenarios
//! cargo bench --bench compare -- --quick              # smaller sizes, 1 round
//! NCAT_REFERENCE=/path/to/ncat cargo bench --bench compare
//! ```
//!
//! Scenarios: `bulk` (file -> client -> listener -> /dev/null), `pipe` (the same through
//! `cat |`), `tls` (bulk with `--ssl` at both ends), `dtls` (the `-u --ssl` client
//! sending a file to this build's DTLS listener), `handshakes` (`-l -k --ssl`, short-lived
//! clients doing full handshakes), `udp` (1,400-byte and 16 KiB datagrams flooding `-u -l`),
//! `exec` (`-l -k -e /bin/cat`, short connections), `fanout` (broker, 1 sender, 100 and 500
//! receivers; `--quick`: 100), `chat` (a checked join storm, then latency at 100 x 10 lines/s, 500, 1,000 and
//! 2,000 x 1 line/s; `--quick`: the first), `conns` (19,000 idle broker clients, memory per client; `--quick`: 2,000),
//! `burst` (5,000 clients connecting at once: time until all are accepted, listen overflows),
//! `slow` (one receiver stops reading), `startup` (`--version`, and launch to first byte).

mod load;

use load::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

struct Options {
    rounds: usize,
    quick: bool,
    scenarios: Vec<String>,
}

const ALL: [&str; 13] = [
    "bulk",
    "pipe",
    "tls",
    "dtls",
    "handshakes",
    "udp",
    "exec",
    "fanout",
    "chat",
    "conns",
    "burst",
    "slow",
    "startup",
];

fn options() -> Options {
    let mut opts = Options {
        rounds: 3,
        quick: false,
        scenarios: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => opts.rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(3),
            "--quick" => {
                opts.quick = true;
                opts.rounds = 1;
            }
            "--bench" => {}
            s if ALL.contains(&s) => opts.scenarios.push(s.to_string()),
            other => eprintln!("ignoring unknown argument {other:?}"),
        }
    }
    if opts.scenarios.is_empty() {
        opts.scenarios = ALL.iter().map(|s| s.to_string()).collect();
    }
    opts
}

fn targets() -> Vec<Target> {
    let mut targets = vec![Target {
        label: "ncat-rs".into(),
        path: PathBuf::from(env!("CARGO_BIN_EXE_ncat")),
    }];
    let reference = std::env::var_os("NCAT_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/ncat"));
    if reference.exists() {
        targets.push(Target {
            label: "ncat-7.93".into(),
            path: reference,
        });
    } else {
        eprintln!(
            "{} not found: measuring this ncat alone",
            reference.display()
        );
    }
    targets
}

/// Runs `scenario` for every target, round after round, and prints its table.
fn compare(title: &str, opts: &Options, targets: &[Target], scenario: impl Fn(&Target) -> Metrics) {
    eprintln!("== {title}");
    let started = std::time::Instant::now();
    let mut results: Vec<Vec<Metrics>> = vec![Vec::new(); targets.len()];
    for round in 0..opts.rounds {
        // A B, B A, A B, ...: whichever target runs first in a round is measured a little
        // worse (an A/A run of one binary gave a chat p99 of 1.17 ms first, 0.91 ms second),
        // so each takes both places in turn.
        let mut order: Vec<usize> = (0..targets.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            eprintln!("   round {} {}", round + 1, targets[i].label);
            let metrics = scenario(&targets[i]);
            let shown: Vec<String> = metrics
                .iter()
                .map(|(name, v)| format!("{name} {}", v.map_or("n/a".into(), fmt_value)))
                .collect();
            eprintln!("     {}", shown.join(", "));
            results[i].push(metrics);
        }
    }
    eprintln!("   ({:.0} s)", started.elapsed().as_secs_f64());
    print_table(title, targets, &results);
}

fn print_table(title: &str, targets: &[Target], results: &[Vec<Metrics>]) {
    println!("\n### {title}\n");
    let names: Vec<String> = results[0][0].iter().map(|(k, _)| k.clone()).collect();
    let mut header = String::from("| target |");
    let mut rule = String::from("|---|");
    for name in &names {
        header.push_str(&format!(" {name} |"));
        rule.push_str("---|");
    }
    println!("{header}\n{rule}");
    let mut medians: Vec<BTreeMap<String, Option<f64>>> = Vec::new();
    for (target, runs) in targets.iter().zip(results) {
        let mut row = format!("| {} |", target.label);
        let mut per_metric = BTreeMap::new();
        for name in &names {
            let values: Vec<f64> = runs
                .iter()
                .filter_map(|m| m.iter().find(|(k, _)| k == name).and_then(|(_, v)| *v))
                .collect();
            let med = summary(name, &values);
            per_metric.insert(name.clone(), med);
            row.push_str(&format!(" {} |", med.map_or("n/a".into(), fmt_value)));
        }
        println!("{row}");
        medians.push(per_metric);
    }
    if medians.len() == 2 {
        let mut row = String::from("| ratio (ncat-rs / ncat-7.93) |");
        for name in &names {
            let ratio = match (medians[0][name], medians[1][name]) {
                (Some(a), Some(b)) if b != 0.0 => fmt_value(a / b),
                _ => "n/a".into(),
            };
            row.push_str(&format!(" {ratio} |"));
        }
        println!("{row}");
    }
}

fn fmt_value(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Integrity columns, where one bad round must show: the worst round is printed for these,
/// the median for every other column.
const WORST_IS_HIGHEST: [&str; 4] = ["lost", "reordered", "bad announcements", "failed"];
const WORST_IS_LOWEST: [&str; 6] = [
    "intact",
    "whole",
    "receivers exact",
    "probe ok",
    "joined",
    "clients held",
];

fn summary(name: &str, values: &[f64]) -> Option<f64> {
    let v = values.iter().copied();
    if WORST_IS_HIGHEST.contains(&name) {
        v.reduce(f64::max)
    } else if WORST_IS_LOWEST.contains(&name) {
        v.reduce(f64::min)
    } else {
        median(values)
    }
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

fn main() {
    let opts = options();
    let targets = targets();
    raise_fd_limit();
    println!(
        "## ncat-rs vs Ncat 7.93, {} round(s)\n\n{}",
        opts.rounds,
        machine()
    );
    let gib = if opts.quick { 256 << 20 } else { 1 << 30 };
    let corpus = Corpus::create(gib);
    for scenario in &opts.scenarios {
        match scenario.as_str() {
            "bulk" => compare(
                "bulk: file -> client -> listener -> /dev/null",
                &opts,
                &targets,
                |t| bulk(t, &corpus, false, &[]),
            ),
            "pipe" => compare(
                "bulk through a pipe: cat file | client -> listener",
                &opts,
                &targets,
                |t| bulk(t, &corpus, true, &[]),
            ),
            "tls" => compare(
                "TLS bulk: file -> client --ssl -> listener --ssl -> /dev/null",
                &opts,
                &targets,
                |t| bulk(t, &corpus, false, &["--ssl"]),
            ),
            "dtls" => {
                // Smaller than the TCP corpus: each round moves it through a DTLS listener that
                // has no flow control over its sender.
                let dtls_corpus = Corpus::create(if opts.quick { 64 << 20 } else { 256 << 20 });
                compare(
                    "DTLS client: file -> client -u --ssl -> this build's -u --ssl -l",
                    &opts,
                    &targets,
                    |t| dtls_bulk(t, &dtls_corpus),
                )
            }
            "handshakes" => compare(
                "TLS handshakes: -l -k --ssl, short-lived clients",
                &opts,
                &targets,
                |t| handshakes(t, if opts.quick { 2.0 } else { 10.0 }),
            ),
            "udp" => {
                for size in [1400, 16 << 10] {
                    compare(
                        &format!("UDP: {size}-byte datagrams -> -u -l"),
                        &opts,
                        &targets,
                        |t| udp(t, size, if opts.quick { 1.0 } else { 5.0 }),
                    );
                }
            }
            "exec" => compare(
                "exec service: -l -k -e /bin/cat, short connections of 1 KiB",
                &opts,
                &targets,
                |t| exec_service(t, if opts.quick { 2.0 } else { 10.0 }),
            ),
            "fanout" => {
                // Ncat takes seconds to let 500 broker clients in, so --quick stays at 100.
                let rows: &[u64] = if opts.quick { &[100] } else { &[100, 500] };
                for &receivers in rows {
                    let total = if opts.quick { 256 << 20 } else { 1 << 30 };
                    compare(
                        &format!("broker fan-out, 1 sender, {receivers} receivers"),
                        &opts,
                        &targets,
                        |t| fanout(t, receivers, total / receivers),
                    );
                }
            }
            "chat" => {
                // Ncat takes about 80 ms to let each chat client in, so --quick stays at 100.
                let rows: &[(usize, u64, u64)] = if opts.quick {
                    &[(100, 10, 30)]
                } else {
                    &[(100, 10, 30), (500, 1, 4), (1000, 1, 3), (2000, 1, 3)]
                };
                for &(clients, rate, lines) in rows {
                    compare(
                        &format!("chat latency, {clients} clients x {rate} lines/s"),
                        &opts,
                        &targets,
                        |t| chat(t, clients, rate, lines),
                    );
                }
            }
            "conns" => {
                let count = if opts.quick { 2000 } else { 19_000 };
                compare(
                    &format!("{count} idle broker clients"),
                    &opts,
                    &targets,
                    |t| {
                        idle(
                            t,
                            count,
                            Duration::from_secs(if opts.quick { 15 } else { 600 }),
                        )
                    },
                );
            }
            "burst" => {
                let count = if opts.quick { 1000 } else { 5000 };
                compare(
                    &format!("a burst of {count} clients against --broker"),
                    &opts,
                    &targets,
                    |t| {
                        burst(
                            t,
                            count,
                            Duration::from_secs(if opts.quick { 10 } else { 120 }),
                        )
                    },
                );
            }
            "slow" => compare(
                "slow consumer: 4 fast receivers, 1 stops reading",
                &opts,
                &targets,
                slow,
            ),
            "startup" => compare("start-up", &opts, &targets, startup),
            _ => unreachable!(),
        }
    }
}
