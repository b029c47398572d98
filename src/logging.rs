//! Diagnostics on stderr in Ncat's shapes: `Ncat: ...` for messages, `NCAT DEBUG: ...` for debug.
//! `-v` shows info-level messages, `-vv` and more show debug ones; warnings and errors always show.

use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

struct NcatFormat;

impl<S, N> FormatEvent<S, N> for NcatFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let prefix = match *event.metadata().level() {
            Level::DEBUG | Level::TRACE => "NCAT DEBUG: ",
            _ => "Ncat: ",
        };
        writer.write_str(prefix)?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Installs the stderr logger for the given `-v` count.
pub fn init(verbose: u8) {
    let level = match verbose {
        0 => Level::WARN,
        1 => Level::INFO,
        2 => Level::DEBUG,
        _ => Level::TRACE,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        // A failed write to stderr (its reader gone) is ignored; reporting it would panic.
        .log_internal_errors(false)
        .event_format(NcatFormat)
        .init();
}
