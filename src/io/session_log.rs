//! Session logs: `-o` (raw bytes) and `-x` (hex dump), both directions, no direction marker,
//! in the order chunks are handled. Files are opened at start-up (mode 0664 before the umask),
//! truncated unless `--append-output`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;

/// The open log files of a session (either may be absent).
#[derive(Debug, Default)]
pub struct SessionLog {
    raw: Option<Mutex<File>>,
    hex: Option<Mutex<File>>,
}

impl SessionLog {
    /// Opens the files named by `-o` and `-x`.
    pub fn open(raw: Option<&str>, hex: Option<&str>, append: bool) -> io::Result<SessionLog> {
        let open = |path: &str| -> io::Result<Mutex<File>> {
            let mut options = OpenOptions::new();
            options.write(true).create(true).mode(0o664);
            if append {
                options.append(true);
            } else {
                options.truncate(true);
            }
            options.open(path).map(Mutex::new)
        };
        Ok(SessionLog {
            raw: raw.map(open).transpose()?,
            hex: hex.map(open).transpose()?,
        })
    }

    /// How many descriptors the logs hold (they shift Ncat's chat IDs).
    pub fn files(&self) -> u32 {
        u32::from(self.raw.is_some()) + u32::from(self.hex.is_some())
    }

    pub fn is_active(&self) -> bool {
        self.files() > 0
    }

    /// Logs one chunk. A failing log write is reported once per chunk and does not end the
    /// session.
    pub fn record(&self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        if let Some(file) = &self.raw {
            Self::write(file, chunk);
        }
        if let Some(file) = &self.hex {
            Self::write(file, &hex_dump(chunk));
        }
    }

    fn write(file: &Mutex<File>, data: &[u8]) {
        let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(data) {
            crate::io::stdio::output_failed(&e);
        }
    }
}

/// Ncat's hex dump of one chunk: 16 bytes a line, each line 73 characters plus a newline:
/// a 4-digit offset (restarting at 0 for every chunk), the bytes in two groups of eight, and
/// the printable ones (`!` to `~`; anything else, space included, as `.`).
pub fn hex_dump(chunk: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(chunk.len().div_ceil(16) * 74);
    for (line, bytes) in chunk.chunks(16).enumerate() {
        // Ncat wraps the offset modulo 0xFFFF (sic), which only shows past 64 KiB.
        let offset = (line * 16) % 0xffff;
        out.extend_from_slice(format!("{offset:04x}   ").as_bytes());
        for i in 0..16 {
            if i == 8 {
                out.push(b' ');
            }
            match bytes.get(i) {
                Some(&b) => out.extend_from_slice(&[
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 15)],
                    b' ',
                ]),
                None => out.extend_from_slice(b"   "),
            }
        }
        out.push(b' ');
        for i in 0..16 {
            out.push(match bytes.get(i) {
                Some(&b) if b.is_ascii_graphic() => b,
                Some(_) => b'.',
                None => b' ',
            });
        }
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_dump_layout() {
        let first = hex_dump(b"sent-line 1\n");
        assert_eq!(
            String::from_utf8(first).unwrap(),
            "0000   73 65 6e 74 2d 6c 69 6e  65 20 31 0a              sent-line.1.    \n"
        );
        let second = hex_dump(b"recv\x00\x01\xff data that is longer than sixteen bytes!\n");
        assert_eq!(
            String::from_utf8(second).unwrap(),
            "0000   72 65 63 76 00 01 ff 20  64 61 74 61 20 74 68 61  recv....data.tha\n\
             0010   74 20 69 73 20 6c 6f 6e  67 65 72 20 74 68 61 6e  t.is.longer.than\n\
             0020   20 73 69 78 74 65 65 6e  20 62 79 74 65 73 21 0a  .sixteen.bytes!.\n"
        );
        assert!(hex_dump(b"").is_empty());
    }

    #[test]
    fn every_line_is_73_columns() {
        let data: Vec<u8> = (0..=255u8).collect();
        for len in [1, 7, 8, 9, 15, 16, 17, 256] {
            let dump = String::from_utf8(hex_dump(&data[..len])).unwrap();
            assert!(dump.lines().all(|l| l.len() == 73), "{len}: {dump:?}");
        }
    }
}
