//! A suite's log: pytest's output kept whole up to a cap, beyond it its first and last 10 MiB.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

/// How much of the start and of the end of one process's output a log keeps: a test printing in
/// a loop under `-s` must not fill the disk, and the end holds pytest's summary.
pub(crate) const KEPT: usize = 10 << 20;

/// Writes the first [`KEPT`] bytes through, keeps the last [`KEPT`] in memory, and on
/// [`CappedLog::finish`] says how much was left out between them before writing the end.
pub(crate) struct CappedLog {
    file: File,
    head: usize,
    tail: VecDeque<u8>,
    dropped: u64,
}

impl CappedLog {
    pub(crate) fn new(file: File) -> Self {
        CappedLog {
            file,
            head: 0,
            tail: VecDeque::new(),
            dropped: 0,
        }
    }

    pub(crate) fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        if self.head < KEPT {
            let now = bytes.len().min(KEPT - self.head);
            self.file.write_all(&bytes[..now])?;
            self.head += now;
            bytes = &bytes[now..];
        }
        self.tail.extend(bytes);
        if self.tail.len() > KEPT {
            let excess = self.tail.len() - KEPT;
            self.tail.drain(..excess);
            self.dropped += excess as u64;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> io::Result<()> {
        if self.dropped > 0 {
            writeln!(
                self.file,
                "\n[run-benchmarks: {} bytes of output left out here; a log keeps the first and \
                 the last {} MiB of each process's output]",
                self.dropped,
                KEPT >> 20
            )?;
        }
        let (a, b) = self.tail.as_slices();
        self.file.write_all(a)?;
        self.file.write_all(b)
    }
}

/// Appends the file `from` to `to` within the same cap.
pub(crate) fn append_capped(from: &Path, to: File) -> io::Result<()> {
    let mut source = File::open(from)?;
    let mut log = CappedLog::new(to);
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = source.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        log.write(&buffer[..n])?;
    }
    log.finish()
}
